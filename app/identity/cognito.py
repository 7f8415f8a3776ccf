"""`CognitoIdentityProvider`: an Amazon Cognito user pool through boto3.

boto3 is imported on first use, never at import: the local backend and a cold start that
serves `/health` never pay for it. The clients are made once and shared by threads (boto3
clients are thread-safe; sessions are not, so each client gets its own session).
Every botocore failure becomes an `app.errors` class in `_call` (see `cognito_errors`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, TypedDict, TypeVar

from app.errors import (
    AppError,
    CodeMismatchError,
    InvalidParameterError,
    NotAuthorizedError,
    NotFoundError,
    NotImplementedFeatureError,
)
from app.identity.cognito_errors import translate
from app.identity.cognito_shapes import (
    SIGNED_IN_STATUSES,
    attribute_map,
    code_delivery,
    cognito_attributes,
    groups_of,
    secret_hash,
    token_set,
    unverified_claims,
    user_record,
)
from app.identity.provider import (
    AuthOutcome,
    AwsCredentials,
    Caller,
    Challenge,
    ChallengeName,
    CodeDelivery,
    SignUpResult,
    TokenSet,
    TokenSubject,
    UserAttributes,
    UserRecord,
    VerifiableAttribute,
    check_username_characters,
    decoy_delivery,
)
from app.identity.user_checks import SignOutLedger, UserCheckCache
from app.tokens.errors import TokenRevokedError

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_cognito_identity import CognitoIdentityClient
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.type_defs import (
        AdminGetUserResponseTypeDef,
        AuthenticationResultTypeTypeDef,
        GetUserResponseTypeDef,
        InitiateAuthResponseTypeDef,
        ListUsersResponseTypeDef,
        RespondToAuthChallengeResponseTypeDef,
    )

log = logging.getLogger(__name__)

T = TypeVar("T")

CHALLENGES: frozenset[str] = frozenset({"SOFTWARE_TOKEN_MFA", "SMS_MFA", "NEW_PASSWORD_REQUIRED"})
CHALLENGE_ANSWERS: Mapping[str, tuple[str, str]] = {
    # challenge: (the answer's key in Cognito's ChallengeResponses, the key in ours)
    "SOFTWARE_TOKEN_MFA": ("SOFTWARE_TOKEN_MFA_CODE", "code"),
    "SMS_MFA": ("SMS_MFA_CODE", "code"),
    "NEW_PASSWORD_REQUIRED": ("NEW_PASSWORD", "new_password"),
}
TOTP = "SOFTWARE_TOKEN_MFA"
# Two attempts in all (botocore's `max_attempts` would count the retries only): a dead
# endpoint costs 2 x timeout, which a request on Lambda must outlive to answer 503.
RETRIES = {"total_max_attempts": 2, "mode": "standard"}
ACCESS_REQUIRED_MESSAGE = (
    "This needs the access token, which Cognito asks for on account changes: sign in with "
    "cookies (the access_token cookie) or send the access token as the Bearer token."
)
INVALID_REFRESH_TOKEN = "Invalid Refresh Token"


class _SecretHash(TypedDict, total=False):
    SecretHash: str


class _ClientSecret(TypedDict, total=False):
    ClientSecret: str


# What Cognito answers when it sends no code to a name (no such user, confirmed already,
# unverified, disabled): every one of them gets a decoy delivery, as an unknown user does.
_NO_CODE_FOR_THEM = frozenset(
    {"UserNotFoundException", "InvalidParameterException", "NotAuthorizedException"}
)


class CognitoIdentityProvider:
    """An Amazon Cognito user pool, with the semantics of `IdentityProvider`.

    The app client must allow USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH. Operators'
    commands and `check_subject` use the Admin APIs, so the process needs IAM permission
    for them (`cognito-idp:Admin*`, `cognito-idp:ListUsers`).

    Args:
        region: the pool's region.
        user_pool_id: the pool (`us-east-1_AbC...`).
        client_id: the app client.
        client_secret: the app client's secret, if it has one: SECRET_HASH is then sent.
        endpoint_url: a Cognito-compatible endpoint instead of AWS's (moto's server).
        identity_pool_id: the identity pool for `get_aws_credentials`.
        timeout_seconds: connect and read timeout of each of a call's two attempts.
        user_check_ttl_seconds: how long an AdminGetUser may stand for a fresh one.
        clock: wall-clock seconds (tests step it over the TTL).
    """

    def __init__(
        self,
        *,
        region: str,
        user_pool_id: str,
        client_id: str,
        client_secret: str | None = None,
        endpoint_url: str | None = None,
        identity_pool_id: str | None = None,
        timeout_seconds: float = 5.0,
        user_check_ttl_seconds: float = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.region = region
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self.endpoint_url = endpoint_url
        self.identity_pool_id = identity_pool_id
        self.timeout_seconds = timeout_seconds
        self._client_secret = client_secret
        self._lock = threading.Lock()
        self._idp: CognitoIdentityProviderClient | None = None
        self._identity: CognitoIdentityClient | None = None
        self.user_checks = UserCheckCache(user_check_ttl_seconds, clock=clock)
        self.sign_outs = SignOutLedger(clock=clock)
        # Decoy deliveries must look the same from every process, and not be computable by
        # whoever knows the (public) client id: the secret keys them when there is one.
        self._decoy_key = (client_secret or f"{user_pool_id}/{client_id}").encode()

    # ------------------------------------------------------------------ plumbing

    def _config(self) -> Config:
        from botocore.config import Config

        return Config(
            connect_timeout=self.timeout_seconds,
            read_timeout=self.timeout_seconds,
            retries=RETRIES,  # type: ignore[arg-type]
        )

    @property
    def idp_client(self) -> CognitoIdentityProviderClient:
        """The cognito-idp client, made on first use."""
        if self._idp is None:
            with self._lock:
                if self._idp is None:
                    import boto3

                    self._idp = boto3.session.Session().client(
                        "cognito-idp", region_name=self.region,
                        endpoint_url=self.endpoint_url, config=self._config(),
                    )
        return self._idp

    @property
    def identity_client(self) -> CognitoIdentityClient:
        """The cognito-identity client (AWS credentials), made on first use."""
        if self._identity is None:
            with self._lock:
                if self._identity is None:
                    import boto3

                    # An identity pool id starts with its region ("us-east-1:...").
                    region = (self.identity_pool_id or "").partition(":")[0] or self.region
                    self._identity = boto3.session.Session().client(
                        "cognito-identity", region_name=region,
                        endpoint_url=self.endpoint_url, config=self._config(),
                    )
        return self._identity

    @staticmethod
    def _call(request: Callable[[], T], overrides: Mapping[str, AppError] | None = None) -> T:
        """Make one boto3 call; whatever fails leaves as an `app.errors` class."""
        try:
            return request()
        except Exception as exc:
            raise translate(exc, overrides) from None

    @staticmethod
    def _call_unless(codes: Collection[str], request: Callable[[], T]) -> T | None:
        """`_call`, but None when Cognito answers with one of `codes`."""
        try:
            return request()
        except Exception as exc:
            # Not every botocore error with a `response` has one: a read timeout's is None.
            error = (getattr(exc, "response", None) or {}).get("Error", {})
            if error.get("Code") in codes:
                return None
            raise translate(exc) from None

    def _secret_hash(self, username: str) -> _SecretHash:
        if self._client_secret is None:
            return {}
        return {"SecretHash": secret_hash(username, self.client_id, self._client_secret)}

    def _auth_secret(self, username: str) -> dict[str, str]:
        """SECRET_HASH as AuthParameters and ChallengeResponses spell it."""
        hashed = self._secret_hash(username)
        return {"SECRET_HASH": hashed["SecretHash"]} if hashed else {}

    def _not_found(self, username: str) -> dict[str, AppError]:
        return {"UserNotFoundException": NotFoundError(f"No user named {username!r}.")}

    @staticmethod
    def _access_token(caller: Caller) -> str:
        # Cognito's account APIs take the access token; an ID token cannot call them.
        if not caller.has_access_token:
            raise NotAuthorizedError(ACCESS_REQUIRED_MESSAGE)
        return caller.token

    def _tokens(self, result: AuthenticationResultTypeTypeDef) -> TokenSet:
        return self.record_sign_in(token_set(result))

    def record_sign_in(self, tokens: TokenSet) -> TokenSet:
        """Note a session this process started (here, or at the pool's domain for a
        federated sign-in), so a sign-out it made earlier does not refuse the new tokens."""
        origin_jti = unverified_claims(tokens.id_token).get("origin_jti")
        self.sign_outs.record_issued(origin_jti if isinstance(origin_jti, str) else None)
        return tokens

    def _outcome(
        self,
        response: InitiateAuthResponseTypeDef | RespondToAuthChallengeResponseTypeDef,
        username: str,
    ) -> AuthOutcome:
        result = response.get("AuthenticationResult")
        if result:
            return self._tokens(result)
        name, session = response.get("ChallengeName", ""), response.get("Session", "")
        if name not in CHALLENGES or not session:
            raise NotImplementedFeatureError(
                f"The user pool asked for the {name or 'unnamed'} challenge, which this app "
                "does not answer. Make MFA optional in the pool and sign in with a password."
            )
        params = response.get("ChallengeParameters") or {}
        challenge: ChallengeName = name  # type: ignore[assignment]  # checked just above
        delivery = None
        if challenge == "SMS_MFA":
            delivery = code_delivery({
                "Destination": params.get("CODE_DELIVERY_DESTINATION", ""),
                "DeliveryMedium": "SMS", "AttributeName": "phone_number",
            })
        return Challenge(
            name=challenge, session=session,
            username=params.get("USER_ID_FOR_SRP") or params.get("USERNAME") or username,
            delivery=delivery,
        )

    def _get_user(self, caller: Caller) -> GetUserResponseTypeDef:
        token = self._access_token(caller)
        return self._call(lambda: self.idp_client.get_user(AccessToken=token))

    def _admin_get(self, username: str, overrides: Mapping[str, AppError]) -> UserRecord:
        response: AdminGetUserResponseTypeDef = self._call(
            lambda: self.idp_client.admin_get_user(
                UserPoolId=self.user_pool_id, Username=username
            ),
            overrides,
        )
        return user_record(
            username=response["Username"],
            attributes=attribute_map(response.get("UserAttributes")),
            status=str(response.get("UserStatus", "UNKNOWN")),
            enabled=response.get("Enabled", True),
            mfa_settings=response.get("UserMFASettingList") or (),
            preferred_mfa=response.get("PreferredMfaSetting") or None,
            created=response.get("UserCreateDate"),
        )

    def _forget(self, *usernames: str) -> None:
        for username in usernames:
            self.user_checks.invalidate(username)

    def _end_sessions(self, username: str) -> None:
        """Sign a user out everywhere, as an operator (AdminUserGlobalSignOut)."""
        self.sign_outs.record_sign_out(username)
        self._forget(username)
        self._call_unless(
            {"UserNotFoundException"},
            lambda: self.idp_client.admin_user_global_sign_out(
                UserPoolId=self.user_pool_id, Username=username
            ),
        )

    # ------------------------------------------------------------------ sign-up

    def sign_up(self, username: str, password: str, attributes: UserAttributes) -> SignUpResult:
        check_username_characters(username)
        response = self._call(lambda: self.idp_client.sign_up(
            ClientId=self.client_id, Username=username, Password=password,
            UserAttributes=cognito_attributes(attributes), **self._secret_hash(username),
        ))
        details = response.get("CodeDeliveryDetails")
        return SignUpResult(
            username=username,
            user_sub=response["UserSub"],
            confirmed=bool(response.get("UserConfirmed", False)),
            delivery=code_delivery(details) if details else None,
        )

    def confirm_sign_up(self, username: str, code: str) -> None:
        self._call(
            lambda: self.idp_client.confirm_sign_up(
                ClientId=self.client_id, Username=username, ConfirmationCode=code,
                **self._secret_hash(username),
            ),
            {
                # The same answer as a wrong code: nothing says whether the user exists, or
                # is confirmed already ("User cannot be confirmed. Current status is ...").
                "UserNotFoundException": CodeMismatchError(),
                "NotAuthorizedException": CodeMismatchError(),
            },
        )

    def resend_confirmation_code(self, username: str) -> CodeDelivery:
        # An unknown, confirmed ("User is already confirmed.") or disabled user gets a decoy.
        response = self._call_unless(_NO_CODE_FOR_THEM, lambda: (
            self.idp_client.resend_confirmation_code(
                ClientId=self.client_id, Username=username, **self._secret_hash(username)
            )
        ))
        if response is None:
            return decoy_delivery(username, self._decoy_key)
        return code_delivery(response.get("CodeDeliveryDetails"))

    # ------------------------------------------------------------------ sign-in

    def initiate_auth(self, username: str, password: str) -> AuthOutcome:
        # No override: an unknown user and a wrong password both become "Incorrect username
        # or password." (COGNITO_ERRORS), and a lockout becomes TooManyFailedAttempts.
        response = self._call(lambda: self.idp_client.initiate_auth(
            ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password,
                            **self._auth_secret(username)},
        ))
        return self._outcome(response, username)

    def respond_to_challenge(
        self, username: str, challenge: ChallengeName, session: str, responses: Mapping[str, str]
    ) -> AuthOutcome:
        key, ours = CHALLENGE_ANSWERS[challenge]
        expired = NotAuthorizedError("Invalid session for the user, session is expired.")
        response = self._call(
            lambda: self.idp_client.respond_to_auth_challenge(
                ClientId=self.client_id, ChallengeName=challenge, Session=session,
                ChallengeResponses={"USERNAME": username, key: responses.get(ours, ""),
                                    **self._auth_secret(username)},
            ),
            # moto answers an unknown session with ResourceNotFound, Cognito NotAuthorized.
            {"NotAuthorizedException": expired, "ResourceNotFoundException": expired},
        )
        return self._outcome(response, username)

    def refresh(self, refresh_token: str, username: str | None) -> TokenSet:
        invalid = NotAuthorizedError(INVALID_REFRESH_TOKEN)
        if self._client_secret is not None and not username:
            # SECRET_HASH needs the username, read from the ID token cookie; without it
            # Cognito would refuse anyway.
            raise invalid
        response = self._call(
            lambda: self.idp_client.initiate_auth(
                ClientId=self.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token,
                                **self._auth_secret(username or "")},
            ),
            {"NotAuthorizedException": invalid, "UserNotFoundException": invalid},
        )
        result = response.get("AuthenticationResult")
        if not result:
            raise invalid
        return self._tokens(result)

    def global_sign_out(self, caller: Caller | None, refresh_token: str | None) -> None:
        """Sign the caller out everywhere, and revoke the refresh token.

        GlobalSignOut takes the access token. When there is none, or Cognito no longer
        takes it (revoked by an earlier sign-out elsewhere), AdminUserGlobalSignOut signs
        out `cognito:username`. Either revokes every refresh token of the user, so
        RevokeToken is only needed without a caller. ID tokens cannot be revoked at all:
        this process records the sign-out and refuses them from now on (`check_subject`).

        Raises:
            ServiceUnavailableError: Cognito could not be reached to end the sessions.
        """
        if caller is not None:
            subject = caller.subject
            self.sign_outs.record_sign_out(subject.username, subject.origin_jti)
            self._forget(subject.username)
            signed_out = caller.has_access_token and self._call_unless(
                {"NotAuthorizedException"},
                lambda: self.idp_client.global_sign_out(AccessToken=caller.token),
            ) is not None
            if not signed_out:  # a user already gone has nothing left to sign out
                self._call_unless({"UserNotFoundException"}, lambda: (
                    self.idp_client.admin_user_global_sign_out(
                        UserPoolId=self.user_pool_id, Username=subject.username
                    )
                ))
            log.info("user signed out", extra={"user_sub": subject.sub})
        elif refresh_token:
            secret: _ClientSecret = (
                {"ClientSecret": self._client_secret} if self._client_secret else {}
            )
            # Already revoked, not a refresh token of this client, or revocation is off
            # for the client: nothing this sign-out can revoke.
            self._call_unless(
                {"NotAuthorizedException", "UnauthorizedException", "InvalidParameterException",
                 "UnsupportedTokenTypeException", "UnsupportedOperationException"},
                lambda: self.idp_client.revoke_token(
                    Token=refresh_token, ClientId=self.client_id, **secret
                ),
            )

    @staticmethod
    def _refusal(record: UserRecord, subject: TokenSubject) -> NotAuthorizedError | None:
        if record.sub != subject.sub:  # deleted, and the name reused
            return TokenRevokedError("the user no longer exists")
        if not record.enabled:
            return NotAuthorizedError("User is disabled.")
        if record.status not in SIGNED_IN_STATUSES:
            return TokenRevokedError(f"the user's status is {record.status}")
        return None

    def cached_subject(self, subject: TokenSubject) -> UserRecord | None:
        if self.sign_outs.is_signed_out(subject):
            return None
        record = self.user_checks.get(subject.username)
        if record is None or self._refusal(record, subject) is not None:
            return None
        return record._replace(groups=groups_of(subject.claims))

    def check_subject(self, subject: TokenSubject) -> UserRecord:
        """The user behind a verified token, if they may still use it.

        AdminGetUser on the username (an ID token cannot call GetUser), cached for at most
        the TTL; a sign-out made by this process counts at once, cache or not.
        """
        if self.sign_outs.is_signed_out(subject):
            self._forget(subject.username)
            raise TokenRevokedError("the session was signed out by this process")
        record = self.user_checks.get(subject.username)
        fresh = record is None
        if record is None:
            record = self._admin_get(
                subject.username,
                {"UserNotFoundException": TokenRevokedError("the user no longer exists")},
            )
        refusal = self._refusal(record, subject)
        if refusal is not None:
            self._forget(subject.username)
            raise refusal
        if fresh:  # a hit must not extend the entry's life past the TTL
            self.user_checks.put(subject.username, record)
        return record._replace(groups=groups_of(subject.claims))

    # ------------------------------------------------------------------ passwords

    def forgot_password(self, username: str) -> CodeDelivery:
        # An unknown, unverified or disabled user gets a decoy, as with the local pool.
        response = self._call_unless(
            _NO_CODE_FOR_THEM,
            lambda: self.idp_client.forgot_password(
                ClientId=self.client_id, Username=username, **self._secret_hash(username)
            ),
        )
        if response is None:
            return decoy_delivery(username, self._decoy_key)
        return code_delivery(response.get("CodeDeliveryDetails"))

    def confirm_forgot_password(self, username: str, code: str, password: str) -> None:
        self._call(
            lambda: self.idp_client.confirm_forgot_password(
                ClientId=self.client_id, Username=username, ConfirmationCode=code,
                Password=password, **self._secret_hash(username),
            ),
            # Whoever the name is (unknown, unconfirmed, disabled): the answer to a wrong code.
            # (moto says ResourceNotFoundException for an unknown user.)
            dict.fromkeys(
                ("UserNotFoundException", "UserNotConfirmedException", "NotAuthorizedException",
                 "ResourceNotFoundException"),
                CodeMismatchError(),
            ),
        )
        # Cognito keeps the user's sessions after a reset; the contract ends them. The
        # password is changed by now, so a failure here is logged, not answered.
        try:
            self._end_sessions(self._admin_get(username, self._not_found(username)).username)
        except AppError as exc:
            log.warning("sessions not ended after a password reset", extra={"error": exc.code})

    def change_password(self, caller: Caller, old_password: str, new_password: str) -> None:
        token = self._access_token(caller)
        self._call(lambda: self.idp_client.change_password(
            PreviousPassword=old_password, ProposedPassword=new_password, AccessToken=token
        ))

    # ------------------------------------------------------------------ attributes

    def get_user_attribute_verification_code(
        self, caller: Caller, attribute: VerifiableAttribute
    ) -> CodeDelivery:
        token = self._access_token(caller)
        response = self._call(lambda: self.idp_client.get_user_attribute_verification_code(
            AccessToken=token, AttributeName=attribute
        ))
        return code_delivery(response.get("CodeDeliveryDetails"), attribute)

    def verify_user_attribute(
        self, caller: Caller, attribute: VerifiableAttribute, code: str
    ) -> None:
        token = self._access_token(caller)
        self._call(lambda: self.idp_client.verify_user_attribute(
            AccessToken=token, AttributeName=attribute, Code=code
        ))
        self._forget(caller.subject.username)

    def update_user_attributes(
        self, caller: Caller, attributes: UserAttributes
    ) -> list[CodeDelivery]:
        current = attribute_map(self._get_user(caller).get("UserAttributes"))
        # Only what changes is sent: Cognito would unverify and re-send for the same value.
        changed = UserAttributes(
            email=attributes.email if attributes.email != current.get("email") else None,
            phone_number=(
                attributes.phone_number
                if attributes.phone_number != current.get("phone_number") else None
            ),
        )
        updates = cognito_attributes(changed)
        if not updates:
            return []
        response = self._call(lambda: self.idp_client.update_user_attributes(
            UserAttributes=updates, AccessToken=caller.token
        ))
        self._forget(caller.subject.username)
        return [code_delivery(item) for item in response.get("CodeDeliveryDetailsList") or ()]

    # ------------------------------------------------------------------ MFA

    def _mfa_settings(self, caller: Caller) -> tuple[dict[str, str], list[str]]:
        user = self._get_user(caller)
        return attribute_map(user.get("UserAttributes")), user.get("UserMFASettingList") or []

    def set_sms_mfa(self, caller: Caller, enabled: bool) -> None:
        attributes, mfa = self._mfa_settings(caller)
        if enabled and attributes.get("phone_number_verified") != "true":
            raise InvalidParameterError("Verify a phone number before turning SMS MFA on.")
        # TOTP stays the preferred method when both are on, as with the local pool.
        self._call(lambda: self.idp_client.set_user_mfa_preference(
            SMSMfaSettings={"Enabled": enabled, "PreferredMfa": enabled and TOTP not in mfa},
            AccessToken=caller.token,
        ))
        self._forget(caller.subject.username)

    def associate_software_token(self, caller: Caller) -> str:
        _, mfa = self._mfa_settings(caller)
        if TOTP in mfa:
            # Cognito would let a stolen access token enrol the thief's device.
            raise InvalidParameterError(
                "Software token MFA is already on. Disable it before enrolling a new device."
            )
        response = self._call(lambda: self.idp_client.associate_software_token(
            AccessToken=caller.token
        ))
        return response["SecretCode"]

    def _verify_totp(self, caller: Caller, code: str) -> None:
        token = self._access_token(caller)
        response = self._call(lambda: self.idp_client.verify_software_token(
            AccessToken=token, UserCode=code, FriendlyDeviceName="authgate"
        ))
        if response.get("Status") != "SUCCESS":
            raise CodeMismatchError()

    def verify_software_token(self, caller: Caller, code: str) -> None:
        self._verify_totp(caller, code)
        self._call(lambda: self.idp_client.set_user_mfa_preference(
            SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
            AccessToken=caller.token,
        ))
        self._forget(caller.subject.username)

    def disable_software_token(self, caller: Caller, code: str) -> None:
        _, mfa = self._mfa_settings(caller)
        if TOTP not in mfa:
            raise InvalidParameterError("Software token MFA is not on.")
        # Cognito turns TOTP off without a code; the contract asks for one first.
        self._verify_totp(caller, code)
        self._call(lambda: self.idp_client.set_user_mfa_preference(
            SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False},
            AccessToken=caller.token,
        ))
        self._forget(caller.subject.username)

    def get_aws_credentials(self, id_token: str) -> AwsCredentials:
        identity_pool_id = self.identity_pool_id
        if not identity_pool_id:
            raise NotImplementedFeatureError(
                "AWS credentials come from a Cognito identity pool, and none is configured: "
                "set COGNITO_IDENTITY_POOL_ID to the identity pool linked to this user pool."
            )
        logins = {f"cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}": id_token}
        identity_id = self._call(lambda: self.identity_client.get_id(
            IdentityPoolId=identity_pool_id, Logins=logins
        ))["IdentityId"]
        response = self._call(lambda: self.identity_client.get_credentials_for_identity(
            IdentityId=identity_id, Logins=logins
        ))
        credentials = response.get("Credentials") or {}
        expiration = credentials.get("Expiration")
        return AwsCredentials(
            identity_id=response.get("IdentityId") or identity_id,
            access_key_id=credentials.get("AccessKeyId", ""),
            secret_access_key=credentials.get("SecretKey", ""),
            session_token=credentials.get("SessionToken", ""),
            expiration=expiration.isoformat() if expiration else "",
        )

    # ------------------------------------------------------------------ the pool itself

    def app_client_providers(self) -> list[str] | None:
        """The external identity providers the app client offers (DescribeUserPoolClient).

        None when the process may not ask: an expected set-up (the stack's role has no
        such permission, as it names the providers in COGNITO_IDENTITY_PROVIDERS), not an
        incident. COGNITO, the pool's own sign-in page, is left out: passwords go through
        this app.
        """
        answer = self._call_unless({"AccessDeniedException"}, lambda: (
            self.idp_client.describe_user_pool_client(
                UserPoolId=self.user_pool_id, ClientId=self.client_id,
            )
        ))
        if answer is None:
            return None
        names = answer.get("UserPoolClient", {}).get("SupportedIdentityProviders") or []
        return [name for name in names if name != "COGNITO"]

    # ------------------------------------------------------------------ operators

    def admin_list_users(self, limit: int = 60) -> list[UserRecord]:
        users: list[UserRecord] = []
        token: str | None = None
        while len(users) < limit:
            response = self._list_page(min(60, limit - len(users)), token)
            users.extend(
                user_record(
                    username=item.get("Username", ""),
                    attributes=attribute_map(item.get("Attributes")),
                    status=str(item.get("UserStatus", "UNKNOWN")),
                    enabled=item.get("Enabled", True),
                    created=item.get("UserCreateDate"),
                )
                for item in response.get("Users") or ()
            )
            token = response.get("PaginationToken")
            if not token:
                break
        return users[:limit]

    def _list_page(self, size: int, token: str | None) -> ListUsersResponseTypeDef:
        # ListUsers answers at most 60 users a page.
        paging = {"PaginationToken": token} if token else {}
        return self._call(lambda: self.idp_client.list_users(
            UserPoolId=self.user_pool_id, Limit=size, **paging
        ))

    def admin_get_user(self, username: str) -> UserRecord:
        return self._admin_get(username, self._not_found(username))

    def admin_create_user(
        self, username: str, temporary_password: str, attributes: UserAttributes
    ) -> UserRecord:
        check_username_characters(username)
        # The operator vouches for the email, as with the local pool; nothing is sent
        # (SUPPRESS): the command prints the temporary password instead.
        response = self._call(lambda: self.idp_client.admin_create_user(
            UserPoolId=self.user_pool_id, Username=username,
            TemporaryPassword=temporary_password, MessageAction="SUPPRESS",
            UserAttributes=cognito_attributes(attributes, email_verified=True),
        ))
        user = response["User"]
        return user_record(
            username=user.get("Username", username),
            attributes=attribute_map(user.get("Attributes")),
            status=str(user.get("UserStatus", "FORCE_CHANGE_PASSWORD")),
            enabled=user.get("Enabled", True),
            created=user.get("UserCreateDate"),
        )

    def admin_confirm_sign_up(self, username: str) -> None:
        record = self.admin_get_user(username)
        self._call(
            lambda: self.idp_client.admin_confirm_sign_up(
                UserPoolId=self.user_pool_id, Username=record.username
            ),
            self._not_found(username),
        )
        if record.email and not record.email_verified:
            # Confirming without a code vouches for the email too, as with the local pool,
            # so it works as a sign-in alias and for password resets.
            self._call(lambda: self.idp_client.admin_update_user_attributes(
                UserPoolId=self.user_pool_id, Username=record.username,
                UserAttributes=[{"Name": "email_verified", "Value": "true"}],
            ))
        self._forget(username, record.username)

    def admin_set_enabled(self, username: str, enabled: bool) -> None:
        if enabled:
            self._call(lambda: self.idp_client.admin_enable_user(
                UserPoolId=self.user_pool_id, Username=username
            ), self._not_found(username))
        else:
            self._call(lambda: self.idp_client.admin_disable_user(
                UserPoolId=self.user_pool_id, Username=username
            ), self._not_found(username))
        self._forget(username)

    def admin_delete_user(self, username: str) -> None:
        self._call(lambda: self.idp_client.admin_delete_user(
            UserPoolId=self.user_pool_id, Username=username
        ), self._not_found(username))
        self._forget(username)

    def admin_reset_user_password(self, username: str) -> None:
        """Refuse sign-in until a password reset, and end the user's sessions."""
        self._call(lambda: self.idp_client.admin_reset_user_password(
            UserPoolId=self.user_pool_id, Username=username
        ), self._not_found(username))
        self._end_sessions(username)
