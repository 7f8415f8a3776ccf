"""Federated sign-in into the local pool, against a real OIDC provider on loopback.

The app runs in process (TestClient at https://testserver); the provider is a real HTTP
server that the app reaches for discovery, the token request and its keys, and that the
test reaches as the browser does.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.federation.flow import FLOW_COOKIE, FlowSealer
from app.federation.router import get_flow_sealer
from app.main import create_app
from app.settings import Settings
from tests.federation.conftest import PROVIDER
from tests.support.federation import (
    auth_error,
    callback,
    query_of,
    set_cookies,
    sign_in,
    to_provider,
)
from tests.support.jwt import SigningKey
from tests.support.net import free_port
from tests.support.oidc_provider import CLIENT_ID, OidcProvider
from tests.support.outbox import Outbox
from tests.support.users import PASSWORD, AuthFlow

SIGN_IN_COOKIES = {"token", "access_token", "refresh_token", "csrf_token"}


def assert_failed(
    client: TestClient, response: httpx.Response, code: str, *, flow_ended: bool = True
) -> str:
    """A failure: to the frontend with `code` and a message, no sign-in cookie, and the
    flow over (or, for an answer that is not the flow's, left as it was)."""
    assert response.status_code == 302
    error, message = auth_error(response)
    assert error == code, (error, message)
    assert message
    cookies = set_cookies(response)
    assert not SIGN_IN_COOKIES & cookies.keys()
    if flow_ended:
        assert cookies[FLOW_COOKIE]["max-age"] == "0"
    else:
        assert FLOW_COOKIE not in cookies
    assert "token" not in client.cookies
    return message


class TestAuthorize:
    def test_redirects_to_the_provider_with_every_parameter(
        self, client: TestClient, oidc_provider: OidcProvider
    ) -> None:
        hop = to_provider(client, PROVIDER)
        location = hop.authorize.headers["location"]
        assert location.startswith(f"{oidc_provider.url}/authorize?")
        params = hop.provider_params
        assert params.pop("state") and params.pop("nonce")
        challenge = params.pop("code_challenge")
        assert len(challenge) == 43  # base64url of a SHA-256, unpadded
        assert params == {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": "https://testserver/auth/oauth/callback",
            "scope": "openid email profile",
            "code_challenge_method": "S256",
        }
        assert hop.authorize.headers["cache-control"] == "no-store"

    def test_each_flow_has_its_own_secrets(self, client: TestClient) -> None:
        first, second = (to_provider(client, PROVIDER).provider_params for _ in range(2))
        for name in ("state", "nonce", "code_challenge"):
            assert first[name] != second[name]

    def test_public_base_url_names_the_callback(
        self, make_fed_client: Callable[..., TestClient], oidc_provider: OidcProvider
    ) -> None:
        client = make_fed_client(
            local_oidc_providers=[oidc_provider.provider_setting(PROVIDER)],
            public_base_url="https://app.example.com/",
        )
        params = to_provider(client, PROVIDER).provider_params
        assert params["redirect_uri"] == "https://app.example.com/auth/oauth/callback"

    def test_unknown_provider_is_not_found(self, client: TestClient) -> None:
        response = client.get("/auth/oauth/nobody/authorize", follow_redirects=False)
        assert response.status_code == 404
        assert response.json()["error"] == "NotFound"
        assert FLOW_COOKIE not in set_cookies(response)

    def test_the_flow_cookie(self, client: TestClient, oidc_provider: OidcProvider) -> None:
        hop = to_provider(client, PROVIDER)
        cookie = set_cookies(hop.authorize)[FLOW_COOKIE]
        assert cookie["httponly"] == cookie["secure"] == "true"
        assert cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/auth/oauth"
        assert 0 < int(cookie["max-age"]) <= 600
        assert "domain" not in cookie
        callback(client, hop.callback_url)
        verifier = oidc_provider.token_requests[-1]["form"]["code_verifier"]
        params = hop.provider_params
        value = cookie["value"]
        body = value.partition(".")[2]
        opened = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        for secret in (verifier, params["state"], params["nonce"], "redirect_to", PROVIDER):
            assert secret not in value
            assert secret.encode() not in opened

    def test_behind_a_stage_prefix(
        self, app: FastAPI, oidc_provider: OidcProvider
    ) -> None:
        # API Gateway's stage is in the browser's URL, not in the path the app receives.
        with TestClient(app, base_url="https://testserver", root_path="/prod") as client:
            authorize = client.get(
                "/auth/oauth/test/authorize", params={"redirect_to": "/here"},
                follow_redirects=False,
            )
            assert set_cookies(authorize)[FLOW_COOKIE]["path"] == "/prod/auth/oauth"
            params = query_of(authorize.headers["location"])
            assert params["redirect_uri"] == "https://testserver/prod/auth/oauth/callback"


class TestSignIn:
    def test_signs_in_as_a_password_sign_in_does(
        self, client: TestClient, settings: Settings, oidc_provider: OidcProvider
    ) -> None:
        response = sign_in(client, PROVIDER, "/")
        assert response.headers["location"] == "/"
        assert response.headers["cache-control"] == "no-store"
        federated = set_cookies(response)
        assert federated[FLOW_COOKIE]["max-age"] == "0"
        me = client.get("/auth/current_user").json()
        assert me["username"] == f"{PROVIDER}_{oidc_provider.sub}"
        assert (me["email"], me["email_verified"]) == ("person@example.com", True)
        protected = client.get("/protected")
        assert protected.status_code == 200
        assert protected.json()["username"] == me["username"]

        # The same cookies, with the same attributes, as a password sign-in sets.
        flow = AuthFlow(client, Outbox(settings.resolved_outbox_dir))
        password = set_cookies(flow.sign_in(flow.confirmed_user()))
        assert federated.keys() >= SIGN_IN_COOKIES
        for name in SIGN_IN_COOKIES:
            shape = {key: value for key, value in federated[name].items() if key != "value"}
            assert shape == {k: v for k, v in password[name].items() if k != "value"}, name

    def test_a_second_sign_in_is_the_same_user(
        self, client: TestClient, app: FastAPI
    ) -> None:
        sign_in(client, PROVIDER)
        first = client.get("/auth/current_user").json()
        client.cookies.clear()
        sign_in(client, PROVIDER)
        second = client.get("/auth/current_user").json()
        assert (second["sub"], second["username"]) == (first["sub"], first["username"])
        users = app.state.services.identity.admin_list_users()
        assert [u.username for u in users].count(first["username"]) == 1

    @pytest.mark.parametrize("taken", ["{provider}_{sub}", "{PROVIDER}_{sub}", "{provider}_x"])
    def test_the_providers_usernames_cannot_be_taken_by_a_sign_up(
        self, client: TestClient, oidc_provider: OidcProvider, taken: str
    ) -> None:
        """`<provider>_<sub>` is the name federated sign-in gives its user: a password
        sign-up taking it first would lock that person out."""
        username = taken.format(provider=PROVIDER, PROVIDER=PROVIDER.upper(),
                                sub=oidc_provider.sub)
        refused = client.post("/auth/signup", json={
            "username": username, "password": PASSWORD, "email": "squatter@example.com"})
        assert (refused.status_code, refused.json()["error"]) == (400, "InvalidParameter")
        assert sign_in(client, PROVIDER).headers["location"] == "/"
        assert client.get("/auth/current_user").json()["username"] == (
            f"{PROVIDER}_{oidc_provider.sub}")

    @pytest.mark.parametrize(("path", "body"), [
        ("/auth/mfa/totp/setup", None), ("/auth/mfa/sms", {"enabled": True})])
    def test_mfa_cannot_be_turned_on_for_a_federated_user(
        self, client: TestClient, path: str, body: dict[str, bool] | None
    ) -> None:
        """Federated sign-in never asks for this pool's MFA: it may not claim to be on."""
        sign_in(client, PROVIDER)
        refused = client.post(path, json=body,
                              headers={"X-CSRF-Token": client.cookies["csrf_token"]})
        assert (refused.status_code, refused.json()["error"]) == (400, "InvalidParameter")
        assert "identity provider" in refused.json()["message"]
        assert client.get("/auth/current_user").json()["mfa_enabled"] is False

    def test_lands_on_redirect_to(self, client: TestClient) -> None:
        response = sign_in(client, PROVIDER, "/account?tab=keys")
        assert response.headers["location"] == "/account?tab=keys"

    def test_an_email_the_provider_does_not_verify(
        self, client: TestClient, settings: Settings, oidc_provider: OidcProvider
    ) -> None:
        oidc_provider.email = "unverified@example.com"
        oidc_provider.email_verified = False
        sign_in(client, PROVIDER)
        me = client.get("/auth/current_user").json()
        assert (me["email"], me["email_verified"]) == ("unverified@example.com", False)
        # Not a sign-in alias: the address is still free for a password user to confirm.
        client.cookies.clear()
        signup = client.post("/auth/signup", json={
            "username": "owner", "password": PASSWORD, "email": "unverified@example.com",
        })
        assert signup.status_code == 201
        code = Outbox(settings.resolved_outbox_dir).latest_code("unverified@example.com")
        confirmed = client.post(
            "/auth/confirm_signup", json={"username": "owner", "code": code}
        )
        assert confirmed.status_code == 200, confirmed.text

    def test_an_email_mail_software_would_misread_is_not_kept(
        self, client: TestClient, oidc_provider: OidcProvider
    ) -> None:
        oidc_provider.email = "someone<victim@example.com"  # smtplib mails victim@...
        sign_in(client, PROVIDER)
        me = client.get("/auth/current_user").json()
        assert (me["email"], me["email_verified"]) == (None, False)

    @pytest.mark.parametrize(
        ("secret", "methods", "expected"),
        [
            ("s3cret", ("client_secret_basic", "client_secret_post"), "basic"),
            ("s3cret", ("client_secret_post",), "post"),
            (None, ("none",), "public"),
        ],
    )
    def test_client_authentication_follows_discovery(
        self, make_fed_client: Callable[..., TestClient],
        secret: str | None, methods: tuple[str, ...], expected: str,
    ) -> None:
        provider = OidcProvider(client_secret=secret, auth_methods=methods).start()
        try:
            client = make_fed_client(local_oidc_providers=[provider.provider_setting("idp")])
            sign_in(client, "idp")
            assert client.get("/protected").status_code == 200
            request = provider.token_requests[-1]
            assert request["basic"] is (expected == "basic")
            assert ("client_secret" in request["form"]) is (expected == "post")
        finally:
            provider.stop()

    def test_discovery_is_cached(self, client: TestClient, oidc_provider: OidcProvider) -> None:
        for _ in range(3):
            sign_in(client, PROVIDER)
        assert oidc_provider.discovery_requests == 1


OPEN_REDIRECTS = [
    "redirect_to=//evil.example",
    "redirect_to=https://evil.example/",
    "redirect_to=/%5Cevil.example",  # "/\evil.example"
    "redirect_to=%5C%5Cevil.example",  # "\\evil.example"
    "redirect_to=%2F%2Fevil.example",  # "//evil.example" once decoded
    "redirect_to=/%252F%252Fevil.example",  # "//evil.example" once decoded twice
    "redirect_to=javascript:alert(1)",
    "redirect_to=/ok%0d%0aSet-Cookie:x=1",
    "redirect_to=evil.example",
]


@pytest.mark.parametrize("query", OPEN_REDIRECTS)
def test_open_redirects_land_on_the_root(client: TestClient, query: str) -> None:
    authorize = client.get(f"/auth/oauth/test/authorize?{query}", follow_redirects=False)
    assert authorize.status_code == 302
    back = httpx.get(authorize.headers["location"], timeout=5)
    assert callback(client, back.headers["location"]).headers["location"] == "/"


class TestFailures:
    @pytest.mark.parametrize("forged", [
        "?code=stolen&state=forged-state", "?code=stolen", "?error=access_denied",
        "?error=access_denied&state=forged-state",
    ])
    def test_an_answer_that_is_not_the_flows_leaves_it_alone(
        self, client: TestClient, forged: str
    ) -> None:
        """A link to the callback (a forged state, or none) is refused, and cannot end
        or cancel the sign-in this browser has in progress."""
        hop = to_provider(client, PROVIDER)
        response = callback(client, "/auth/oauth/callback" + forged)
        assert_failed(client, response, "NotAuthorized", flow_ended=False)
        assert callback(client, hop.callback_url).headers["location"] == "/"
        assert "token" in client.cookies

    def test_no_code(self, client: TestClient) -> None:
        hop = to_provider(client, PROVIDER)
        state = hop.callback_params["state"]
        response = callback(client, f"/auth/oauth/callback?state={state}")
        assert_failed(client, response, "InvalidParameter")

    def test_no_flow_cookie(self, client: TestClient) -> None:
        hop = to_provider(client, PROVIDER)
        client.cookies.clear()
        assert_failed(client, callback(client, hop.callback_url), "ExpiredCode")

    def test_a_tampered_flow_cookie(self, client: TestClient) -> None:
        hop = to_provider(client, PROVIDER)
        value = set_cookies(hop.authorize)[FLOW_COOKIE]["value"]
        flipped = value[:-6] + ("A" if value[-6] != "A" else "B") + value[-5:]
        client.cookies.set(FLOW_COOKIE, flipped, path="/auth/oauth")
        assert_failed(client, callback(client, hop.callback_url), "NotAuthorized")

    def test_an_expired_flow(self, client: TestClient, app: FastAPI) -> None:
        now = [time.time()]
        sealer = FlowSealer(bytes(range(32)), clock=lambda: now[0])
        app.dependency_overrides[get_flow_sealer] = lambda: sealer
        hop = to_provider(client, PROVIDER)
        now[0] += 601
        assert_failed(client, callback(client, hop.callback_url), "ExpiredCode")

    def test_a_replayed_code(self, client: TestClient, oidc_provider: OidcProvider) -> None:
        first = to_provider(client, PROVIDER)
        callback(client, first.callback_url)
        client.cookies.clear()
        # The code again, with a fresh flow whose state the attacker lets the browser carry.
        second = to_provider(client, PROVIDER)
        replay = first.callback_url.replace(
            first.callback_params["state"], second.callback_params["state"]
        )
        assert_failed(client, callback(client, replay), "NotAuthorized")
        assert oidc_provider.refusals[-1] == "code already used"

    def test_a_pkce_mismatch(self, client: TestClient, oidc_provider: OidcProvider) -> None:
        # A code stolen from one flow, redeemed by another flow's verifier.
        stolen = to_provider(client, PROVIDER)
        other = to_provider(client, PROVIDER)
        response = callback(client, stolen.callback_url.replace(
            stolen.callback_params["state"], other.callback_params["state"]
        ))
        assert_failed(client, response, "NotAuthorized")
        assert oidc_provider.refusals[-1] == "PKCE verifier mismatch"

    @pytest.mark.parametrize(
        "claims",
        [
            {"nonce": "another-flows-nonce"},
            {"iss": "https://evil.example"},
            {"aud": "another-client"},
            {"aud": [CLIENT_ID, "another-client"]},
            {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
            {"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"},
            # sub becomes part of a username that terminals and messages show.
            {"sub": "z\n{\"level\": \"error\", \"msg\": \"FORGED\"}"},
            {"sub": "a\u0000b"},
            {"sub": "x" * 256},
            {"sub": ""},
            {"sub": 12345},
        ],
        ids=["nonce", "iss", "aud", "aud-without-azp", "expired", "at_hash", "sub-newline",
             "sub-nul", "sub-too-long", "sub-empty", "sub-number"],
    )
    def test_a_bad_id_token(
        self, client: TestClient, oidc_provider: OidcProvider, claims: dict[str, object]
    ) -> None:
        oidc_provider.behaviour.claims = claims
        assert_failed(client, sign_in(client, PROVIDER), "NotAuthorized")

    @pytest.mark.parametrize("same_kid", [True, False], ids=["forged-signature", "unknown-kid"])
    def test_a_bad_signature(
        self, client: TestClient, oidc_provider: OidcProvider, same_kid: bool
    ) -> None:
        oidc_provider.behaviour.signing_key = SigningKey(
            kid=oidc_provider.key.kid if same_kid else None
        )
        assert_failed(client, sign_in(client, PROVIDER), "NotAuthorized")

    @pytest.mark.parametrize(
        ("error", "code"),
        [
            ("access_denied", "NotAuthorized"),
            ("temporarily_unavailable", "ServiceUnavailable"),
            ("invalid_scope", "InvalidParameter"),
        ],
    )
    def test_the_providers_error(
        self, client: TestClient, oidc_provider: OidcProvider, error: str, code: str
    ) -> None:
        oidc_provider.behaviour.error = error
        hop = to_provider(client, PROVIDER)
        assert "code" not in hop.callback_params
        assert_failed(client, callback(client, hop.callback_url), code)

    def test_an_error_parameter_is_not_echoed(self, client: TestClient) -> None:
        state = to_provider(client, PROVIDER).callback_params["state"]
        response = callback(client, f"/auth/oauth/callback?state={state}"
                                    "&error=%3Cscript%3Ealert(1)")
        message = assert_failed(client, response, "InvalidParameter")
        assert "<" not in message and "script" not in message

    def test_a_failing_token_endpoint(
        self, client: TestClient, oidc_provider: OidcProvider
    ) -> None:
        oidc_provider.behaviour.token_status = 502
        assert_failed(client, sign_in(client, PROVIDER), "ServiceUnavailable")

    def test_keys_that_cannot_be_fetched(
        self, client: TestClient, oidc_provider: OidcProvider
    ) -> None:
        """The provider's JWKS is down: it is unavailable, not the person's sign-in wrong."""
        oidc_provider.behaviour.jwks_status = 503
        assert_failed(client, sign_in(client, PROVIDER), "ServiceUnavailable")

    def test_a_provider_gone_before_the_callback(
        self, client: TestClient, oidc_provider: OidcProvider
    ) -> None:
        hop = to_provider(client, PROVIDER)
        oidc_provider.stop()
        started = time.monotonic()
        response = callback(client, hop.callback_url)
        assert time.monotonic() - started < 3
        assert_failed(client, response, "ServiceUnavailable")

    def test_a_provider_that_cannot_be_reached(
        self, make_fed_client: Callable[..., TestClient]
    ) -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        client = make_fed_client(local_oidc_providers=[
            {"name": "dead", "issuer": dead, "client_id": "x"}
        ])
        started = time.monotonic()
        response = client.get("/auth/oauth/dead/authorize", follow_redirects=False)
        assert time.monotonic() - started < 3
        assert response.status_code == 302
        assert auth_error(response)[0] == "ServiceUnavailable"
        assert set_cookies(response)[FLOW_COOKIE]["max-age"] == "0"

    @pytest.mark.parametrize("answer", ["trickle", "flood"])
    def test_a_provider_that_trickles_or_floods_its_answer(
        self, make_fed_client: Callable[..., TestClient], answer: str
    ) -> None:
        """Each read within the timeout, or a body without end: given up on as a whole."""
        with SlowProvider(trickle=answer == "trickle") as provider:
            client = make_fed_client(oidc_timeout_seconds=1, local_oidc_providers=[
                {"name": "slow", "issuer": provider.url, "client_id": "x"}])
            started = time.monotonic()
            response = client.get("/auth/oauth/slow/authorize", follow_redirects=False)
            elapsed = time.monotonic() - started
        assert response.status_code == 302
        assert auth_error(response)[0] == "ServiceUnavailable"
        assert elapsed < 10, "the whole answer is bounded, not each read"

    def test_logs_hold_no_code_state_or_token(
        self, client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level("DEBUG")
        hop = to_provider(client, PROVIDER)
        callback(client, hop.callback_url)
        replayed = callback(client, hop.callback_url)  # refused: the flow is over
        assert auth_error(replayed)[0] == "ExpiredCode"
        text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
        assert "federated sign-in failed" in text
        for secret in (hop.callback_params["code"], hop.callback_params["state"],
                       hop.provider_params["nonce"]):
            assert secret not in text


class TestFlowKey:
    """Which processes can finish a flow another started: those sharing the key."""

    def _clients(
        self, make_settings: Callable[..., Settings], provider: OidcProvider,
        tmp_path: Path, **overrides: object,
    ) -> tuple[TestClient, TestClient]:
        made = []
        for name in ("a", "b"):
            settings = make_settings(
                local_pool_dir=tmp_path / name,
                local_oidc_providers=[provider.provider_setting(PROVIDER)], **overrides,
            )
            made.append(TestClient(create_app(settings), base_url="https://testserver"))
        return made[0], made[1]

    def test_session_secret_is_shared(
        self, make_settings: Callable[..., Settings], oidc_provider: OidcProvider,
        tmp_path: Path,
    ) -> None:
        first, second = self._clients(
            make_settings, oidc_provider, tmp_path, session_secret="s" * 32
        )
        hop = to_provider(first, PROVIDER)
        second.cookies = first.cookies
        assert callback(second, hop.callback_url).headers["location"] == "/"

    def test_without_it_each_pool_has_its_own(
        self, make_settings: Callable[..., Settings], oidc_provider: OidcProvider,
        tmp_path: Path,
    ) -> None:
        first, second = self._clients(make_settings, oidc_provider, tmp_path)
        hop = to_provider(first, PROVIDER)
        second.cookies = first.cookies
        assert_failed(second, callback(second, hop.callback_url), "NotAuthorized")


class SlowProvider:
    """Answers every request with a body that does not end for 15 s: a byte every 0.2 s
    (trickle), or 64 KiB chunks as fast as they go (flood)."""

    def __init__(self, *, trickle: bool) -> None:
        self.trickle = trickle
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 100000000\r\n\r\n{")
                # Not for ever: if the app waited for it all, the test fails rather than hangs.
                give_up = time.monotonic() + 15
                while not self._stopped.is_set() and time.monotonic() < give_up:
                    connection.sendall(b" " if self.trickle else b" " * 65536)
                    if self.trickle:
                        time.sleep(0.2)
            except OSError:
                return

    def __enter__(self) -> SlowProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._socket.close()
