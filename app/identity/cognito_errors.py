"""Cognito's failures as the app's errors (SPEC §2): one table, read by `translate`.

Every `ClientError` and transport failure of botocore is turned into an `app.errors` class
here, before it leaves `identity/`. Cognito's own text reaches the client only where it is
written for users (the password policy rule that failed) and then cleaned; everything else
gets the app's message, because Cognito's may echo a token (moto's do) or name internals.
Failures that are the deployment's fault (a wrong pool id, missing IAM permissions) are
logged with an incident id and answered with a generic error that quotes it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from app.errors import (
    AliasExistsError,
    AppError,
    CodeMismatchError,
    ExpiredCodeError,
    InvalidParameterError,
    InvalidPasswordError,
    LimitExceededError,
    NotAuthorizedError,
    NotImplementedFeatureError,
    PasswordResetRequiredError,
    ServiceUnavailableError,
    TooManyFailedAttemptsError,
    UsernameExistsError,
    UserNotConfirmedError,
)
from app.logs import redact

log = logging.getLogger(__name__)

# Cognito says neither how long its throttles nor its lockouts last. API throttling is
# per second; sign-in lockouts start at seconds and double; code limits last longer.
THROTTLE_RETRY_AFTER = 1
FAILED_ATTEMPTS_RETRY_AFTER = 30
LIMIT_EXCEEDED_RETRY_AFTER = 60
MAX_KEPT_MESSAGE = 200


@dataclass(frozen=True)
class Translation:
    """How one Cognito error code reaches the client.

    Args:
        error: the app's error class.
        message: a fixed message instead of the class's default.
        keep_message: pass Cognito's message on (cleaned); it is written for users.
        retry_after: seconds for the `Retry-After` header.
        incident: the deployment's or the service's fault: log it with an incident id.
    """

    error: type[AppError]
    message: str | None = None
    keep_message: bool = False
    retry_after: int | None = None
    incident: bool = False


_THROTTLED = Translation(
    LimitExceededError, "Too many requests. Try again shortly.", retry_after=THROTTLE_RETRY_AFTER
)
_UNAVAILABLE = Translation(ServiceUnavailableError, incident=True)
_MISCONFIGURED = Translation(AppError, incident=True)
_NOT_DELIVERED = Translation(
    ServiceUnavailableError,
    "The code could not be delivered. Check the email address or phone number, or try "
    "again later.",
    incident=True,
)

# Every error the operations of `CognitoIdentityProvider` document, cognito-identity's
# included, and the generic AWS ones (throttling, credentials, permissions).
COGNITO_ERRORS: Mapping[str, Translation] = {
    # The caller's mistakes.
    "NotAuthorizedException": Translation(NotAuthorizedError),
    # Never "user not found": the same answer as a wrong password (PreventUserExistenceErrors).
    "UserNotFoundException": Translation(NotAuthorizedError),
    "UnauthorizedException": Translation(NotAuthorizedError),
    "ForbiddenException": Translation(NotAuthorizedError, "The request was refused."),
    "ResourceConflictException": Translation(
        NotAuthorizedError, "This sign-in is linked to another identity."
    ),
    "RefreshTokenReuseException": Translation(NotAuthorizedError, "Invalid Refresh Token"),
    "UnsupportedTokenTypeException": Translation(NotAuthorizedError),
    "UserNotConfirmedException": Translation(UserNotConfirmedError),
    "PasswordResetRequiredException": Translation(PasswordResetRequiredError),
    "UnsupportedUserStateException": Translation(
        NotAuthorizedError, "The user cannot do this in their current state."
    ),
    "UsernameExistsException": Translation(UsernameExistsError),
    "AliasExistsException": Translation(AliasExistsError),
    "InvalidPasswordException": Translation(InvalidPasswordError, keep_message=True),
    "PasswordHistoryPolicyViolationException": Translation(
        InvalidPasswordError, "The password was used recently. Choose another one."
    ),
    "InvalidParameterException": Translation(InvalidParameterError, keep_message=True),
    # A pre-sign-up trigger's refusal is written for the user who signs up.
    "UserLambdaValidationException": Translation(InvalidParameterError, keep_message=True),
    "CodeMismatchException": Translation(CodeMismatchError),
    # VerifySoftwareToken's answer to a wrong TOTP code.
    "EnableSoftwareTokenMFAException": Translation(CodeMismatchError),
    "ExpiredCodeException": Translation(ExpiredCodeError),
    "SoftwareTokenMFANotFoundException": Translation(
        InvalidParameterError, "Software token MFA is not set up: call /auth/mfa/totp/setup."
    ),
    "MFAMethodNotFoundException": Translation(
        InvalidParameterError, "No MFA method is set up for the user."
    ),
    # Limits.
    "TooManyFailedAttemptsException": Translation(
        TooManyFailedAttemptsError, retry_after=FAILED_ATTEMPTS_RETRY_AFTER
    ),
    "LimitExceededException": Translation(
        LimitExceededError, retry_after=LIMIT_EXCEEDED_RETRY_AFTER
    ),
    "TooManyRequestsException": _THROTTLED,
    "ThrottlingException": _THROTTLED,
    "Throttling": _THROTTLED,
    "RequestLimitExceeded": _THROTTLED,
    # Code delivery (SES, SNS) and triggers: the pool's set-up, not the caller.
    "CodeDeliveryFailureException": _NOT_DELIVERED,
    "InvalidSmsRoleAccessPolicyException": _NOT_DELIVERED,
    "InvalidSmsRoleTrustRelationshipException": _NOT_DELIVERED,
    "InvalidEmailRoleAccessPolicyException": _NOT_DELIVERED,
    "UnexpectedLambdaException": _UNAVAILABLE,
    "InvalidLambdaResponseException": _UNAVAILABLE,
    # Features the pool does not have.
    "InvalidUserPoolConfigurationException": Translation(
        NotImplementedFeatureError, "The user pool is not configured for this operation."
    ),
    "UserPoolAddOnNotEnabledException": Translation(
        NotImplementedFeatureError, "The user pool's threat protection is not enabled."
    ),
    "UnsupportedOperationException": Translation(
        NotImplementedFeatureError, "The user pool does not support this operation."
    ),
    "OperationNotEnabledException": Translation(
        NotImplementedFeatureError, "The user pool does not have this operation enabled."
    ),
    "FeatureUnavailableInTierException": Translation(
        NotImplementedFeatureError, "The user pool's feature plan does not include this."
    ),
    # The service.
    "InternalErrorException": _UNAVAILABLE,
    "InternalServerException": _UNAVAILABLE,
    "ExternalServiceException": _UNAVAILABLE,
    "ConcurrentModificationException": Translation(
        ServiceUnavailableError, "The account is being changed. Try again shortly.",
        retry_after=THROTTLE_RETRY_AFTER,
    ),
    # The deployment: wrong ids, credentials or permissions.
    "ResourceNotFoundException": _MISCONFIGURED,
    "InvalidIdentityPoolConfigurationException": _MISCONFIGURED,
    "AccessDeniedException": _MISCONFIGURED,
    "UnrecognizedClientException": _MISCONFIGURED,
    "InvalidClientTokenId": _MISCONFIGURED,
    "ExpiredTokenException": _MISCONFIGURED,
    "SignatureDoesNotMatch": _MISCONFIGURED,
}

# Where only the message tells: a sign-in lockout comes as NotAuthorizedException, and an
# app client without the password flow as InvalidParameterException (the deployment's
# fault, not the caller's).
MESSAGE_REFINEMENTS: Mapping[tuple[str, str], Translation] = {
    ("NotAuthorizedException", "Password attempts exceeded"): Translation(
        TooManyFailedAttemptsError,
        "Too many failed sign-in attempts. Wait before trying again.",
        retry_after=FAILED_ATTEMPTS_RETRY_AFTER,
    ),
    ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client"):
        _MISCONFIGURED,
}

_CLEAN_SPACE = re.compile(r"\s+")
# What no client should read: ARNs, account ids, request ids (UUIDs) and log timestamps,
# as a trigger's own error text can carry them.
_INTERNALS = re.compile(
    r"arn:aws|\b\d{12}\b|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}",
    re.IGNORECASE,
)


def clean_message(message: str) -> str | None:
    """Cognito's message made fit for a client, or None when it is not (markup, internals,
    empty): the caller then answers with its own fixed text."""
    text = _CLEAN_SPACE.sub(" ", redact(message)).strip()
    if not text or "<" in text or _INTERNALS.search(text):
        return None
    return text[:MAX_KEPT_MESSAGE]


NO_CREDENTIALS_MESSAGE = (
    "The identity service cannot be reached: this server has no usable AWS credentials. "
    "Set AWS_PROFILE (and run 'aws sso login' if it uses SSO), or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or run it with a role."
)


def _incident(
    error: type[AppError], exc: Exception, operation: str | None, code: str | None
) -> AppError:
    incident = uuid.uuid4().hex[:12]
    log.error(
        "the identity service call failed",
        exc_info=exc,
        extra={"incident": incident, "operation": operation, "aws_code": code},
    )
    if error is AppError:
        return AppError(
            f"An unexpected error occurred. Quote incident {incident} when reporting it."
        )
    return error()


def _from_client_error(
    code: str, message: str, status: int, exc: Exception, operation: str | None
) -> AppError:
    translation = MESSAGE_REFINEMENTS.get((code, message.strip().rstrip("."))) or (
        COGNITO_ERRORS.get(code)
    )
    if translation is None:
        # An unknown code: a 5xx is the service failing, anything else is a call we got wrong.
        fallback = ServiceUnavailableError if status >= 500 else AppError
        return _incident(fallback, exc, operation, code)
    if translation.incident:
        error = _incident(translation.error, exc, operation, code)
        if translation.message is not None:
            error.message = translation.message
        return error
    text = clean_message(message) if translation.keep_message else None
    error = translation.error(text or translation.message)
    if translation.retry_after is not None:
        error.retry_after = translation.retry_after
    return error


def translate(exc: Exception, overrides: Mapping[str, AppError] | None = None) -> AppError:
    """The app's error for a failed boto3 call.

    Args:
        exc: what botocore raised.
        overrides: per call, an error to raise instead for a Cognito code (an unknown
            user is `NotFoundError` for an operator, `CodeMismatchError` on confirmation).
    """
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        CredentialRetrievalError,
        HTTPClientError,
        NoCredentialsError,
        ParamValidationError,
        PartialCredentialsError,
        ProfileNotFound,
        SSOError,
        TokenRetrievalError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if overrides and code in overrides:
            return overrides[code]
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return _from_client_error(
            code, str(error.get("Message", "")), status, exc, exc.operation_name
        )
    if isinstance(exc, ConnectionError | HTTPClientError):
        # Connection refused, timeouts, a connection closed mid-answer: retried by botocore
        # already, so the service is unreachable for now.
        log.warning("the identity service cannot be reached", extra={"reason": type(exc).__name__})
        return ServiceUnavailableError()
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError
                  | TokenRetrievalError | SSOError | ProfileNotFound):
        # A deployment without credentials (or with an expired SSO login): no call can work
        # until an operator fixes it, and the message says how.
        log.error("no usable AWS credentials for the admin calls",
                  extra={"reason": type(exc).__name__})
        return ServiceUnavailableError(NO_CREDENTIALS_MESSAGE, retry_after=60)
    if isinstance(exc, ParamValidationError):
        # botocore's text quotes the request; the schemas should have caught this first.
        return InvalidParameterError()
    return _incident(AppError, exc, None, type(exc).__name__)
