"""`CognitoIdentityProvider` against moto's server: the account and operator operations the
routes do not reach yet, and how long an old token keeps working after a change.

Tokens come from moto; their claims are read here without verification (the verifier has
its own tests), because what is tested is the backend's decision about them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from app.errors import (
    CodeMismatchError,
    InvalidParameterError,
    NotAuthorizedError,
    NotFoundError,
)
from app.identity.cognito import CognitoIdentityProvider
from app.identity.provider import Caller, Challenge, TokenSet, TokenSubject, UserAttributes
from app.tokens.claims import subject_of
from app.tokens.errors import TokenRevokedError
from tests.support.moto import ANY_CODE, REGION, MotoPool, MotoServer, totp_code
from tests.support.users import PASSWORD, AuthFlow, unique_username

NEW_PASSWORD = "Another-Horse-8-Battery"


@dataclass
class Clock:
    """Wall-clock time that a test can move forward."""

    offset: float = 0.0

    def __call__(self) -> float:
        import time

        return time.time() + self.offset


def subject(token: str) -> TokenSubject:
    return subject_of(jwt.get_unverified_claims(token))


def caller(tokens: TokenSet) -> Caller:
    return Caller(token=tokens.access_token, subject=subject(tokens.access_token))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_provider(moto_pool: MotoPool, clock: Clock) -> Callable[..., CognitoIdentityProvider]:
    def make(ttl: float = 0) -> CognitoIdentityProvider:
        return CognitoIdentityProvider(
            region=REGION, user_pool_id=moto_pool.pool_id, client_id=moto_pool.client_id,
            endpoint_url=moto_pool.url, user_check_ttl_seconds=ttl, clock=clock,
        )

    return make


@pytest.fixture
def provider(make_provider: Callable[..., CognitoIdentityProvider]) -> CognitoIdentityProvider:
    return make_provider()


def signed_in(provider: CognitoIdentityProvider, username: str | None = None) -> TokenSet:
    username = username or unique_username()
    provider.sign_up(username, PASSWORD, UserAttributes(email=f"{username}@example.com"))
    provider.confirm_sign_up(username, ANY_CODE)
    tokens = provider.initiate_auth(username, PASSWORD)
    assert isinstance(tokens, TokenSet)
    return tokens


class TestUserCheckCache:
    def test_a_disabled_user_is_refused_at_once_with_ttl_0(
        self, provider: CognitoIdentityProvider, moto_server: MotoServer, moto_pool: MotoPool
    ) -> None:
        token = subject(signed_in(provider).id_token)
        assert provider.check_subject(token).username == token.username
        moto_server.idp().admin_disable_user(UserPoolId=moto_pool.pool_id, Username=token.username)
        with pytest.raises(NotAuthorizedError):
            provider.check_subject(token)

    def test_a_large_ttl_keeps_a_disabled_user_until_it_passes(
        self, make_provider: Callable[..., CognitoIdentityProvider], clock: Clock,
        moto_server: MotoServer, moto_pool: MotoPool,
    ) -> None:
        provider = make_provider(ttl=300)
        token = subject(signed_in(provider).id_token)
        provider.check_subject(token)  # cached now
        # Disabled by an operator elsewhere: this process cannot know before the TTL.
        moto_server.idp().admin_disable_user(UserPoolId=moto_pool.pool_id, Username=token.username)
        clock.offset = 299
        assert provider.check_subject(token).enabled, "still the cached lookup"
        clock.offset = 300
        with pytest.raises(NotAuthorizedError, match="disabled"):
            provider.check_subject(token)
        # The refusal dropped the entry: once enabled again, the next lookup is fresh.
        moto_server.idp().admin_enable_user(UserPoolId=moto_pool.pool_id, Username=token.username)
        assert provider.check_subject(token).enabled

    def test_a_deleted_and_recreated_username_does_not_inherit_tokens(
        self, provider: CognitoIdentityProvider, moto_server: MotoServer, moto_pool: MotoPool
    ) -> None:
        token = subject(signed_in(provider).id_token)
        moto_server.idp().admin_delete_user(UserPoolId=moto_pool.pool_id, Username=token.username)
        with pytest.raises(TokenRevokedError, match="no longer exists"):
            provider.check_subject(token)
        signed_in(provider, token.username)  # the same name, another user (another sub)
        with pytest.raises(TokenRevokedError, match="no longer exists"):
            provider.check_subject(token)

    def test_a_password_reset_by_an_operator_ends_sign_in(
        self, provider: CognitoIdentityProvider, moto_server: MotoServer, moto_pool: MotoPool
    ) -> None:
        token = subject(signed_in(provider).id_token)
        idp = moto_server.idp()
        idp.admin_update_user_attributes(
            UserPoolId=moto_pool.pool_id, Username=token.username,
            UserAttributes=[{"Name": "email_verified", "Value": "true"}],
        )
        idp.admin_reset_user_password(UserPoolId=moto_pool.pool_id, Username=token.username)
        with pytest.raises(TokenRevokedError, match="status is"):
            provider.check_subject(token)


class TestOldTokensOverHttp:
    """Through the HTTP API: a disabled user with no cache, and sign-outs with a TTL long
    enough that only this process's sign-out record can refuse the old token."""

    def test_disabled_by_an_operator_refused_at_once_with_ttl_0(
        self, moto_server: MotoServer, moto_pool: MotoPool,
        make_cognito_client: Callable[..., TestClient],
    ) -> None:
        client = make_cognito_client(moto_pool, user_check_ttl_seconds=0)
        user = AuthFlow(client, lambda user: ANY_CODE).signed_in_user()
        assert client.get("/protected").status_code == 200
        moto_server.idp().admin_disable_user(UserPoolId=moto_pool.pool_id, Username=user.username)
        refused = client.get("/protected")
        assert (refused.status_code, refused.json()["error"]) == (401, "NotAuthorized")

    def test_every_older_session_of_the_user_is_refused_at_once(
        self, moto_pool: MotoPool, make_cognito_client: Callable[..., TestClient]
    ) -> None:
        client = make_cognito_client(moto_pool, user_check_ttl_seconds=3600)
        flow = AuthFlow(client, lambda user: ANY_CODE)
        user = flow.confirmed_user()
        other_session = flow.sign_in(user).json()["token"]
        flow.sign_in(user)  # the session the cookies now hold
        bearer = {"Authorization": f"Bearer {other_session}"}
        assert client.get("/protected", headers=bearer).status_code == 200  # cached now

        assert client.post("/auth/signout", headers=flow.csrf()).status_code == 200

        refused = client.get("/protected", headers=bearer)
        assert (refused.status_code, refused.json()["error"]) == (401, "NotAuthorized")

    def test_a_sign_out_holds_while_the_user_cannot_be_looked_up(
        self, moto_pool: MotoPool, make_cognito_client: Callable[..., TestClient],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        client = make_cognito_client(moto_pool, user_check_ttl_seconds=0)
        flow = AuthFlow(client, lambda user: ANY_CODE)
        flow.signed_in_user()
        id_token = client.cookies.get("token")
        provider = client.app.state.services.identity  # type: ignore[attr-defined]
        assert isinstance(provider, CognitoIdentityProvider)

        def throttled(**params: Any) -> Any:
            raise provider.idp_client.exceptions.TooManyRequestsException(
                {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}},
                "AdminGetUser",
            )

        monkeypatch.setattr(provider.idp_client, "admin_get_user", throttled)
        assert client.post("/auth/signout", headers=flow.csrf()).status_code == 200
        # Refused at once, without a lookup (which would still be throttled: 429).
        refused = client.get("/protected", headers={"Authorization": f"Bearer {id_token}"})
        assert (refused.status_code, refused.json()["error"]) == (401, "NotAuthorized")

    def test_signing_straight_back_in_works(
        self, moto_pool: MotoPool, make_cognito_client: Callable[..., TestClient]
    ) -> None:
        client = make_cognito_client(moto_pool, user_check_ttl_seconds=3600)
        flow = AuthFlow(client, lambda user: ANY_CODE)
        user = flow.signed_in_user()
        assert client.post("/auth/signout", headers=flow.csrf()).status_code == 200
        # Very likely within the same second as the sign-out, which `iat` cannot tell apart.
        token = flow.sign_in(user).json()["token"]
        assert client.get("/protected").status_code == 200
        assert client.get(
            "/protected", headers={"Authorization": f"Bearer {token}"}).status_code == 200


