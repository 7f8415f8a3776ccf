"""The identity pool behind `GET /auth/aws_credentials`: signed-in users of the user pool get
short-lived AWS credentials that can call this API and nothing else."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct

COGNITO_IDENTITY = "cognito-identity.amazonaws.com"


class AuthgateIdentityPool(Construct):
    """An identity pool trusting one app client, and its authenticated role.

    Written with the L1 resources rather than the identitypool module: that module also
    makes an unauthenticated role, which this pool (no guest access) has no use for.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        user_pool: cognito.IUserPool,
        client: cognito.IUserPoolClient,
        invoke_arn: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.pool = cognito.CfnIdentityPool(
            self, "Pool",
            allow_unauthenticated_identities=False,
            cognito_identity_providers=[
                cognito.CfnIdentityPool.CognitoIdentityProviderProperty(
                    client_id=client.user_pool_client_id,
                    provider_name=user_pool.user_pool_provider_name,
                    # Cognito checks with the user pool that the ID token was not revoked
                    # (a global sign-out ends the credentials too).
                    server_side_token_check=True,
                )
            ],
        )
        # Identity ids are kept per user: a new pool would hand every user a new one.
        self.pool.apply_removal_policy(removal_policy)
        # Only Cognito Identity may assume the role, only for this pool's identities, and
        # only once signed in: without the aud condition any identity pool in any account
        # could hand out this role.
        self.authenticated_role = iam.Role(
            self, "AuthenticatedRole",
            description="Signed-in users of the authgate user pool: may call its API",
            assumed_by=iam.FederatedPrincipal(
                COGNITO_IDENTITY,
                conditions={
                    "StringEquals": {f"{COGNITO_IDENTITY}:aud": self.pool.ref},
                    "ForAnyValue:StringLike": {f"{COGNITO_IDENTITY}:amr": "authenticated"},
                },
                assume_role_action="sts:AssumeRoleWithWebIdentity",
            ),
        )
        self.authenticated_role.add_to_policy(iam.PolicyStatement(
            actions=["execute-api:Invoke"],
            resources=[invoke_arn],
        ))
        cognito.CfnIdentityPoolRoleAttachment(
            self, "Roles",
            identity_pool_id=self.pool.ref,
            roles={"authenticated": self.authenticated_role.role_arn},
        )

    @property
    def identity_pool_id(self) -> str:
        return self.pool.ref
