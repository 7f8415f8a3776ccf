"""The REST API in front of the function: a Lambda proxy on every path, with an API key
required on exactly the routes the plans file names (SPEC §7)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from app.usage.plans import PlansFile

STAGE = "prod"
AUTH_PATH = "/auth"
# Paths that always exist and never need a key: the frontend, the docs, /health (all under
# "/" and "/{proxy+}") and the auth API. The plans file adds the keyed ones.
BASE_ROUTES: dict[str, dict[str, bool]] = {
    "/": {"ANY": False},
    "/{proxy+}": {"ANY": False},
    AUTH_PATH: {"ANY": False},
    f"{AUTH_PATH}/{{proxy+}}": {"ANY": False},
}

# One JSON object per request. The key's id, never its value; no header, cookie or body.
ACCESS_LOG_FIELDS = {
    "requestId": apigateway.AccessLogField.context_request_id(),
    "requestTime": apigateway.AccessLogField.context_request_time(),
    "ip": apigateway.AccessLogField.context_identity_source_ip(),
    "httpMethod": apigateway.AccessLogField.context_http_method(),
    "resourcePath": apigateway.AccessLogField.context_resource_path(),
    "status": apigateway.AccessLogField.context_status(),
    "responseLength": apigateway.AccessLogField.context_response_length(),
    "responseLatency": apigateway.AccessLogField.context_response_latency(),
    "integrationLatency": apigateway.AccessLogField.context_integration_latency(),
    "apiKeyId": apigateway.AccessLogField.context_identity_api_key_id(),
    "principalId": apigateway.AccessLogField.context_authorizer_principal_id(),
    # THROTTLED, QUOTA_EXCEEDED, INVALID_API_KEY...: why the gateway refused a request.
    "errorType": apigateway.AccessLogField.context_error_response_type(),
}


def route_table(plans: PlansFile) -> dict[str, dict[str, bool]]:
    """path -> {method: api key required}, for every method the API must have.

    - A keyed route gets its own method with the key required; with ANY, every method of
      the path needs the key except OPTIONS, which gets its own keyless method so that CORS
      preflights (which never carry a key) reach the app's CORS handling.
    - A path keyed for some methods only keeps a keyless ANY, so its other methods still
      reach the app instead of API Gateway's 403 for a missing method.
    - A method named by a method throttle gets a method of its own, because a usage plan
      can throttle only a method that exists ("/protected/GET").
    - A keyed GET keys HEAD too: the app answers HEAD as GET, body left out.

    Raises:
        ValueError: a key on /auth or on OPTIONS, which SPEC §7 rules out.
    """
    keyed = set(plans.key_routes)
    throttled = {
        tuple(route.split(" ", 1)) for plan in plans.plans for route in plan.method_throttles
    }
    table = {path: dict(methods) for path, methods in BASE_ROUTES.items()}
    for method, path in sorted(keyed | throttled):
        if (method, path) in keyed and (path == AUTH_PATH or path.startswith(AUTH_PATH + "/")):
            raise ValueError(f"{method} {path}: the auth API never needs an API key")
        if (method, path) in keyed and method == "OPTIONS":
            raise ValueError(f"{method} {path}: CORS preflights never need an API key")
        any_keyed = ("ANY", path) in keyed
        methods = table.setdefault(path, {})
        methods[method] = (method, path) in keyed or any_keyed
        if method == "GET" and methods[method]:
            methods["HEAD"] = True  # the app answers HEAD as GET: it needs GET's key
        methods.setdefault("ANY", any_keyed)
        methods["OPTIONS"] = False
    return table


class AuthgateRestApi(Construct):
    """A regional REST API with a `prod` stage that writes JSON access logs.

    Access logs need the account's API Gateway CloudWatch role, which is one setting per
    account and region. With `cloudwatch_role` (the default) this API sets it, and keeps
    the role and the setting when the stack is destroyed, because other APIs of the account
    may log through it too. Turn it off when the account already has one.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cloudwatch_role: bool,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        self.api = apigateway.RestApi(
            self, "Api",
            rest_api_name=f"{scope.node.id}-api",
            description="authgate: the app behind a Lambda proxy, API keys on the app API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            api_key_source_type=apigateway.ApiKeySourceType.HEADER,
            cloud_watch_role=cloudwatch_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if cloudwatch_role else None,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(
                    json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))
                ),
            ),
        )
        # RestApi adds an output of its own, named from a hash; the stack's ApiUrl replaces it.
        self.api.node.try_remove_child("Endpoint")
        self.methods: dict[str, apigateway.Method] = {}

    def allow_origin_on_gateway_errors(self, origins: Sequence[str]) -> None:
        """The gateway's own answers (403 without a key, 429 throttled or over quota, the
        authorizer's 401 and 403) readable by the frontend's origin, as the app's are.

        Only with one origin: a gateway response's headers are fixed, and reflecting the
        request's Origin would open them to every site. With several, a page on another
        origin sees such an answer as a network error.
        """
        if len(origins) != 1:
            return
        headers = {
            "Access-Control-Allow-Origin": f"'{origins[0]}'",
            "Access-Control-Allow-Credentials": "'true'",
            "Access-Control-Expose-Headers": "'Retry-After'",
            "Vary": "'Origin'",
        }
        for name, kind in (("Default4xx", apigateway.ResponseType.DEFAULT_4_XX),
                           ("Default5xx", apigateway.ResponseType.DEFAULT_5_XX)):
            self.api.add_gateway_response(name, type=kind, response_headers=headers)

    @property
    def stage(self) -> apigateway.Stage:
        return self.api.deployment_stage

    @property
    def base_url(self) -> str:
        """The stage's URL without a trailing slash.

        Built from the API's id rather than `api.url`, which names the stage: the app client
        (callback URL) and the function (PUBLIC_BASE_URL) refer to this, and the stage
        depends on the function through the methods, which would make a cycle.
        """
        return f"https://{self.api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{STAGE}"

    def invoke_arn(self) -> str:
        """Every method of every path of the prod stage, for execute-api:Invoke."""
        return self.api.arn_for_execute_api("*", "/*", STAGE)

    def add_routes(
        self,
        function: lambda_.IFunction,
        table: Mapping[str, Mapping[str, bool]],
        authorizer: apigateway.IAuthorizer | None = None,
        authorized_paths: Collection[str] = (),
    ) -> None:
        """Proxy every route of `table` to `function`; the methods of `authorized_paths`
        (but OPTIONS: preflights carry no cookie) also pass `authorizer`."""
        # allow_test_invoke=False: the console's test button would need a second Lambda
        # permission per method.
        integration = apigateway.LambdaIntegration(function, proxy=True, allow_test_invoke=False)
        for path, methods in table.items():
            resource = self.api.root if path == "/" else self.api.root.resource_for_path(path)
            for method, key_required in methods.items():
                guarded = (authorizer is not None and path in authorized_paths
                           and method != "OPTIONS")
                self.methods[f"{method} {path}"] = resource.add_method(
                    method, integration,
                    api_key_required=key_required,
                    authorizer=authorizer if guarded else None,
                    authorization_type=(
                        apigateway.AuthorizationType.CUSTOM if guarded
                        else apigateway.AuthorizationType.NONE
                    ),
                )
