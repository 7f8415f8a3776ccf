"""Account security (SPEC §2, §6) on every backend: reset, change, attributes, MFA, CSRF."""

from __future__ import annotations

import base64
import time

import pytest
from fastapi.testclient import TestClient

from tests.contract.conftest import Backend
from tests.support.moto import totp_code
from tests.support.users import PASSWORD, AuthFlow, TestUser, unique_username

NEW_PASSWORD = "Another-Horse-8-Staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: TestClient, user: TestUser, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/auth/signin", json={"username": user.username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


class TotpDevice:
    """An authenticator app: a fresh, unused code each time it is asked.

    The local pool accepts the previous, current and next time step and each code once, so
    successive codes walk through that window; moto checks the current step only, and
    does not refuse a code used before.
    """

    def __init__(self, backend: Backend, secret: str) -> None:
        self.secret = secret
        self.steps = iter((-1, 0, 1)) if "totp_window" in backend.capabilities else None

    def code(self) -> str:
        return totp_code(self.secret, offset_steps=next(self.steps) if self.steps else 0)


def enrol_totp(backend: Backend, user_flow: AuthFlow) -> tuple[TestUser, TotpDevice]:
    user = user_flow.signed_in_user()
    setup = backend.client.post("/auth/mfa/totp/setup", headers=user_flow.csrf())
    assert setup.status_code == 200, setup.text
    device = TotpDevice(backend, setup.json()["secret"])
    verified = backend.client.post("/auth/mfa/totp/verify", json={"code": device.code()},
                                   headers=user_flow.csrf())
    assert verified.json() == {"mfa_enabled": True}, verified.text
    return user, device


class TestForgotPassword:
    def test_unknown_users_get_the_same_answer(self, backend: Backend) -> None:
        response = backend.client.post("/auth/forgot_password",
                                       json={"username": unique_username("ghost")})
        assert response.status_code == 200
        assert set(response.json()["delivery"]) == {"medium", "destination", "attribute"}

    def test_a_reset_sets_the_password_and_ends_every_session(
        self, backend: Backend, user_flow: AuthFlow
    ) -> None:
        user = user_flow.confirmed_user()
        token = sign_in(backend.client, user)["token"]
        assert backend.client.get("/protected", headers=bearer(token)).status_code == 200

        sent = backend.client.post("/auth/forgot_password", json={"username": user.username})
        assert sent.json()["delivery"]["medium"] == "EMAIL"
        reset = backend.client.post("/auth/confirm_forgot_password", json={
            "username": user.username, "code": backend.reset_code(user), "password": NEW_PASSWORD})
        assert reset.json() == {"message": "Password has been reset"}

        assert backend.client.get("/protected", headers=bearer(token)).status_code == 401
        old = backend.client.post("/auth/signin",
                                  json={"username": user.username, "password": PASSWORD})
        assert old.status_code == 401
        sign_in(backend.client, user, NEW_PASSWORD)

    def test_an_unknown_user_gets_the_wrong_code_answer(self, backend: Backend) -> None:
        answer = backend.client.post("/auth/confirm_forgot_password", json={
            "username": unique_username("nobody"), "code": "123456", "password": NEW_PASSWORD})
        assert (answer.status_code, answer.json()["error"]) == (400, "CodeMismatch")

    def test_wrong_replayed_and_refused(self, backend: Backend, user_flow: AuthFlow) -> None:
        backend.requires("checks_codes")
        user = user_flow.confirmed_user()
        backend.client.post("/auth/forgot_password", json={"username": user.username})
        code = backend.reset_code(user)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"

        def reset(code: str, password: str = NEW_PASSWORD) -> tuple[int, str]:
            answer = backend.client.post("/auth/confirm_forgot_password", json={
                "username": user.username, "code": code, "password": password})
            return answer.status_code, answer.json().get("error", "")

        assert reset(wrong) == (400, "CodeMismatch")
        # A refused new password does not use the code up.
        assert reset(code, "weak") == (400, "InvalidPassword")
        assert reset(code, "P@ssw0rd") == (400, "InvalidPassword")  # a breached password
        assert reset(code) == (200, "")
        assert reset(code) == (400, "CodeMismatch")  # replayed


class TestChangePassword:
    def test_change_needs_the_old_password_and_ends_other_sessions(
        self, backend: Backend, user_flow: AuthFlow
    ) -> None:
        user = user_flow.signed_in_user()
        other = sign_in(backend.client, user)["token"]  # another session, the latest cookies
        assert backend.client.get("/protected", headers=bearer(other)).status_code == 200
        sign_in(backend.client, user)  # this session: the cookies the change is made with

        wrong = backend.client.post("/auth/change_password", headers=user_flow.csrf(), json={
            "old_password": "Wrong-Horse-1", "new_password": NEW_PASSWORD})
        assert (wrong.status_code, wrong.json()["error"]) == (401, "NotAuthorized")
        changed = backend.client.post("/auth/change_password", headers=user_flow.csrf(), json={
            "old_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert changed.status_code == 200, changed.text
        assert backend.client.get("/protected").status_code == 200, "this session goes on"
        if "ends_other_sessions" in backend.capabilities:
            assert backend.client.get("/protected", headers=bearer(other)).status_code == 401
        sign_in(backend.client, user, NEW_PASSWORD)

    def test_a_breached_password_is_refused(self, backend: Backend, user_flow: AuthFlow) -> None:
        backend.requires("breached_list")
        user_flow.signed_in_user()
        answer = backend.client.post("/auth/change_password", headers=user_flow.csrf(), json={
            "old_password": PASSWORD, "new_password": "P@ssw0rd"})
        assert (answer.status_code, answer.json()["error"]) == (400, "InvalidPassword")


class TestAttributes:
    def test_a_changed_email_is_unverified_until_confirmed(
        self, backend: Backend, user_flow: AuthFlow
    ) -> None:
        backend.requires("attribute_codes")
        user = user_flow.signed_in_user()
        new_email = f"new-{user.email}"
        updated = backend.client.post("/auth/update_attributes", headers=user_flow.csrf(),
                                      json={"email": new_email})
        assert updated.json()["deliveries"][0]["attribute"] == "email"
        me = backend.client.get("/auth/current_user").json()
        assert (me["email"], me["email_verified"]) == (new_email, False)
        # An unverified email is no sign-in alias.
        refused = backend.client.post("/auth/signin",
                                      json={"username": new_email, "password": PASSWORD})
        assert refused.status_code == 401

        code = backend.confirmation_code(TestUser(user.username, new_email))
        confirmed = backend.client.post("/auth/confirm_attribute", headers=user_flow.csrf(),
                                        json={"attribute": "email", "code": code})
        assert confirmed.status_code == 200, confirmed.text
        assert backend.client.get("/auth/current_user").json()["email_verified"] is True
        sign_in(backend.client, TestUser(new_email, new_email))

    def test_a_phone_is_verified_by_sms(self, backend: Backend, user_flow: AuthFlow) -> None:
        backend.requires("attribute_codes")
        user_flow.signed_in_user()
        backend.client.post("/auth/update_attributes", headers=user_flow.csrf(),
                            json={"phone_number": "+15555550123"})
        sent = backend.client.post("/auth/verify_attribute", headers=user_flow.csrf(),
                                   json={"attribute": "phone_number"})
        assert sent.json()["delivery"] == {
            "medium": "SMS", "destination": "+*******0123", "attribute": "phone_number"}
        code = backend.sms_code("+15555550123")
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        mismatch = backend.client.post("/auth/confirm_attribute", headers=user_flow.csrf(),
                                       json={"attribute": "phone_number", "code": wrong})
        assert mismatch.json()["error"] == "CodeMismatch"
        backend.client.post("/auth/confirm_attribute", headers=user_flow.csrf(),
                            json={"attribute": "phone_number", "code": code})
        assert backend.client.get("/auth/current_user").json()["phone_number_verified"] is True


class TestTotp:
    def test_enrol_then_sign_in_through_the_challenge(
        self, backend: Backend, user_flow: AuthFlow
    ) -> None:
        user, device = enrol_totp(backend, user_flow)
        assert backend.client.get("/auth/current_user").json()["mfa_enabled"] is True

        challenged = backend.client.post(
            "/auth/signin", json={"username": user.username, "password": PASSWORD})
        body = challenged.json()
        assert set(body) == {"challenge", "session"}, "the contract's challenge shape"
        assert body["challenge"] == "SOFTWARE_TOKEN_MFA" and body["session"]
        assert "set-cookie" not in challenged.headers

        answered = backend.client.post("/auth/signin/challenge", json={
            "username": user.username, "session": body["session"],
            "challenge": "SOFTWARE_TOKEN_MFA", "code": device.code()})
        assert answered.status_code == 200, answered.text
        assert answered.json()["message"] == "Auth successful"

        off = backend.client.post("/auth/mfa/disable", headers=user_flow.csrf(),
                                  json={"code": device.code()})
        assert off.json() == {"mfa_enabled": False}
        assert "token" in sign_in(backend.client, user)

    def test_the_setup_answer(self, backend: Backend, user_flow: AuthFlow) -> None:
        user = user_flow.signed_in_user()
        setup = backend.client.post("/auth/mfa/totp/setup", headers=user_flow.csrf()).json()
        secret = setup["secret"]
        if "totp_window" in backend.capabilities:  # moto's secret is shorter than Cognito's
            assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) * 8 >= 160
        assert setup["otpauth_uri"].startswith("otpauth://totp/")
        assert f"secret={secret}" in setup["otpauth_uri"] and user.username in setup["otpauth_uri"]
        assert setup["qr_svg"].startswith("data:image/svg+xml")

    def test_neighbouring_steps_and_no_replay(self, backend: Backend, user_flow: AuthFlow) -> None:
        backend.requires("totp_window")
        user = user_flow.signed_in_user()
        secret = backend.client.post("/auth/mfa/totp/setup",
                                     headers=user_flow.csrf()).json()["secret"]
        far = backend.client.post("/auth/mfa/totp/verify", headers=user_flow.csrf(),
                                  json={"code": totp_code(secret, offset_steps=3)})
        assert far.json()["error"] == "CodeMismatch"
        previous = totp_code(secret, offset_steps=-1)
        assert backend.client.post("/auth/mfa/totp/verify", headers=user_flow.csrf(),
                                   json={"code": previous}).status_code == 200

        def challenge() -> str:
            answer = backend.client.post(
                "/auth/signin", json={"username": user.username, "password": PASSWORD})
            return str(answer.json()["session"])

        def answer(session: str, code: str) -> int:
            return backend.client.post("/auth/signin/challenge", json={
                "username": user.username, "session": session,
                "challenge": "SOFTWARE_TOKEN_MFA", "code": code}).status_code

        session = challenge()
        assert answer(session, previous) == 400, "a code works once"
        following = totp_code(secret, offset_steps=1)
        assert answer(session, following) == 200
        assert answer(challenge(), following) == 400, "and never twice"

    def test_a_session_is_bound_to_its_user(self, backend: Backend, user_flow: AuthFlow) -> None:
        backend.requires("binds_sessions")  # Cognito does; moto does not (see the Stubber test)
        user, device = enrol_totp(backend, user_flow)
        other = user_flow.confirmed_user()
        session = backend.client.post("/auth/signin", json={
            "username": user.username, "password": PASSWORD}).json()["session"]
        stolen = backend.client.post("/auth/signin/challenge", json={
            "username": other.username, "session": session, "challenge": "SOFTWARE_TOKEN_MFA",
            "code": device.code()})
        outcome = (stolen.status_code, stolen.json().get("error"))
        assert outcome == (401, "NotAuthorized"), stolen.text


@pytest.mark.parametrize("enabled", [0, "off", "false", None])
def test_sms_mfa_is_switched_by_a_json_boolean_only(
    backend: Backend, user_flow: AuthFlow, enabled: object
) -> None:
    user_flow.signed_in_user()
    refused = backend.client.post("/auth/mfa/sms", headers=user_flow.csrf(),
                                  json={"enabled": enabled})
    assert (refused.status_code, refused.json()["error"]) == (422, "ValidationError")
    switched = backend.client.post("/auth/mfa/sms", headers=user_flow.csrf(),
                                   json={"enabled": False})
    assert switched.json() == {"mfa_enabled": False}, switched.text


WRITES = [
    ("/auth/change_password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}),
    ("/auth/update_attributes", {"email": "csrf@example.com"}),
    ("/auth/verify_attribute", {"attribute": "email"}),
    ("/auth/confirm_attribute", {"attribute": "email", "code": "123456"}),
    ("/auth/mfa/totp/setup", None),
    ("/auth/mfa/totp/verify", {"code": "123456"}),
    ("/auth/mfa/disable", {"code": "123456"}),
    ("/auth/mfa/sms", {"enabled": False}),
    ("/auth/refresh", None),
    ("/auth/signout", None),
]


@pytest.mark.parametrize(("path", "body"), WRITES, ids=[path for path, _ in WRITES])
def test_every_cookie_write_needs_the_csrf_header(
    backend: Backend, user_flow: AuthFlow, path: str, body: dict[str, object] | None
) -> None:
    user_flow.signed_in_user()
    refused = backend.client.post(path, json=body) if body else backend.client.post(path)
    assert (refused.status_code, refused.json()["error"]) == (403, "CsrfFailed")
    assert backend.client.get("/protected").status_code == 200, "nothing was changed"


def test_totp_codes_do_not_wait_for_tests() -> None:
    """The device walks the window instead of sleeping: a sanity check of the helper."""
    started = time.monotonic()
    device_codes = {totp_code("JBSWY3DPEHPK3PXP", offset_steps=s) for s in (-1, 0, 1)}
    assert len(device_codes) == 3 and time.monotonic() - started < 5
