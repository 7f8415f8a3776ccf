"""One Lambda function of the app's code, with a role that can do only what it is granted."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.authgate_infra.packaging import LambdaPackage


class ApiFunction(Construct):
    """A function running `handler`, logging to its own log group.

    Its role is made here rather than by the Function: the Function's own would carry the
    AWSLambdaBasicExecutionRole managed policy, which may create any log group and write to
    every log stream in the account. This one may write to its own log group only, and call
    what `allow_user_pool_actions` adds.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        package: LambdaPackage,
        handler: str,
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        description: str,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=removal_policy
        )
        self.role = iam.Role(
            self, "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description}: writes its logs, and calls what it is granted",
        )
        # The log group exists before the function, so CreateLogGroup is never needed.
        self.log_group.grant_write(self.role)
        self.function = package.make_function(
            self, "Function",
            handler=handler,
            role=self.role,
            environment=environment,
            log_group=self.log_group,
            description=description,
        )

    def allow_user_pool_actions(self, user_pool: cognito.IUserPool, *actions: str) -> None:
        """Let the function call these Cognito actions on this user pool only."""
        user_pool.grant(self.role, *actions)
