"""The stack's building blocks: its settings (`config`), the Lambda packaging, and one typed
construct per AWS service. Named `authgate_infra`, not `constructs`, so that it never shadows
the `constructs` library when `infra/` is the script's folder on `sys.path`."""

from infra.authgate_infra.api_function import ApiFunction
from infra.authgate_infra.authorizer import CookieAuthorizer
from infra.authgate_infra.config import AuthgateConfig, ContextError
from infra.authgate_infra.identity_pool import AuthgateIdentityPool
from infra.authgate_infra.packaging import (
    AUTHORIZER_HANDLER,
    HANDLER,
    ImagePackage,
    LambdaPackage,
    ZipPackage,
)
from infra.authgate_infra.rest_api import AuthgateRestApi
from infra.authgate_infra.usage_plans import UsagePlans
from infra.authgate_infra.user_pool import AuthgateUserPool

__all__ = [
    "AUTHORIZER_HANDLER",
    "HANDLER",
    "ApiFunction",
    "AuthgateConfig",
    "AuthgateIdentityPool",
    "AuthgateRestApi",
    "AuthgateUserPool",
    "ContextError",
    "CookieAuthorizer",
    "ImagePackage",
    "LambdaPackage",
    "UsagePlans",
    "ZipPackage",
]