class TestAccount:
    def test_change_password(self, provider: CognitoIdentityProvider) -> None:
        tokens = signed_in(provider)
        username = subject(tokens.id_token).username
        with pytest.raises(NotAuthorizedError):
            provider.change_password(caller(tokens), "Wrong-Horse-7-Battery", NEW_PASSWORD)
        provider.change_password(caller(tokens), PASSWORD, NEW_PASSWORD)
        assert isinstance(provider.initiate_auth(username, NEW_PASSWORD), TokenSet)
        with pytest.raises(NotAuthorizedError):
            provider.initiate_auth(username, PASSWORD)

    def test_update_attributes_changes_only_what_differs(
        self, provider: CognitoIdentityProvider
    ) -> None:
        tokens = signed_in(provider)
        username = subject(tokens.id_token).username
        same = UserAttributes(email=f"{username}@example.com")
        assert provider.update_user_attributes(caller(tokens), same) == []
        provider.update_user_attributes(caller(tokens), UserAttributes(email="new@example.com"))
        assert provider.admin_get_user(username).email == "new@example.com"

    def test_totp_enrol_sign_in_and_disable(self, provider: CognitoIdentityProvider) -> None:
        tokens = signed_in(provider)
        username = subject(tokens.id_token).username
        secret = provider.associate_software_token(caller(tokens))
        with pytest.raises(CodeMismatchError):
            provider.verify_software_token(caller(tokens), totp_code(secret, offset_steps=10))
        provider.verify_software_token(caller(tokens), totp_code(secret))
        record = provider.admin_get_user(username)
        assert (record.mfa_enabled, record.preferred_mfa) == (True, "SOFTWARE_TOKEN_MFA")
        with pytest.raises(InvalidParameterError, match="already on"):
            provider.associate_software_token(caller(tokens))

        challenge = provider.initiate_auth(username, PASSWORD)
        assert isinstance(challenge, Challenge)
        assert challenge.name == "SOFTWARE_TOKEN_MFA"
        with pytest.raises(CodeMismatchError):
            provider.respond_to_challenge(
                username, challenge.name, challenge.session,
                {"code": totp_code(secret, offset_steps=10)},
            )
        answered = provider.respond_to_challenge(
            username, challenge.name, challenge.session, {"code": totp_code(secret)})
        assert isinstance(answered, TokenSet)

        with pytest.raises(CodeMismatchError):
            provider.disable_software_token(caller(answered), totp_code(secret, offset_steps=10))
        assert provider.admin_get_user(username).mfa_enabled, "a wrong code changes nothing"
        provider.disable_software_token(caller(answered), totp_code(secret))
        assert not provider.admin_get_user(username).mfa_enabled
        assert isinstance(provider.initiate_auth(username, PASSWORD), TokenSet)

    def test_sms_mfa(
        self, provider: CognitoIdentityProvider, moto_server: MotoServer, moto_pool: MotoPool
    ) -> None:
        tokens = signed_in(provider)
        username = subject(tokens.id_token).username
        with pytest.raises(InvalidParameterError, match="phone number"):
            provider.set_sms_mfa(caller(tokens), True)
        moto_server.idp().admin_update_user_attributes(
            UserPoolId=moto_pool.pool_id, Username=username, UserAttributes=[
                {"Name": "phone_number", "Value": "+15551234567"},
                {"Name": "phone_number_verified", "Value": "true"},
            ])
        provider.set_sms_mfa(caller(tokens), True)
        assert provider.admin_get_user(username).preferred_mfa == "SMS_MFA"
        challenge = provider.initiate_auth(username, PASSWORD)
        assert isinstance(challenge, Challenge)
        assert challenge.name == "SMS_MFA"
        provider.set_sms_mfa(caller(tokens), False)
        assert isinstance(provider.initiate_auth(username, PASSWORD), TokenSet)

    def test_forgot_password_resets_and_ends_sessions(
        self, provider: CognitoIdentityProvider
    ) -> None:
        tokens = signed_in(provider)
        old = subject(tokens.id_token)
        assert provider.check_subject(old)
        delivery = provider.forgot_password(old.username)
        assert (delivery.medium, delivery.destination) == ("EMAIL", f"{old.username[0]}***@e***")

        provider.confirm_forgot_password(old.username, ANY_CODE, NEW_PASSWORD)

        assert isinstance(provider.initiate_auth(old.username, NEW_PASSWORD), TokenSet)
        with pytest.raises(TokenRevokedError, match="signed out"):
            provider.check_subject(old)
        with pytest.raises(NotAuthorizedError):
            provider.refresh(tokens.refresh_token or "", old.username)

    def test_account_operations_need_the_access_token(
        self, provider: CognitoIdentityProvider
    ) -> None:
        tokens = signed_in(provider)
        id_caller = Caller(token=tokens.id_token, subject=subject(tokens.id_token))
        with pytest.raises(NotAuthorizedError, match="access token"):
            provider.associate_software_token(id_caller)


