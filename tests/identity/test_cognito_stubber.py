"""What moto cannot produce, with botocore's Stubber: Cognito's errors, throttling,
ResendConfirmationCode, RevokeToken, and SECRET_HASH on every call that takes it.

Through the HTTP API where a route exists, so the status and the `{"error", "message"}`
body are checked too; on the provider where the route is not part of this app yet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient
from jose import jwt

from app.errors import (
    CodeMismatchError,
    ExpiredCodeError,
    InvalidParameterError,
    LimitExceededError,
    NotAuthorizedError,
)
from app.identity.cognito import CognitoIdentityProvider
from app.identity.provider import Caller, TokenSubject
from app.main import create_app
from app.settings import Settings
from tests.support.moto import AWS_ENV

POOL_ID = "us-east-1_Stubbed"
CLIENT_ID = "stubbedclient"
CLIENT_SECRET = "stubbedclientsecret0123456789abcdef"
PASSWORD = "Correct-Horse-7-Battery"
REQUEST_ID = "7f1c1d0e-request-id-0000"
SESSION = "challenge-session-" + "x" * 24  # Cognito's sessions are 20+ characters
DECOY = re.compile(r"^[a-z]\*\*\*@[a-z]\*\*\*$")


def expected_secret_hash(username: str) -> str:
    """SECRET_HASH computed here, not by the app: Base64(HMAC-SHA256(secret, user + client))."""
    message = (username + CLIENT_ID).encode()
    return base64.b64encode(
        hmac.new(CLIENT_SECRET.encode(), message, hashlib.sha256).digest()
    ).decode()


def tokens(refresh: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {
        "IdToken": "id.token.value", "AccessToken": "access.token.value",
        "ExpiresIn": 3600, "TokenType": "Bearer",
    }
    if refresh:
        result["RefreshToken"] = "refresh-token-value"
    return {"AuthenticationResult": result}


@dataclass
class Stubbed:
    client: TestClient
    provider: CognitoIdentityProvider
    stubber: Stubber

    def error(self, method: str, code: str, message: str = "", status: int = 400,
              expected: dict[str, Any] | None = None) -> None:
        self.stubber.add_client_error(
            method, service_error_code=code, service_message=message,
            http_status_code=status, expected_params=expected,
            response_meta={"RequestId": REQUEST_ID},
        )

    def sign_in(self, username: str = "alice") -> Any:
        return self.client.post("/auth/signin", json={"username": username, "password": PASSWORD})


@pytest.fixture
def make_stubbed(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Stubbed]]:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    stubbers: list[Stubber] = []

    def make(**overrides: Any) -> Stubbed:
        settings = make_settings(**{
            "auth_backend": "cognito", "cognito_region": "us-east-1",
            "cognito_user_pool_id": POOL_ID, "cognito_client_id": CLIENT_ID,
            # A closed port: a call the test did not stub can never reach AWS.
            "cognito_endpoint_url": "http://127.0.0.1:9", **overrides,
        })
        app = create_app(settings)
        provider = app.state.services.identity
        assert isinstance(provider, CognitoIdentityProvider)
        stubber = Stubber(provider.idp_client)
        stubber.activate()
        stubbers.append(stubber)
        return Stubbed(TestClient(app, base_url="https://testserver"), provider, stubber)

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


@pytest.fixture
def stubbed(make_stubbed: Callable[..., Stubbed]) -> Stubbed:
    return make_stubbed()


@pytest.fixture
def with_secret(make_stubbed: Callable[..., Stubbed]) -> Stubbed:
    return make_stubbed(cognito_client_secret=CLIENT_SECRET)


def caller(use: Literal["id", "access"] = "access", username: str = "alice") -> Caller:
    subject = TokenSubject(username=username, sub="sub-1", token_use=use,
                           issued_at=1, origin_jti="origin-1")
    return Caller(token=f"{use}.token.value", subject=subject)


def assert_clean(response: Any, *raw: str) -> None:
    """The contract's envelope, and nothing of Cognito's own answer in it."""
    assert set(response.json()) == {"error", "message"}
    for text in (REQUEST_ID, *raw):
        assert text not in response.text


class TestSignInErrors:
    @pytest.mark.parametrize(("code", "cognito_message", "status", "error"), [
        ("NotAuthorizedException", "Incorrect username or password.", 401, "NotAuthorized"),
        ("NotAuthorizedException", "User is disabled.", 401, "NotAuthorized"),
        ("UserNotFoundException", "User does not exist.", 401, "NotAuthorized"),
        ("UserNotConfirmedException", "User is not confirmed.", 403, "UserNotConfirmed"),
        ("PasswordResetRequiredException", "Password reset required for the user", 403,
         "PasswordResetRequired"),
        ("TooManyFailedAttemptsException", "Too many failed attempts", 429,
         "TooManyFailedAttempts"),
        ("NotAuthorizedException", "Password attempts exceeded", 429, "TooManyFailedAttempts"),
        ("TooManyRequestsException", "Rate exceeded", 429, "LimitExceeded"),
        ("LimitExceededException", "Attempt limit exceeded", 429, "LimitExceeded"),
    ])
    def test_maps_to_the_contract(
        self, stubbed: Stubbed, code: str, cognito_message: str, status: int, error: str
    ) -> None:
        stubbed.error("initiate_auth", code, cognito_message)
        response = stubbed.sign_in()
        assert (response.status_code, response.json()["error"]) == (status, error)
        assert_clean(response)
        if status == 429:
            assert int(response.headers["retry-after"]) > 0

    def test_unknown_user_and_wrong_password_answer_alike(self, stubbed: Stubbed) -> None:
        stubbed.error("initiate_auth", "NotAuthorizedException", "Incorrect username or password.")
        stubbed.error("initiate_auth", "UserNotFoundException", "User does not exist.")
        wrong, unknown = stubbed.sign_in("alice"), stubbed.sign_in("nobody")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json() == {
            "error": "NotAuthorized", "message": "Incorrect username or password."}

    @pytest.mark.parametrize("case", ["expired", "another user's"])
    def test_a_session_cognito_refuses(self, stubbed: Stubbed, case: str) -> None:
        # Cognito binds a session to its user and lets it live 3 minutes; moto does neither.
        stubbed.error("respond_to_auth_challenge", "NotAuthorizedException",
                      "Invalid session for the user, session is expired.")
        response = stubbed.client.post("/auth/signin/challenge", json={
            "username": "mallory", "session": SESSION, "challenge": "SOFTWARE_TOKEN_MFA",
            "code": "123456"})
        assert (response.status_code, response.json()["error"]) == (401, "NotAuthorized")
        assert "set-cookie" not in response.headers
        assert_clean(response)

    @pytest.mark.parametrize(("code", "error"), [
        ("CodeMismatchException", "CodeMismatch"), ("ExpiredCodeException", "ExpiredCode"),
        ("EnableSoftwareTokenMFAException", "CodeMismatch")])
    def test_wrong_and_replayed_mfa_codes(self, stubbed: Stubbed, code: str, error: str) -> None:
        # Cognito refuses a TOTP code outside the window or used before: CodeMismatch.
        stubbed.error("respond_to_auth_challenge", code, "Invalid code received for user")
        response = stubbed.client.post("/auth/signin/challenge", json={
            "username": "alice", "session": SESSION, "challenge": "SOFTWARE_TOKEN_MFA",
            "code": "123456"})
        assert (response.status_code, response.json()["error"]) == (400, error)

    def test_a_challenge_this_app_cannot_answer(self, stubbed: Stubbed) -> None:
        stubbed.stubber.add_response("initiate_auth", {
            "ChallengeName": "MFA_SETUP", "Session": SESSION, "ChallengeParameters": {}})
        response = stubbed.sign_in()
        assert (response.status_code, response.json()["error"]) == (501, "NotImplemented")


class TestUnexpectedErrors:
    def test_an_unknown_code_is_a_generic_error_with_an_incident(
        self, stubbed: Stubbed, caplog: pytest.LogCaptureFixture
    ) -> None:
        raw = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/x is wedged (internal)"
        stubbed.error("initiate_auth", "BrandNewException", raw)
        with caplog.at_level(logging.ERROR, logger="app.identity.cognito_errors"):
            response = stubbed.sign_in()
        assert (response.status_code, response.json()["error"]) == (500, "InternalError")
        assert_clean(response, raw, "BrandNewException", "arn:aws")
        incident = re.search(r"incident ([0-9a-f]{12})", response.json()["message"])
        assert incident, response.text
        assert [r for r in caplog.records if getattr(r, "incident", None) == incident.group(1)]

    def test_an_unknown_server_fault_is_service_unavailable(self, stubbed: Stubbed) -> None:
        stubbed.error("initiate_auth", "SomethingBrokeException", "stack trace here", status=500)
        response = stubbed.sign_in()
        assert (response.status_code, response.json()["error"]) == (503, "ServiceUnavailable")
        assert response.headers["retry-after"]
        assert_clean(response, "stack trace here")

    def test_a_misconfigured_pool_tells_the_log_not_the_client(self, stubbed: Stubbed) -> None:
        stubbed.error("initiate_auth", "ResourceNotFoundException",
                      f"User pool client {CLIENT_ID} does not exist.")
        response = stubbed.sign_in()
        assert (response.status_code, response.json()["error"]) == (500, "InternalError")
        assert_clean(response, CLIENT_ID)

    @pytest.mark.parametrize("raw", [
        "PreSignUp failed with error User: arn:aws:sts::123456789012:assumed-role/r/f is not "
        "authorized.",
        "PreSignUp failed with error 2024-05-01T10:00:00.000Z "
        "3f1c2d4e-5a6b-7c8d-9e0f-0123456789ab Task timed out after 3.00 seconds.",
    ])
    def test_a_trigger_message_with_internals_is_not_passed_on(
        self, stubbed: Stubbed, raw: str
    ) -> None:
        stubbed.error("sign_up", "UserLambdaValidationException", raw)
        response = stubbed.client.post("/auth/signup", json={
            "username": "alice", "password": PASSWORD, "email": "alice@example.com"})
        assert (response.status_code, response.json()["error"]) == (400, "InvalidParameter")
        assert_clean(response, "arn:aws", "123456789012", "3f1c2d4e", "2024-05-01")

    def test_a_client_without_the_password_flow_is_the_deployments_fault(
        self, stubbed: Stubbed
    ) -> None:
        raw = "USER_PASSWORD_AUTH flow not enabled for this client"
        stubbed.error("initiate_auth", "InvalidParameterException", raw)
        response = stubbed.sign_in()
        assert (response.status_code, response.json()["error"]) == (500, "InternalError")
        assert_clean(response, raw)

    def test_an_operation_the_pool_has_not_enabled(self, stubbed: Stubbed) -> None:
        stubbed.error("sign_up", "OperationNotEnabledException", "not enabled")
        response = stubbed.client.post("/auth/signup", json={
            "username": "alice", "password": PASSWORD, "email": "alice@example.com"})
        assert (response.status_code, response.json()["error"]) == (501, "NotImplemented")

    @pytest.mark.parametrize("missing", ["profile", "sso"])
    def test_a_missing_profile_or_sso_login_says_how_to_fix_it(self, missing: str) -> None:
        from botocore.exceptions import ProfileNotFound, SSOTokenLoadError

        from app.identity.cognito_errors import translate

        exc = (ProfileNotFound(profile="typo") if missing == "profile"
               else SSOTokenLoadError(error_msg="the SSO session has expired"))
        error = translate(exc)
        assert (error.status_code, error.code) == (503, "ServiceUnavailable")
        assert "AWS_PROFILE" in error.message and error.retry_after

    def test_a_kept_message_is_cleaned_of_tokens(self, stubbed: Stubbed) -> None:
        token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
        stubbed.error("sign_up", "InvalidParameterException", f"Bad value {token}")
        response = stubbed.client.post("/auth/signup", json={
            "username": "alice", "password": PASSWORD, "email": "alice@example.com"})
        assert (response.status_code, response.json()["error"]) == (400, "InvalidParameter")
        assert token not in response.text
        assert "Bad value" in response.json()["message"]


class TestSignUpAndCodes:
    def test_invalid_password_keeps_cognito_policy_message(self, stubbed: Stubbed) -> None:
        message = "Password did not conform with policy: Password must have symbol characters"
        stubbed.error("sign_up", "InvalidPasswordException", message)
        response = stubbed.client.post("/auth/signup", json={
            "username": "alice", "password": "Password1", "email": "alice@example.com"})
        assert response.status_code == 400
        assert response.json() == {"error": "InvalidPassword", "message": message}

    @pytest.mark.parametrize(("code", "status", "error"), [
        ("UsernameExistsException", 409, "UsernameExists"),
        ("AliasExistsException", 409, "AliasExists"),
        ("CodeDeliveryFailureException", 503, "ServiceUnavailable"),
    ])
    def test_sign_up_errors(self, stubbed: Stubbed, code: str, status: int, error: str) -> None:
        stubbed.error("sign_up", code, "internal words")
        response = stubbed.client.post("/auth/signup", json={
            "username": "alice", "password": PASSWORD, "email": "alice@example.com"})
        assert (response.status_code, response.json()["error"]) == (status, error)
        assert_clean(response, "internal words")

    @pytest.mark.parametrize(("code", "error"), [
        ("CodeMismatchException", "CodeMismatch"),
        ("ExpiredCodeException", "ExpiredCode"),
        ("UserNotFoundException", "CodeMismatch"),  # an unknown user looks like a wrong code
        ("NotAuthorizedException", "CodeMismatch"),  # so does one confirmed already
    ])
    def test_confirm_code_errors(self, stubbed: Stubbed, code: str, error: str) -> None:
        stubbed.error("confirm_sign_up", code, "Invalid verification code provided")
        response = stubbed.client.post(
            "/auth/confirm_signup", json={"username": "alice", "code": "123456"})
        assert (response.status_code, response.json()["error"]) == (400, error)
        assert_clean(response)

    def test_resend_confirmation_code(self, stubbed: Stubbed) -> None:
        stubbed.stubber.add_response(
            "resend_confirmation_code",
            {"CodeDeliveryDetails": {"Destination": "a***@e***", "DeliveryMedium": "EMAIL",
                                     "AttributeName": "email"}},
            {"ClientId": CLIENT_ID, "Username": "alice"},
        )
        response = stubbed.client.post("/auth/resend_code", json={"username": "alice"})
        assert response.status_code == 200
        assert response.json() == {"delivery": {
            "medium": "EMAIL", "destination": "a***@e***", "attribute": "email"}}

    @pytest.mark.parametrize(("code", "message"), [
        ("InvalidParameterException", "User is already confirmed."),
        ("NotAuthorizedException", "User is disabled."),
    ])
    def test_resend_to_a_confirmed_or_disabled_user_looks_the_same(
        self, stubbed: Stubbed, code: str, message: str
    ) -> None:
        stubbed.error("resend_confirmation_code", code, message)
        response = stubbed.client.post("/auth/resend_code", json={"username": "alice"})
        assert response.status_code == 200, response.text
        assert DECOY.match(response.json()["delivery"]["destination"])

    def test_resend_to_an_unknown_user_looks_like_a_delivery(self, stubbed: Stubbed) -> None:
        for _ in range(2):
            stubbed.error("resend_confirmation_code", "UserNotFoundException", "User not found")
        first = stubbed.client.post("/auth/resend_code", json={"username": "nobody"})
        again = stubbed.client.post("/auth/resend_code", json={"username": "nobody"})
        assert first.status_code == 200
        delivery = first.json()["delivery"]
        assert (delivery["medium"], delivery["attribute"]) == ("EMAIL", "email")
        assert DECOY.match(delivery["destination"])
        assert again.json() == first.json(), "the same decoy each time"

    def test_resend_limit(self, stubbed: Stubbed) -> None:
        stubbed.error("resend_confirmation_code", "LimitExceededException", "limit")
        response = stubbed.client.post("/auth/resend_code", json={"username": "alice"})
        assert (response.status_code, response.json()["error"]) == (429, "LimitExceeded")
        assert int(response.headers["retry-after"]) > 0


class TestSecretHash:
    def test_sign_up_confirm_and_resend_send_it(self, with_secret: Stubbed) -> None:
        stub, hashed = with_secret.stubber, expected_secret_hash("alice")
        stub.add_response("sign_up", {"UserConfirmed": False, "UserSub": "sub-1"}, {
            "ClientId": CLIENT_ID, "Username": "alice", "Password": PASSWORD,
            "UserAttributes": [{"Name": "email", "Value": "alice@example.com"}],
            "SecretHash": hashed})
        stub.add_response("confirm_sign_up", {}, {
            "ClientId": CLIENT_ID, "Username": "alice", "ConfirmationCode": "123456",
            "SecretHash": hashed})
        stub.add_response("resend_confirmation_code", {"CodeDeliveryDetails": {}}, {
            "ClientId": CLIENT_ID, "Username": "alice", "SecretHash": hashed})
        client = with_secret.client
        assert client.post("/auth/signup", json={
            "username": "alice", "password": PASSWORD, "email": "alice@example.com",
        }).status_code == 201
        assert client.post("/auth/confirm_signup", json={
            "username": "alice", "code": "123456"}).status_code == 200
        assert client.post("/auth/resend_code", json={"username": "alice"}).status_code == 200

    def test_sign_in_and_challenge_send_it(self, with_secret: Stubbed) -> None:
        stub, hashed = with_secret.stubber, expected_secret_hash("alice")
        stub.add_response("initiate_auth", {
            "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": SESSION,
            "ChallengeParameters": {"USER_ID_FOR_SRP": "alice"},
        }, {"ClientId": CLIENT_ID, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {
            "USERNAME": "alice", "PASSWORD": PASSWORD, "SECRET_HASH": hashed}})
        stub.add_response("respond_to_auth_challenge", tokens(), {
            "ClientId": CLIENT_ID, "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": SESSION,
            "ChallengeResponses": {"USERNAME": "alice", "SOFTWARE_TOKEN_MFA_CODE": "123456",
                                   "SECRET_HASH": hashed}})

        challenge = with_secret.sign_in()
        assert challenge.json() == {
            "challenge": "SOFTWARE_TOKEN_MFA", "session": SESSION}
        answered = with_secret.client.post("/auth/signin/challenge", json={
            "username": "alice", "session": SESSION, "challenge": "SOFTWARE_TOKEN_MFA",
            "code": "123456"})
        assert answered.status_code == 200, answered.text
        assert answered.json()["message"] == "Auth successful"

    def test_refresh_hashes_the_username_of_the_id_token(self, with_secret: Stubbed) -> None:
        id_token = jwt.encode({"cognito:username": "alice"}, "unverified", algorithm="HS256")
        with_secret.stubber.add_response("initiate_auth", tokens(refresh=False), {
            "ClientId": CLIENT_ID, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {
                "REFRESH_TOKEN": "rt", "SECRET_HASH": expected_secret_hash("alice")}})
        response = with_secret.client.post("/auth/refresh", headers={
            "Cookie": f"refresh_token=rt; csrf_token=c; token={id_token}",
            "X-CSRF-Token": "c"})
        assert response.status_code == 200, response.text

    def test_refresh_without_the_username_is_refused_without_a_call(
        self, with_secret: Stubbed
    ) -> None:
        response = with_secret.client.post("/auth/refresh", headers={
            "Cookie": "refresh_token=rt; csrf_token=c", "X-CSRF-Token": "c"})
        assert (response.status_code, response.json()["error"]) == (401, "NotAuthorized")

    def test_forgot_and_confirm_forgot_password_send_it(self, with_secret: Stubbed) -> None:
        stub, hashed = with_secret.stubber, expected_secret_hash("alice")
        stub.add_response("forgot_password", {"CodeDeliveryDetails": {
            "Destination": "a***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}},
            {"ClientId": CLIENT_ID, "Username": "alice", "SecretHash": hashed})
        stub.add_response("confirm_forgot_password", {}, {
            "ClientId": CLIENT_ID, "Username": "alice", "ConfirmationCode": "123456",
            "Password": PASSWORD, "SecretHash": hashed})
        # The contract ends the user's sessions after a reset.
        stub.add_response("admin_get_user", {
            "Username": "alice", "UserAttributes": [{"Name": "sub", "Value": "sub-1"}],
            "Enabled": True, "UserStatus": "CONFIRMED"},
            {"UserPoolId": POOL_ID, "Username": "alice"})
        stub.add_response("admin_user_global_sign_out", {},
                          {"UserPoolId": POOL_ID, "Username": "alice"})
        provider = with_secret.provider
        assert provider.forgot_password("alice").destination == "a***@e***"
        provider.confirm_forgot_password("alice", "123456", PASSWORD)


class TestSignOut:
    def test_refresh_token_alone_is_revoked(self, with_secret: Stubbed) -> None:
        with_secret.stubber.add_response("revoke_token", {}, {
            "Token": "rt", "ClientId": CLIENT_ID, "ClientSecret": CLIENT_SECRET})
        response = with_secret.client.post("/auth/signout", headers={
            "Cookie": "refresh_token=rt; csrf_token=c", "X-CSRF-Token": "c"})
        assert response.status_code == 200, response.text
        assert response.json() == {"message": "Signed out"}

    def test_an_already_revoked_refresh_token_signs_out_quietly(self, stubbed: Stubbed) -> None:
        stubbed.error("revoke_token", "NotAuthorizedException", "Refresh Token has been revoked")
        response = stubbed.client.post("/auth/signout", headers={
            "Cookie": "refresh_token=rt; csrf_token=c", "X-CSRF-Token": "c"})
        assert response.status_code == 200

    def test_revoke_throttled(self, stubbed: Stubbed) -> None:
        stubbed.error("revoke_token", "TooManyRequestsException", "Rate exceeded")
        response = stubbed.client.post("/auth/signout", headers={
            "Cookie": "refresh_token=rt; csrf_token=c", "X-CSRF-Token": "c"})
        assert (response.status_code, response.json()["error"]) == (429, "LimitExceeded")
        assert response.headers["retry-after"] == "1"
        assert "This browser is signed out" in response.json()["message"]
        # The browser forgets its tokens all the same.
        cleared = {h.split("=", 1)[0] for h in response.headers.get_list("set-cookie")}
        assert cleared == {"token", "access_token", "refresh_token", "csrf_token"}

    def test_a_bogus_refresh_token_signs_out_quietly(self, stubbed: Stubbed) -> None:
        stubbed.error("revoke_token", "InvalidParameterException", "Invalid token")
        response = stubbed.client.post("/auth/signout", headers={
            "Cookie": "refresh_token=not-a-token; csrf_token=c", "X-CSRF-Token": "c"})
        assert response.status_code == 200, response.text

    def test_access_token_caller_uses_global_sign_out(self, stubbed: Stubbed) -> None:
        stubbed.stubber.add_response("global_sign_out", {}, {"AccessToken": "access.token.value"})
        stubbed.provider.global_sign_out(caller("access"), "rt")  # no RevokeToken after it

    def test_id_token_caller_is_signed_out_as_an_operator(self, stubbed: Stubbed) -> None:
        stubbed.stubber.add_response("admin_user_global_sign_out", {},
                                     {"UserPoolId": POOL_ID, "Username": "alice"})
        stubbed.provider.global_sign_out(caller("id"), None)

    def test_a_revoked_access_token_falls_back_to_the_operator_sign_out(
        self, stubbed: Stubbed
    ) -> None:
        # Revoked by a sign-out elsewhere, or by a reset: the user is signed out as an
        # operator would, which needs no token, and RevokeToken is not needed after it.
        stubbed.error("global_sign_out", "NotAuthorizedException", "Access Token has been revoked")
        stubbed.stubber.add_response("admin_user_global_sign_out", {},
                                     {"UserPoolId": POOL_ID, "Username": "alice"})
        stubbed.provider.global_sign_out(caller("access"), "rt")

    def test_a_user_gone_has_nothing_left_to_sign_out(self, stubbed: Stubbed) -> None:
        stubbed.error("admin_user_global_sign_out", "UserNotFoundException", "User does not exist.")
        stubbed.provider.global_sign_out(caller("id"), "rt")  # and no RevokeToken


class TestAccount:
    def test_needs_the_access_token(self, stubbed: Stubbed) -> None:
        with pytest.raises(NotAuthorizedError, match="access token"):
            stubbed.provider.change_password(caller("id"), PASSWORD, PASSWORD + "!")

    @pytest.mark.parametrize(("code", "error"), [
        ("CodeMismatchException", CodeMismatchError),
        ("ExpiredCodeException", ExpiredCodeError),
        ("LimitExceededException", LimitExceededError),
        # Whoever the name is, the answer to a wrong code.
        ("UserNotFoundException", CodeMismatchError),
        ("UserNotConfirmedException", CodeMismatchError),
        ("NotAuthorizedException", CodeMismatchError),
    ])
    def test_confirm_forgot_password_errors(
        self, stubbed: Stubbed, code: str, error: type[Exception]
    ) -> None:
        stubbed.error("confirm_forgot_password", code)
        with pytest.raises(error):
            stubbed.provider.confirm_forgot_password("alice", "123456", PASSWORD)

    def test_forgot_password_for_an_unknown_user_is_a_decoy(self, stubbed: Stubbed) -> None:
        stubbed.error("forgot_password", "UserNotFoundException", "Username/client id not found")
        delivery = stubbed.provider.forgot_password("nobody")
        assert (delivery.medium, delivery.attribute) == ("EMAIL", "email")
        assert DECOY.match(delivery.destination)

    def test_an_unknown_email_is_masked_as_a_real_one_would_be(self, stubbed: Stubbed) -> None:
        stubbed.error("forgot_password", "UserNotFoundException", "Username/client id not found")
        assert stubbed.provider.forgot_password("Zed@Gmail.com").destination == "z***@g***"

    def test_forgot_password_limit(self, stubbed: Stubbed) -> None:
        stubbed.error("forgot_password", "LimitExceededException", "Attempt limit exceeded")
        with pytest.raises(LimitExceededError) as raised:
            stubbed.provider.forgot_password("alice")
        assert raised.value.retry_after

    def test_a_wrong_totp_code_at_enrolment(self, stubbed: Stubbed) -> None:
        stubbed.error("verify_software_token", "EnableSoftwareTokenMFAException", "Code mismatch")
        with pytest.raises(CodeMismatchError):
            stubbed.provider.verify_software_token(caller(), "000000")

    def test_disabling_totp_checks_the_code_first(self, stubbed: Stubbed) -> None:
        stubbed.stubber.add_response("get_user", {
            "Username": "alice", "UserAttributes": [],
            "UserMFASettingList": ["SOFTWARE_TOKEN_MFA"]})
        stubbed.stubber.add_response("verify_software_token", {"Status": "ERROR"}, {
            "AccessToken": "access.token.value", "UserCode": "000000",
            "FriendlyDeviceName": "authgate"})
        with pytest.raises(CodeMismatchError):
            stubbed.provider.disable_software_token(caller(), "000000")
        # No SetUserMFAPreference was stubbed: the Stubber would have refused the call.

    def test_attribute_verification_code_and_its_errors(self, stubbed: Stubbed) -> None:
        stubbed.stubber.add_response("get_user_attribute_verification_code", {
            "CodeDeliveryDetails": {"Destination": "+*******4567", "DeliveryMedium": "SMS",
                                    "AttributeName": "phone_number"}},
            {"AccessToken": "access.token.value", "AttributeName": "phone_number"})
        stubbed.error("verify_user_attribute", "CodeMismatchException")
        stubbed.error("verify_user_attribute", "ExpiredCodeException")
        delivery = stubbed.provider.get_user_attribute_verification_code(caller(), "phone_number")
        assert (delivery.medium, delivery.destination) == ("SMS", "+*******4567")
        with pytest.raises(CodeMismatchError):
            stubbed.provider.verify_user_attribute(caller(), "phone_number", "000000")
        with pytest.raises(ExpiredCodeError):
            stubbed.provider.verify_user_attribute(caller(), "phone_number", "000000")

    def test_sms_mfa_needs_a_verified_phone(self, stubbed: Stubbed) -> None:
        stubbed.stubber.add_response("get_user", {
            "Username": "alice", "UserMFASettingList": [],
            "UserAttributes": [{"Name": "phone_number", "Value": "+15551234567"}]})
        with pytest.raises(InvalidParameterError, match="phone number"):
            stubbed.provider.set_sms_mfa(caller(), True)

    def test_aws_credentials_log_in_with_the_id_token(
        self, make_stubbed: Callable[..., Stubbed]
    ) -> None:
        stubbed = make_stubbed(cognito_identity_pool_id="us-east-1:pool")
        logins = {f"cognito-idp.us-east-1.amazonaws.com/{POOL_ID}": "id.token.value"}
        with Stubber(stubbed.provider.identity_client) as identity:
            identity.add_response("get_id", {"IdentityId": "us-east-1:abc"},
                                  {"IdentityPoolId": "us-east-1:pool", "Logins": logins})
            identity.add_client_error("get_credentials_for_identity", "TooManyRequestsException",
                                      http_status_code=400)
            with pytest.raises(LimitExceededError):
                stubbed.provider.get_aws_credentials("id.token.value")
            identity.assert_no_pending_responses()
