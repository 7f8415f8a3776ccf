"""The optional REQUEST authorizer (`-c authorizer=true`): the app's `app.authorizer.handler`
checks the `token` cookie at the gateway before a keyed route reaches the app."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

COOKIE_IDENTITY_SOURCE = apigateway.IdentitySource.header("Cookie")


class CookieAuthorizer(Construct):
    """A RequestAuthorizer keyed on the Cookie header.

    API Gateway caches the policy by the identity source for `cache_ttl_seconds` (0: no
    cache). The policy the handler returns covers the whole stage, so one cached answer
    serves every keyed route; a sign-out therefore takes up to the TTL to reach the gateway.
    A request without a Cookie header is refused with 401 before the function runs.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction,
        cache_ttl_seconds: int,
    ) -> None:
        super().__init__(scope, id)
        self.authorizer = apigateway.RequestAuthorizer(
            self, "Authorizer",
            handler=function,
            identity_sources=[COOKIE_IDENTITY_SOURCE],
            results_cache_ttl=Duration.seconds(cache_ttl_seconds),
        )