class TestOperators:
    def test_create_then_first_sign_in_sets_a_password(
        self, provider: CognitoIdentityProvider
    ) -> None:
        name = unique_username("op")
        created = provider.admin_create_user(
            name, PASSWORD, UserAttributes(email=f"{name}@example.com"))
        assert (created.status, created.email_verified) == ("FORCE_CHANGE_PASSWORD", True)
        assert name in [user.username for user in provider.admin_list_users()]

        challenge = provider.initiate_auth(name, PASSWORD)
        assert isinstance(challenge, Challenge)
        assert challenge.name == "NEW_PASSWORD_REQUIRED"
        answered = provider.respond_to_challenge(
            name, challenge.name, challenge.session, {"new_password": NEW_PASSWORD})
        assert isinstance(answered, TokenSet)
        assert provider.admin_get_user(name).status == "CONFIRMED"

    def test_confirm_disable_enable_delete(self, provider: CognitoIdentityProvider) -> None:
        name = unique_username("op")
        provider.sign_up(name, PASSWORD, UserAttributes(email=f"{name}@example.com"))
        provider.admin_confirm_sign_up(name)
        record = provider.admin_get_user(name)
        assert (record.status, record.email_verified) == ("CONFIRMED", True)

        provider.admin_set_enabled(name, False)
        with pytest.raises(NotAuthorizedError, match="Incorrect username or password"):
            provider.initiate_auth(name, PASSWORD)
        provider.admin_set_enabled(name, True)
        assert isinstance(provider.initiate_auth(name, PASSWORD), TokenSet)

        provider.admin_delete_user(name)
        with pytest.raises(NotFoundError):
            provider.admin_get_user(name)

    @pytest.mark.parametrize("operation", [
        lambda p, name: p.admin_get_user(name),
        lambda p, name: p.admin_confirm_sign_up(name),
        lambda p, name: p.admin_set_enabled(name, False),
        lambda p, name: p.admin_delete_user(name),
        lambda p, name: p.admin_reset_user_password(name),
    ])
    def test_an_unknown_user_is_not_found(
        self, provider: CognitoIdentityProvider, operation: Callable[..., Any]
    ) -> None:
        with pytest.raises(NotFoundError, match="nobody"):
            operation(provider, "nobody")

    def test_list_pages_through_users(self, provider: CognitoIdentityProvider) -> None:
        for _ in range(3):
            provider.admin_create_user(unique_username("op"), PASSWORD, UserAttributes())
        assert len(provider.admin_list_users(limit=2)) == 2
        assert len(provider.admin_list_users()) == 3
