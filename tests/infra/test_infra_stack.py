"""The synthesized stack, resource by resource, against the app's own constants and plans."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from app.identity.local.passwords import PasswordPolicy
from app.identity.provider import (
    ACCESS_TOKEN_TTL_SECONDS,
    ID_TOKEN_TTL_SECONDS,
    REFRESH_TOKEN_TTL_SECONDS,
)
from infra.authgate_infra.config import DEFAULTS, AuthgateConfig, ContextError, cdk_json_context
from infra.authgate_infra.packaging import AUTHORIZER_HANDLER, HANDLER
from infra.authgate_infra.rest_api import STAGE, AuthgateRestApi, route_table
from infra.authgate_infra.user_pool import AuthgateUserPool, Federation
from tests.support.cdk_synth import CUSTOM_PLANS, Synthesized

pytestmark = pytest.mark.infra

UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def only(synth: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = synth.of_type(resource_type)
    assert len(found) == 1, f"{resource_type}: {list(found)}"
    return next(iter(found.items()))


def logical_id(synth: Synthesized, resource_type: str, prefix: str) -> str:
    ids = [key for key in synth.of_type(resource_type) if key.startswith(prefix)]
    assert len(ids) == 1, f"{prefix}: {ids}"
    return ids[0]


def is_dynamic_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{{resolve:secretsmanager:")


class TestUserPool:
    def test_sign_in_and_sign_up(self, variant: Synthesized) -> None:
        variant.template.has_resource_properties("AWS::Cognito::UserPool", {
            # Username sign-in is implied; email is an alias of it.
            "AliasAttributes": ["email"],
            "UsernameAttributes": Match.absent(),
            "UsernameConfiguration": {"CaseSensitive": False},
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
            "AutoVerifiedAttributes": ["email"],
            "VerificationMessageTemplate": Match.object_like(
                {"DefaultEmailOption": "CONFIRM_WITH_CODE"}
            ),
            "AccountRecoverySetting": {
                "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
            },
        })

    def test_password_policy_is_the_apps(self, variant: Synthesized) -> None:
        policy = PasswordPolicy()
        variant.template.has_resource_properties("AWS::Cognito::UserPool", {
            "Policies": {"PasswordPolicy": {
                "MinimumLength": policy.min_length,
                "RequireUppercase": policy.require_uppercase,
                "RequireLowercase": policy.require_lowercase,
                "RequireNumbers": policy.require_numbers,
                "RequireSymbols": policy.require_symbols,
            }},
        })

    def test_optional_totp_and_sms_only_when_asked(
        self, default_synth: Synthesized, full_synth: Synthesized
    ) -> None:
        default_synth.template.has_resource_properties("AWS::Cognito::UserPool", {
            "MfaConfiguration": "OPTIONAL", "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
        })
        full_synth.template.has_resource_properties("AWS::Cognito::UserPool", {
            "MfaConfiguration": "OPTIONAL",
            "EnabledMfas": Match.array_equals(["SMS_MFA", "SOFTWARE_TOKEN_MFA"]),
        })

    def test_threat_protection_blocks_compromised_credentials(
        self, variant: Synthesized
    ) -> None:
        variant.template.has_resource_properties("AWS::Cognito::UserPool", {
            "UserPoolTier": "PLUS",
            "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"},
        })
        pool_id = logical_id(variant, "AWS::Cognito::UserPool", "UserPool")
        variant.template.has_resource_properties(
            "AWS::Cognito::UserPoolRiskConfigurationAttachment", {
                "UserPoolId": {"Ref": pool_id},
                "ClientId": "ALL",
                "CompromisedCredentialsRiskConfiguration": {
                    "Actions": {"EventAction": "BLOCK"},
                    "EventFilter": ["SIGN_IN", "PASSWORD_CHANGE", "SIGN_UP"],
                },
            },
        )

    def test_removal_policy_from_context(
        self, default_synth: Synthesized, full_synth: Synthesized
    ) -> None:
        default_synth.template.has_resource("AWS::Cognito::UserPool", {
            "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like({"DeletionProtection": "ACTIVE"}),
        })
        full_synth.template.has_resource("AWS::Cognito::UserPool", {
            "DeletionPolicy": "Delete",
            "Properties": Match.object_like({"DeletionProtection": "INACTIVE"}),
        })


class TestAppClient:
    def test_flows_secret_and_errors(self, variant: Synthesized) -> None:
        variant.template.has_resource_properties("AWS::Cognito::UserPoolClient", {
            "ExplicitAuthFlows": Match.array_equals(
                ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
            ),
            "GenerateSecret": False,
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "ReadAttributes": Match.array_with(
                ["email", "email_verified", "phone_number", "phone_number_verified"]
            ),
        })

    def test_token_validity_matches_the_app(self, variant: Synthesized) -> None:
        _, client = only(variant, "AWS::Cognito::UserPoolClient")
        props = client["Properties"]
        units = props["TokenValidityUnits"]
        seconds = {
            name: props[f"{name}Validity"] * UNIT_SECONDS[units[name]]
            for name in ("IdToken", "AccessToken", "RefreshToken")
        }
        assert seconds == {
            "IdToken": ID_TOKEN_TTL_SECONDS,
            "AccessToken": ACCESS_TOKEN_TTL_SECONDS,
            "RefreshToken": REFRESH_TOKEN_TTL_SECONDS,
        }

    def test_no_oauth_without_a_domain(self, default_synth: Synthesized) -> None:
        default_synth.template.has_resource_properties("AWS::Cognito::UserPoolClient", {
            "AllowedOAuthFlowsUserPoolClient": False,
            "AllowedOAuthFlows": Match.absent(),
            "CallbackURLs": Match.absent(),
            "SupportedIdentityProviders": ["COGNITO"],
        })
        for resource_type in ("AWS::Cognito::UserPoolDomain",
                              "AWS::Cognito::UserPoolIdentityProvider"):
            default_synth.template.resource_count_is(resource_type, 0)


class TestFederation:
    def test_domain_and_providers(self, full_synth: Synthesized) -> None:
        full_synth.template.has_resource_properties(
            "AWS::Cognito::UserPoolDomain", {"Domain": "authgate-test"}
        )
        providers = full_synth.of_type("AWS::Cognito::UserPoolIdentityProvider")
        by_name = {p["Properties"]["ProviderName"]: p["Properties"] for p in providers.values()}
        assert set(by_name) == {"Google", "Facebook"}
        assert by_name["Google"]["ProviderDetails"]["client_id"] == (
            "1234-abcd.apps.googleusercontent.com"
        )
        assert by_name["Facebook"]["ProviderDetails"]["client_id"] == "987654321"
        # The secret is read by CloudFormation from Secrets Manager; the template names it.
        assert by_name["Google"]["ProviderDetails"]["client_secret"].startswith(
            "{{resolve:secretsmanager:authgate/google-client-secret:"
        )
        assert by_name["Facebook"]["ProviderDetails"]["client_secret"].startswith(
            "{{resolve:secretsmanager:authgate/facebook-app-secret:"
        )

    def test_client_gets_oauth_with_the_apps_callback(self, full_synth: Synthesized) -> None:
        full_synth.template.has_resource_properties("AWS::Cognito::UserPoolClient", {
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthFlows": ["code"],
            "AllowedOAuthScopes": Match.array_equals(
                ["openid", "email", "profile", "aws.cognito.signin.user.admin"]),
            # No public_base_url: the stage's own URL.
            "CallbackURLs": [{"Fn::Join": ["", [
                "https://", {"Ref": logical_id(full_synth, "AWS::ApiGateway::RestApi", "Rest")},
                ".execute-api.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"},
                "/prod/auth/oauth/callback",
            ]]}],
            "SupportedIdentityProviders": Match.array_equals(["COGNITO", "Google", "Facebook"]),
        })
        _, client = only(full_synth, "AWS::Cognito::UserPoolClient")
        # The client names the providers, so they must exist before it.
        assert set(client["DependsOn"]) == set(
            full_synth.of_type("AWS::Cognito::UserPoolIdentityProvider")
        )

    def test_the_client_may_write_every_attribute_the_providers_map(
        self, full_synth: Synthesized
    ) -> None:
        """Cognito refuses a federated sign-in whose mapped attribute the client cannot
        write (UserPoolClientType.WriteAttributes)."""
        _, client = only(full_synth, "AWS::Cognito::UserPoolClient")
        writable = set(client["Properties"]["WriteAttributes"])
        for provider in full_synth.of_type("AWS::Cognito::UserPoolIdentityProvider").values():
            mapped = set(provider["Properties"]["AttributeMapping"])
            assert mapped <= writable, provider["Properties"]["ProviderName"]

    def test_public_base_url_is_the_callbacks_base(self) -> None:
        # The stack passes public_base_url, when given, as the callback's base; checked on
        # the construct alone, which is cheaper than a third synthesis of the whole stack.
        app = cdk.App(context={
            **cdk_json_context(), "public_base_url": "https://auth.example.com/",
        })
        config = AuthgateConfig.from_context(app.node)
        assert config.public_base_url == "https://auth.example.com"
        stack = cdk.Stack(app, "Pool")
        AuthgateUserPool(
            stack, "UserPool", removal_policy=cdk.RemovalPolicy.DESTROY, mfa_sms=False,
            federation=Federation(domain_prefix="x", callback_base_url=config.public_base_url),
        )
        Template.from_stack(stack).has_resource_properties("AWS::Cognito::UserPoolClient", {
            "CallbackURLs": ["https://auth.example.com/auth/oauth/callback"],
            "SupportedIdentityProviders": ["COGNITO"],
        })

    def test_lambda_gets_the_domain(self, full_synth: Synthesized) -> None:
        domain_id = logical_id(full_synth, "AWS::Cognito::UserPoolDomain", "UserPool")
        full_synth.template.has_resource_properties("AWS::Lambda::Function", {
            "Handler": HANDLER,
            "Environment": {"Variables": Match.object_like({
                "COGNITO_DOMAIN": {"Fn::Join": ["", [
                    "https://", {"Ref": domain_id}, ".auth.", {"Ref": "AWS::Region"},
                    ".amazoncognito.com",
                ]]},
                # The OAuth redirect_uri the app sends must equal the callback URL.
                "PUBLIC_BASE_URL": {"Fn::Join": ["", [
                    "https://", {"Ref": logical_id(full_synth, "AWS::ApiGateway::RestApi", "")},
                    ".execute-api.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"},
                    "/prod",
                ]]},
            })},
        })
        full_synth.template.has_output("CognitoDomain", {})

    def test_lambda_gets_the_providers_and_a_shared_session_secret(
        self, full_synth: Synthesized, default_synth: Synthesized
    ) -> None:
        # The app offers /auth/oauth/{provider} for exactly the client's providers, and one
        # flow-cookie key serves every container (a callback may reach another one).
        secret_id = logical_id(full_synth, "AWS::SecretsManager::Secret", "SessionSecret")
        full_synth.template.has_resource_properties("AWS::SecretsManager::Secret", {
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        })
        full_synth.template.has_resource_properties("AWS::Lambda::Function", {
            "Handler": HANDLER,
            "Environment": {"Variables": Match.object_like({
                "COGNITO_IDENTITY_PROVIDERS": "Google,Facebook",
                "SESSION_SECRET": {"Fn::Join": ["", [
                    "{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}",
                ]]},
            })},
        })
        default_synth.template.resource_count_is("AWS::SecretsManager::Secret", 0)

    def test_no_literal_secret_anywhere(self, variant: Synthesized) -> None:
        text = json.dumps(variant.template.to_json())
        for match in re.finditer(r'"(client_secret|ClientSecret|Value)": ("[^"]*")', text):
            value = json.loads(match.group(2))
            assert is_dynamic_secret(value), match.group(0)

    def test_providers_need_the_domain_and_a_secret_name(self) -> None:
        base = cdk_json_context()
        with pytest.raises(ContextError, match="domain_prefix"):
            AuthgateConfig.from_context(cdk.App(context={
                **base, "google_client_id": "a", "google_client_secret_name": "b",
            }).node)
        with pytest.raises(ContextError, match="go together"):
            AuthgateConfig.from_context(cdk.App(context={
                **base, "domain_prefix": "x", "facebook_app_id": "a",
            }).node)


class TestIdentityPool:
    def test_pool_trusts_the_app_client(self, variant: Synthesized) -> None:
        client_id = logical_id(variant, "AWS::Cognito::UserPoolClient", "UserPool")
        variant.template.has_resource_properties("AWS::Cognito::IdentityPool", {
            "AllowUnauthenticatedIdentities": False,
            "CognitoIdentityProviders": [Match.object_like({
                "ClientId": {"Ref": client_id}, "ServerSideTokenCheck": True,
            })],
        })

    def test_authenticated_role_trust_and_permissions(self, variant: Synthesized) -> None:
        pool_id = logical_id(variant, "AWS::Cognito::IdentityPool", "IdentityPool")
        role_id = logical_id(variant, "AWS::IAM::Role", "IdentityPoolAuthenticatedRole")
        role = variant.resources[role_id]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"] == [{
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": {"Ref": pool_id}},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
        }]
        assert "Policies" not in role and "ManagedPolicyArns" not in role
        api_id = logical_id(variant, "AWS::ApiGateway::RestApi", "RestApi")
        statements = [
            statement
            for policy in variant.of_type("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert statements == [{
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [
                "arn:", {"Ref": "AWS::Partition"}, ":execute-api:", {"Ref": "AWS::Region"},
                ":", {"Ref": "AWS::AccountId"}, ":", {"Ref": api_id}, f"/{STAGE}/*/*",
            ]]},
        }]
        variant.template.has_resource_properties("AWS::Cognito::IdentityPoolRoleAttachment", {
            "IdentityPoolId": {"Ref": pool_id},
            "Roles": {"authenticated": {"Fn::GetAtt": [role_id, "Arn"]}},
        })


class TestFunction:
    def test_image_by_default(self, default_synth: Synthesized) -> None:
        default_synth.template.resource_count_is("AWS::Lambda::Function", 1)
        default_synth.template.has_resource_properties("AWS::Lambda::Function", {
            "PackageType": "Image",
            "ImageConfig": {"Command": [HANDLER]},
            "MemorySize": 512,
            "Timeout": 25,
            "Architectures": ["x86_64"],
        })

    def test_zip_when_asked(self, full_synth: Synthesized) -> None:
        full_synth.template.has_resource_properties("AWS::Lambda::Function", {
            "Runtime": "python3.12",
            "Handler": HANDLER,
            "MemorySize": 512,
            "Timeout": 25,
            "Architectures": ["x86_64"],
            "Code": {"S3Bucket": Match.any_value(), "S3Key": Match.string_like_regexp(r"\.zip$")},
        })

    def test_a_cognito_outage_is_answered_before_the_function_is_stopped(
        self, variant: Synthesized
    ) -> None:
        """Up to three Cognito calls a request, two attempts each (RETRIES), each bounded
        by COGNITO_TIMEOUT_SECONDS: the app must get to answer 503, under API Gateway's
        29 s, rather than be stopped mid-call (502)."""
        from app.identity.cognito import RETRIES

        for function in variant.of_type("AWS::Lambda::Function").values():
            props = function["Properties"]
            per_call = RETRIES["total_max_attempts"] * float(
                props["Environment"]["Variables"]["COGNITO_TIMEOUT_SECONDS"])
            assert 3 * per_call + 2 <= props["Timeout"] < 29, props.get("Handler")

    def test_the_authorizer_gets_only_the_settings_it_reads(
        self, full_synth: Synthesized
    ) -> None:
        [authorizer] = [f for f in full_synth.of_type("AWS::Lambda::Function").values()
                        if f["Properties"].get("Handler") == AUTHORIZER_HANDLER]
        assert set(authorizer["Properties"]["Environment"]["Variables"]) == {
            "AUTH_BACKEND", "COGNITO_REGION", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID",
            "COGNITO_TIMEOUT_SECONDS", "LOG_LEVEL",
        }

    def test_environment(self, default_synth: Synthesized) -> None:
        ids = {
            name: logical_id(default_synth, resource_type, prefix)
            for name, resource_type, prefix in (
                ("pool", "AWS::Cognito::UserPool", "UserPool"),
                ("client", "AWS::Cognito::UserPoolClient", "UserPool"),
                ("identities", "AWS::Cognito::IdentityPool", "IdentityPool"),
            )
        }
        default_synth.template.has_resource_properties("AWS::Lambda::Function", {
            "Environment": {"Variables": {
                "AUTH_BACKEND": "cognito",
                "COGNITO_REGION": {"Ref": "AWS::Region"},
                "COGNITO_USER_POOL_ID": {"Ref": ids["pool"]},
                "COGNITO_CLIENT_ID": {"Ref": ids["client"]},
                "COGNITO_IDENTITY_POOL_ID": {"Ref": ids["identities"]},
                "USAGE_PLANS": "gateway",
                "LOG_LEVEL": "INFO",
            }},
        })

    def test_cookie_and_cors_settings_from_context(self, full_synth: Synthesized) -> None:
        full_synth.template.has_resource_properties("AWS::Lambda::Function", {
            "Handler": HANDLER,
            "Environment": {"Variables": Match.object_like({
                "COOKIE_SAMESITE": "none",
                "CORS_ALLOW_ORIGINS": "https://app.example.com,https://admin.example.com",
            })},
        })

    def test_logs_have_a_retention(self, variant: Synthesized) -> None:
        days = variant.config.log_retention_days
        groups = variant.of_type("AWS::Logs::LogGroup")
        assert groups and all(g["Properties"]["RetentionInDays"] == days for g in groups.values())
        for function in variant.of_type("AWS::Lambda::Function").values():
            ref = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            assert ref in groups


def policy_statements(synth: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) for every identity policy: AWS::IAM::Policy and inline."""
    found = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found.append((role["Ref"], statement))
    for role_id, role in synth.of_type("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            for statement in inline["PolicyDocument"]["Statement"]:
                found.append((role_id, statement))
    return found


def actions_of(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


# The Cognito admin calls the app makes at run time (the token's user check and the global
# sign-out); the rest of its Cognito calls are public client APIs that need no IAM.
APP_ACTIONS = frozenset({"cognito-idp:AdminGetUser", "cognito-idp:AdminUserGlobalSignOut"})
LOG_ACTIONS = frozenset({"logs:CreateLogStream", "logs:PutLogEvents"})


class TestLeastPrivilege:

    def test_every_action_is_expected(
        self, default_synth: Synthesized, full_synth: Synthesized
    ) -> None:
        def every_action(synth: Synthesized) -> set[str]:
            return set().union(*(actions_of(s) for _, s in policy_statements(synth)))

        # The app's two admin calls, its logs, and the identity pool's invoke permission;
        # with mfa_sms, Cognito's own SMS role may publish the codes.
        base = APP_ACTIONS | LOG_ACTIONS | {"execute-api:Invoke"}
        assert every_action(default_synth) == base
        assert every_action(full_synth) == base | {"sns:Publish"}

    def test_no_wildcard_actions_and_only_sms_on_any_resource(
        self, variant: Synthesized
    ) -> None:
        for _, statement in policy_statements(variant):
            assert statement["Effect"] == "Allow"
            assert not any("*" in action for action in actions_of(statement))
            if statement["Resource"] == "*":
                # SMS to a phone number has no resource ARN to name.
                assert actions_of(statement) == {"sns:Publish"}

    def test_functions_may_call_only_their_own_actions(self, variant: Synthesized) -> None:
        pool_id = logical_id(variant, "AWS::Cognito::UserPool", "UserPool")
        by_role: dict[str, set[str]] = {}
        for role_id, statement in policy_statements(variant):
            if any(a.startswith("cognito-idp:") for a in actions_of(statement)):
                assert statement["Resource"] == {"Fn::GetAtt": [pool_id, "Arn"]}
            by_role.setdefault(role_id, set()).update(actions_of(statement))
        functions = variant.of_type("AWS::Lambda::Function").values()
        for function in functions:
            role = function["Properties"]["Role"]["Fn::GetAtt"][0]
            handler = function["Properties"].get("Handler") or (
                function["Properties"]["ImageConfig"]["Command"][0]
            )
            cognito = {"cognito-idp:AdminGetUser"} if handler == AUTHORIZER_HANDLER else (
                APP_ACTIONS
            )
            assert by_role[role] == cognito | LOG_ACTIONS, handler

    def test_managed_policies_only_on_the_gateway_logging_role(
        self, default_synth: Synthesized, full_synth: Synthesized
    ) -> None:
        managed = {
            role_id: role["Properties"]["ManagedPolicyArns"]
            for role_id, role in default_synth.of_type("AWS::IAM::Role").items()
            if "ManagedPolicyArns" in role["Properties"]
        }
        assert list(managed) == [logical_id(default_synth, "AWS::IAM::Role", "RestApiCloudWatch")]
        assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(managed)
        assert not any(
            "ManagedPolicyArns" in role["Properties"]
            for role in full_synth.of_type("AWS::IAM::Role").values()
        )


def methods_by_route(synth: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, path) -> the Method's properties, paths rebuilt from the resources."""
    resources = synth.of_type("AWS::ApiGateway::Resource")

    def path_of(ref: dict[str, Any]) -> str:
        if "Fn::GetAtt" in ref:
            return ""
        props = resources[ref["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    routes = {}
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        routes[(props["HttpMethod"], path_of(props["ResourceId"]) or "/")] = props
    return routes


class TestRestApi:
    def test_stage_and_access_logs(self, variant: Synthesized) -> None:
        logs_id = logical_id(variant, "AWS::Logs::LogGroup", "RestApiAccessLogs")
        _, stage = only(variant, "AWS::ApiGateway::Stage")
        props = stage["Properties"]
        assert props["StageName"] == STAGE
        assert {"Ref": logs_id} in props["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1]
        fields = json.loads(props["AccessLogSetting"]["Format"])
        assert fields["requestId"] == "$context.requestId"
        assert fields["apiKeyId"] == "$context.identity.apiKeyId"
        # The key's id only: its value must never reach the logs.
        assert "$context.identity.apiKey\"" not in props["AccessLogSetting"]["Format"]

    def test_account_logging_role_only_when_asked(
        self, default_synth: Synthesized, full_synth: Synthesized
    ) -> None:
        default_synth.template.resource_count_is("AWS::ApiGateway::Account", 1)
        default_synth.template.has_resource("AWS::IAM::Role", {
            "Properties": Match.object_like({"ManagedPolicyArns": Match.any_value()}),
            "DeletionPolicy": "Retain",
        })
        _, stage = only(default_synth, "AWS::ApiGateway::Stage")
        # Access logging fails until the account has the role, so the stage waits for it.
        assert stage["DependsOn"] == [logical_id(default_synth, "AWS::ApiGateway::Account", "")]
        full_synth.template.resource_count_is("AWS::ApiGateway::Account", 0)

    @pytest.mark.parametrize("origins", [(), ("https://app.example.com",),
                                         ("https://a.example.com", "https://b.example.com")])
    def test_its_own_errors_carry_the_one_allowed_origin(
        self, origins: tuple[str, ...]
    ) -> None:
        """A page on another origin must read the gateway's 403 and 429 (and Retry-After)
        as it reads the app's: only a single origin can be named in fixed headers."""
        stack = cdk.Stack(cdk.App(), "Api")
        api = AuthgateRestApi(stack, "RestApi", cloudwatch_role=False,
                              log_retention=logs.RetentionDays.ONE_DAY,
                              removal_policy=cdk.RemovalPolicy.DESTROY)
        api.api.root.add_method("ANY")
        api.allow_origin_on_gateway_errors(origins)
        responses = Template.from_stack(stack).find_resources("AWS::ApiGateway::GatewayResponse")
        if len(origins) != 1:
            assert responses == {}
            return
        kinds = {r["Properties"]["ResponseType"]: r["Properties"] for r in responses.values()}
        assert set(kinds) == {"DEFAULT_4XX", "DEFAULT_5XX"}
        for properties in kinds.values():
            assert properties["ResponseParameters"] == {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example.com'",
                "gatewayresponse.header.Access-Control-Allow-Credentials": "'true'",
                "gatewayresponse.header.Access-Control-Expose-Headers": "'Retry-After'",
                "gatewayresponse.header.Vary": "'Origin'",
            }

    def test_every_method_proxies_to_the_app(self, variant: Synthesized) -> None:
        app_function = next(
            key for key, f in variant.of_type("AWS::Lambda::Function").items()
            if HANDLER in json.dumps(f["Properties"])
        )
        for route, props in methods_by_route(variant).items():
            integration = props["Integration"]
            assert integration["Type"] == "AWS_PROXY", route
            assert {"Fn::GetAtt": [app_function, "Arn"]} in integration["Uri"]["Fn::Join"][1]

    def test_routes_without_a_key(self, variant: Synthesized) -> None:
        routes = methods_by_route(variant)
        for route in [("ANY", "/"), ("ANY", "/{proxy+}"), ("ANY", "/auth"),
                      ("ANY", "/auth/{proxy+}")]:
            assert routes[route]["ApiKeyRequired"] is False, route
            assert routes[route]["AuthorizationType"] == "NONE", route

    def test_api_key_required_exactly_where_the_plans_say(self, variant: Synthesized) -> None:
        keyed = set(variant.plans.key_routes)
        routes = methods_by_route(variant)
        for (method, path), props in routes.items():
            expected = method != "OPTIONS" and (
                (method, path) in keyed or ("ANY", path) in keyed
                or (method == "HEAD" and ("GET", path) in keyed)
            )
            assert props.get("ApiKeyRequired", False) is expected, (method, path)
        # Each route the file names is a method of its own with the key required.
        for route in keyed:
            assert routes[route]["ApiKeyRequired"] is True, route

    def test_preflights_and_auth_never_need_a_key(self, variant: Synthesized) -> None:
        routes = methods_by_route(variant)
        for (method, path), props in routes.items():
            if method == "OPTIONS" or path == "/auth" or path.startswith("/auth/"):
                assert props["ApiKeyRequired"] is False, (method, path)
                assert props["AuthorizationType"] == "NONE", (method, path)
        # Every keyed path answers its preflight without a key.
        for _, path in variant.plans.key_routes:
            assert routes[("OPTIONS", path)]["ApiKeyRequired"] is False, path

    def test_partly_keyed_paths_keep_other_methods_open(self, full_synth: Synthesized) -> None:
        routes = methods_by_route(full_synth)
        assert routes[("GET", "/protected")]["ApiKeyRequired"] is True
        # The app answers HEAD as GET, so HEAD needs GET's key at the gateway too.
        assert routes[("HEAD", "/protected")]["ApiKeyRequired"] is True
        assert routes[("ANY", "/protected")]["ApiKeyRequired"] is False
        assert routes[("GET", "/v1/items/{id}")]["ApiKeyRequired"] is True
        # A throttle on an open route gives it a method of its own, still open.
        assert routes[("GET", "/health")]["ApiKeyRequired"] is False

    def test_key_on_auth_or_options_is_refused(self, tmp_path: Any) -> None:
        from app.usage.plans import PlansFile

        plans = PlansFile.model_validate({
            "api_key_required": ["ANY /auth/signin"],
            "plans": [{"name": "P", "throttle": {"rate_limit": 1, "burst_limit": 1}}],
        })
        with pytest.raises(ValueError, match="auth API"):
            route_table(plans)
        plans = plans.model_copy(update={"api_key_required": ["OPTIONS /public"]})
        with pytest.raises(ValueError, match="preflights"):
            route_table(plans)


class TestAuthorizer:
    def test_off_by_default(self, default_synth: Synthesized) -> None:
        default_synth.template.resource_count_is("AWS::ApiGateway::Authorizer", 0)
        for props in methods_by_route(default_synth).values():
            assert props["AuthorizationType"] == "NONE"

    def test_cookie_authorizer_on_keyed_routes(self, full_synth: Synthesized) -> None:
        authorizer_function = next(
            key for key, f in full_synth.of_type("AWS::Lambda::Function").items()
            if f["Properties"]["Handler"] == AUTHORIZER_HANDLER
        )
        authorizer_id, authorizer = only(full_synth, "AWS::ApiGateway::Authorizer")
        props = authorizer["Properties"]
        assert props["Type"] == "REQUEST"
        assert props["IdentitySource"] == "method.request.header.Cookie"
        assert props["AuthorizerResultTtlInSeconds"] == full_synth.config.authorizer_cache_ttl == 0
        assert {"Fn::GetAtt": [authorizer_function, "Arn"]} in (
            props["AuthorizerUri"]["Fn::Join"][1]
        )
        guarded = full_synth.config.authorizer_paths
        assert guarded == ("/protected",)
        for (verb, path), method in methods_by_route(full_synth).items():
            if path in guarded and verb != "OPTIONS":
                assert method["AuthorizationType"] == "CUSTOM", (verb, path)
                assert method["AuthorizerId"] == {"Ref": authorizer_id}, (verb, path)
            else:
                assert method["AuthorizationType"] == "NONE", (verb, path)
                assert "AuthorizerId" not in method, (verb, path)
        # /public needs its key, and no sign-in (SPEC §3: "without a valid token: same").
        public = methods_by_route(full_synth)[("ANY", "/public")]
        assert (public["ApiKeyRequired"], public["AuthorizationType"]) == (True, "NONE")

    def test_cache_ttl_defaults_to_300(self) -> None:
        app = cdk.App(context={**cdk_json_context(), "authorizer": "true"})
        config = AuthgateConfig.from_context(app.node)
        assert (config.authorizer, config.authorizer_cache_ttl) == (True, 300)


class TestUsagePlans:
    def test_one_plan_per_plan_with_its_limits(self, variant: Synthesized) -> None:
        plans = variant.plans
        variant.template.resource_count_is("AWS::ApiGateway::UsagePlan", len(plans.plans))
        api_id = logical_id(variant, "AWS::ApiGateway::RestApi", "RestApi")
        stage_id = logical_id(variant, "AWS::ApiGateway::Stage", "RestApi")
        for plan in plans.plans:
            per_method = {}
            for route, throttle in plan.method_throttles.items():
                method, path = route.split(" ", 1)
                per_method[f"{path}/{method}"] = {
                    "RateLimit": throttle.rate_limit, "BurstLimit": throttle.burst_limit,
                }
            quota = Match.absent() if plan.quota is None else {
                "Limit": plan.quota.limit,
                "Period": plan.quota.period,
                "Offset": plan.quota.offset,
            }
            variant.template.has_resource_properties("AWS::ApiGateway::UsagePlan", {
                "UsagePlanName": f"{variant.config.stack_name}-{plan.name}",
                "Throttle": {
                    "RateLimit": plan.throttle.rate_limit,
                    "BurstLimit": plan.throttle.burst_limit,
                },
                "Quota": quota,
                "ApiStages": [{
                    "ApiId": {"Ref": api_id},
                    "Stage": {"Ref": stage_id},
                    "Throttle": per_method,
                }],
            })

    def test_each_key_belongs_to_its_plan_and_has_no_value(self, variant: Synthesized) -> None:
        plans = variant.plans
        keys = variant.of_type("AWS::ApiGateway::ApiKey")
        assert len(keys) == len(plans.keys)
        plan_ids = {
            p["Properties"]["UsagePlanName"]: key
            for key, p in variant.of_type("AWS::ApiGateway::UsagePlan").items()
        }
        links = {
            (link["Properties"]["KeyId"]["Ref"], link["Properties"]["UsagePlanId"]["Ref"])
            for link in variant.of_type("AWS::ApiGateway::UsagePlanKey").values()
        }
        prefix = variant.config.stack_name
        outputs = variant.template.to_json()["Outputs"]
        for spec in plans.keys:
            key_id = next(
                key for key, k in keys.items() if k["Properties"]["Name"] == f"{prefix}-{spec.name}"
            )
            props = keys[key_id]["Properties"]
            assert "Value" not in props  # API Gateway generates it
            assert props["Enabled"] is spec.enabled
            assert (key_id, plan_ids[f"{prefix}-{spec.plan}"]) in links
            assert {"Ref": key_id} in [
                output["Value"] for name, output in outputs.items() if name.startswith("ApiKeyId")
            ]
        assert len(links) == len(plans.keys)

    def test_plans_file_from_context(self, full_synth: Synthesized) -> None:
        assert full_synth.config.plans_file == CUSTOM_PLANS


class TestOutputs:
    def test_outputs(self, variant: Synthesized) -> None:
        outputs = variant.template.to_json()["Outputs"]
        assert {"ApiUrl", "UserPoolId", "UserPoolClientId", "IdentityPoolId"} <= set(outputs)
        assert ("CognitoDomain" in outputs) is variant.config.federation
        api_url = json.dumps(outputs["ApiUrl"]["Value"])
        assert ".execute-api." in api_url


class TestContext:
    def test_cdk_json_repeats_the_defaults(self) -> None:
        context = cdk_json_context()
        ours = {k: v for k, v in context.items() if not k.startswith("@")}
        assert ours == DEFAULTS

    def test_cdk_json_runs_the_app(self) -> None:
        from infra.authgate_infra.config import CDK_JSON

        assert json.loads(CDK_JSON.read_text())["app"] == "python3 app.py"

    @pytest.mark.parametrize(("key", "value", "message"), [
        ("removal_policy", "keep", "removal_policy"),
        ("packaging", "wheel", "packaging"),
        ("authorizer_cache_ttl", "-1", "between 0 and 3600"),
        ("authorizer", "yes", "true or false"),
        ("log_retention_days", "10", "retention period"),
        ("cors_allow_origins", "*", "exact origins"),
        ("authorizer_paths", "/protected,/auth/signin", "outside /auth"),
        ("authorizer_paths", "protected", "outside /auth"),
        ("cookie_samesite", "loose", "cookie_samesite"),
        ("public_base_url", "http://insecure.example.com", "https://"),
        ("plans_file", "/nonexistent/plans.json", "no such file"),
    ])
    def test_bad_values_name_the_key(self, key: str, value: str, message: str) -> None:
        app = cdk.App(context={**cdk_json_context(), key: value})
        with pytest.raises(ContextError, match=re.escape(message)):
            AuthgateConfig.from_context(app.node)
