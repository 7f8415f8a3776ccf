"""The Cognito user pool, its app client, and, when context asks, its hosted domain and the
Google and Facebook identity providers."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, SecretValue
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from app.identity.local.passwords import PasswordPolicy
from app.identity.provider import (
    ACCESS_TOKEN_TTL_SECONDS,
    ID_TOKEN_TTL_SECONDS,
    REFRESH_TOKEN_TTL_SECONDS,
)
from infra.authgate_infra.config import OAuthProvider

OAUTH_CALLBACK_PATH = "/auth/oauth/callback"
# The events whose password is checked against Cognito's list of leaked credentials.
COMPROMISED_CREDENTIALS_EVENTS = ("SIGN_IN", "PASSWORD_CHANGE", "SIGN_UP")


@dataclass(frozen=True)
class Federation:
    """The hosted domain and the social providers; the callback is the app's."""

    domain_prefix: str
    callback_base_url: str
    google: OAuthProvider | None = None
    facebook: OAuthProvider | None = None


class AuthgateUserPool(Construct):
    """The user pool as the app expects it (SPEC §6 on Cognito's side).

    Sign-in by username or email, self sign-up with an emailed code, the app's password
    policy, optional TOTP, recovery by email only, and threat protection that blocks
    sign-ins, sign-ups and password changes with credentials known to have leaked.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        removal_policy: RemovalPolicy,
        mfa_sms: bool,
        federation: Federation | None = None,
    ) -> None:
        super().__init__(scope, id)
        policy = PasswordPolicy()
        self.pool = cognito.UserPool(
            self, "Pool",
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            # The local pool's usernames are case-insensitive; so are these.
            sign_in_case_sensitive=False,
            self_sign_up_enabled=True,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            user_verification=cognito.UserVerificationConfig(
                email_style=cognito.VerificationEmailStyle.CODE
            ),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                phone_number=cognito.StandardAttribute(required=False, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=policy.min_length,
                require_uppercase=policy.require_uppercase,
                require_lowercase=policy.require_lowercase,
                require_digits=policy.require_numbers,
                require_symbols=policy.require_symbols,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=mfa_sms),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Threat protection (formerly "advanced security") needs the Plus feature plan;
            # FULL_FUNCTION enforces the risk configuration below instead of only logging.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            # A retained pool is also protected from an accidental delete outside the stack.
            deletion_protection=removal_policy == RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        # Compromised-credentials detection sees the password only in USER_PASSWORD_AUTH
        # (SRP never sends it), which is the flow the app uses.
        self.risk_configuration = cognito.CfnUserPoolRiskConfigurationAttachment(
            self, "CompromisedCredentials",
            user_pool_id=self.pool.user_pool_id,
            client_id="ALL",
            compromised_credentials_risk_configuration=cognito.CfnUserPoolRiskConfigurationAttachment.CompromisedCredentialsRiskConfigurationTypeProperty(
                actions=cognito.CfnUserPoolRiskConfigurationAttachment.CompromisedCredentialsActionsTypeProperty(
                    event_action="BLOCK"
                ),
                event_filter=list(COMPROMISED_CREDENTIALS_EVENTS),
            ),
        )
        self.domain: cognito.UserPoolDomain | None = None
        # The identity providers' names as the pool knows them ("Google", "Facebook").
        self.provider_names: list[str] = []
        if federation is None:
            self.client = self._client(None, [])
        else:
            self._federate(federation)

    def _client(
        self, federation: Federation | None, providers: list[cognito.UserPoolClientIdentityProvider]
    ) -> cognito.UserPoolClient:
        readable = cognito.ClientAttributes().with_standard_attributes(
            email=True, email_verified=True, phone_number=True, phone_number_verified=True
        )
        # A federated sign-in writes the attributes the providers map (the name too):
        # Cognito refuses the sign-in if the app client may not write one of them.
        writable = cognito.ClientAttributes().with_standard_attributes(
            email=True, phone_number=True, fullname=federation is not None
        )
        oauth = None
        if federation is not None:
            oauth = cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                # COGNITO_ADMIN: the access token may then call the account APIs, as
                # app.federation.cognito.COGNITO_SCOPES asks.
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL,
                        cognito.OAuthScope.PROFILE, cognito.OAuthScope.COGNITO_ADMIN],
                callback_urls=[federation.callback_base_url + OAUTH_CALLBACK_PATH],
            )
        return self.pool.add_client(
            "AppClient",
            auth_flows=cognito.AuthFlow(user_password=True),
            # The app is a confidential server, but a secret would have to reach the Lambda
            # as a plain environment variable; without one, the app sends no SECRET_HASH.
            generate_secret=False,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.seconds(ID_TOKEN_TTL_SECONDS),
            access_token_validity=Duration.seconds(ACCESS_TOKEN_TTL_SECONDS),
            refresh_token_validity=Duration.seconds(REFRESH_TOKEN_TTL_SECONDS),
            read_attributes=readable,
            write_attributes=writable,
            # Without a domain there is no OAuth at all; CDK would otherwise enable the
            # implicit grant with an example.com callback.
            disable_o_auth=federation is None,
            o_auth=oauth,
            supported_identity_providers=[
                cognito.UserPoolClientIdentityProvider.COGNITO, *providers
            ],
        )

    def _federate(self, federation: Federation) -> None:
        """Add the hosted domain and the providers, and a client with OAuth settings."""
        self.domain = self.pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=federation.domain_prefix),
            managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
        )
        identity_providers: list[cognito.IUserPoolIdentityProvider] = []
        names: list[cognito.UserPoolClientIdentityProvider] = []
        if federation.google is not None:
            identity_providers.append(cognito.UserPoolIdentityProviderGoogle(
                self, "Google",
                user_pool=self.pool,
                client_id=federation.google.client_id,
                # A dynamic reference: CloudFormation reads the secret at deploy time, and
                # the template holds only its name.
                client_secret_value=SecretValue.secrets_manager(federation.google.secret_name),
                scopes=["openid", "email", "profile"],
                attribute_mapping=cognito.AttributeMapping(
                    email=cognito.ProviderAttribute.GOOGLE_EMAIL,
                    fullname=cognito.ProviderAttribute.GOOGLE_NAME,
                ),
            ))
            names.append(cognito.UserPoolClientIdentityProvider.GOOGLE)
        if federation.facebook is not None:
            identity_providers.append(cognito.UserPoolIdentityProviderFacebook(
                self, "Facebook",
                user_pool=self.pool,
                client_id=federation.facebook.client_id,
                # Facebook's construct takes a string only; unwrapping a Secrets Manager
                # value still yields a dynamic reference, never the secret.
                client_secret=SecretValue.secrets_manager(
                    federation.facebook.secret_name
                ).unsafe_unwrap(),
                scopes=["public_profile", "email"],
                attribute_mapping=cognito.AttributeMapping(
                    email=cognito.ProviderAttribute.FACEBOOK_EMAIL,
                    fullname=cognito.ProviderAttribute.FACEBOOK_NAME,
                ),
            ))
            names.append(cognito.UserPoolClientIdentityProvider.FACEBOOK)
        self.provider_names = [name.name for name in names]
        self.client = self._client(federation, names)
        for provider in identity_providers:
            # The client names the providers, which must exist first.
            self.client.node.add_dependency(provider)
        # Managed login shows no page until the client has a style; Cognito's default one.
        cognito.CfnManagedLoginBranding(
            self, "Branding",
            user_pool_id=self.pool.user_pool_id,
            client_id=self.client.user_pool_client_id,
            use_cognito_provided_values=True,
        )

    @property
    def domain_base_url(self) -> str | None:
        return self.domain.base_url() if self.domain is not None else None
