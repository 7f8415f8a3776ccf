"""`AuthgateStack`: wires the constructs of `authgate_infra` into the whole deployment."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.authgate_infra import (
    AUTHORIZER_HANDLER,
    HANDLER,
    ApiFunction,
    AuthgateConfig,
    AuthgateIdentityPool,
    AuthgateRestApi,
    AuthgateUserPool,
    CookieAuthorizer,
    ImagePackage,
    LambdaPackage,
    UsagePlans,
    ZipPackage,
)
from infra.authgate_infra.config import REPO_ROOT
from infra.authgate_infra.rest_api import route_table
from infra.authgate_infra.user_pool import Federation

# The Cognito calls the app makes with the function's own credentials: the token check
# (SPEC §5) and the global sign-out. Every other call is a public client API
# (InitiateAuth, SignUp, ...) that Cognito authorizes by the app client, not by IAM.
APP_USER_POOL_ACTIONS = ("cognito-idp:AdminGetUser", "cognito-idp:AdminUserGlobalSignOut")
# The authorizer only checks that the token's user still exists.
AUTHORIZER_USER_POOL_ACTIONS = ("cognito-idp:AdminGetUser",)

R = logs.RetentionDays
RETENTION = {
    1: R.ONE_DAY, 3: R.THREE_DAYS, 5: R.FIVE_DAYS, 7: R.ONE_WEEK, 14: R.TWO_WEEKS,
    30: R.ONE_MONTH, 60: R.TWO_MONTHS, 90: R.THREE_MONTHS, 120: R.FOUR_MONTHS,
    150: R.FIVE_MONTHS, 180: R.SIX_MONTHS, 365: R.ONE_YEAR, 400: R.THIRTEEN_MONTHS,
    545: R.EIGHTEEN_MONTHS, 731: R.TWO_YEARS, 1096: R.THREE_YEARS, 1827: R.FIVE_YEARS,
    2192: R.SIX_YEARS, 2557: R.SEVEN_YEARS, 2922: R.EIGHT_YEARS, 3288: R.NINE_YEARS,
    3653: R.TEN_YEARS,
}


class AuthgateStack(Stack):
    """The user pool, the identity pool, the function, the REST API and its usage plans."""

    def __init__(
        self, scope: Construct, id: str, *, config: AuthgateConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        removal = (
            RemovalPolicy.DESTROY if config.removal_policy == "destroy" else RemovalPolicy.RETAIN
        )
        retention = RETENTION[config.log_retention_days]

        # The API comes first, without routes: the app client's callback URL and the
        # identity pool's role name it.
        api = AuthgateRestApi(
            self, "RestApi",
            cloudwatch_role=config.cloudwatch_role,
            log_retention=retention,
            removal_policy=removal,
        )
        public_base_url = config.public_base_url or api.base_url
        federation = None
        if config.domain_prefix is not None:
            federation = Federation(
                domain_prefix=config.domain_prefix,
                callback_base_url=public_base_url,
                google=config.google,
                facebook=config.facebook,
            )
        users = AuthgateUserPool(
            self, "UserPool",
            removal_policy=removal,
            mfa_sms=config.mfa_sms,
            federation=federation,
        )
        identities = AuthgateIdentityPool(
            self, "IdentityPool",
            user_pool=users.pool,
            client=users.client,
            invoke_arn=api.invoke_arn(),
            removal_policy=removal,
        )

        environment = {
            "AUTH_BACKEND": "cognito",
            "COGNITO_REGION": Aws.REGION,
            "COGNITO_USER_POOL_ID": users.pool.user_pool_id,
            "COGNITO_CLIENT_ID": users.client.user_pool_client_id,
            "COGNITO_IDENTITY_POOL_ID": identities.identity_pool_id,
            # API Gateway enforces keys and plans; the app trusts it.
            "USAGE_PLANS": "gateway",
            "LOG_LEVEL": "INFO",
        }
        if users.domain_base_url is not None:
            environment["COGNITO_DOMAIN"] = users.domain_base_url
        if federation is not None or config.public_base_url is not None:
            # The OAuth redirect_uri must equal the client's callback URL exactly.
            environment["PUBLIC_BASE_URL"] = public_base_url
        if config.cookie_samesite is not None:
            environment["COOKIE_SAMESITE"] = config.cookie_samesite
        if config.cors_allow_origins:
            environment["CORS_ALLOW_ORIGINS"] = ",".join(config.cors_allow_origins)

        package: LambdaPackage = (
            ZipPackage(REPO_ROOT, config.bundling_python) if config.packaging == "zip"
            else ImagePackage(REPO_ROOT)
        )
        app_function = ApiFunction(
            self, "AppFunction",
            package=package,
            handler=HANDLER,
            environment=environment,
            log_retention=retention,
            removal_policy=removal,
            description="authgate: the FastAPI app behind API Gateway",
        )
        app_function.allow_user_pool_actions(users.pool, *APP_USER_POOL_ACTIONS)

        authorizer = None
        if config.authorizer:
            authorizer_function = ApiFunction(
                self, "AuthorizerFunction",
                package=package,
                handler=AUTHORIZER_HANDLER,
                environment=environment,
                log_retention=retention,
                removal_policy=removal,
                description="authgate: the cookie authorizer of the keyed routes",
            )
            authorizer_function.allow_user_pool_actions(
                users.pool, *AUTHORIZER_USER_POOL_ACTIONS
            )
            authorizer = CookieAuthorizer(
                self, "CookieAuthorizer",
                function=authorizer_function.function,
                cache_ttl_seconds=config.authorizer_cache_ttl,
            ).authorizer

        api.add_routes(
            app_function.function,
            route_table(config.plans),
            authorizer=authorizer,
        )
        usage = UsagePlans(
            self, "UsagePlans",
            plans=config.plans,
            api=api.api,
            stage=api.stage,
            methods=api.methods,
            name_prefix=self.stack_name,
        )

        CfnOutput(self, "ApiUrl", value=api.api.url, description="The API's prod stage")
        CfnOutput(self, "UserPoolId", value=users.pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=users.client.user_pool_client_id)
        CfnOutput(self, "IdentityPoolId", value=identities.identity_pool_id)
        if users.domain_base_url is not None:
            CfnOutput(self, "CognitoDomain", value=users.domain_base_url)
        for name, key in usage.keys.items():
            CfnOutput(
                self, f"ApiKeyId {name}", value=key.key_id,
                description=f"The id of API key {name!r}: aws apigateway get-api-key "
                "--include-value --api-key <id>",
            )
