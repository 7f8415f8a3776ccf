"""The whole federated sign-in against the real server process (uvicorn) over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.federation.conftest import PROVIDER
from tests.support.federation import set_cookies, sign_in
from tests.support.oidc_provider import OidcProvider
from tests.support.server import LiveServer


def test_sign_in_through_the_real_server(
    start_server: Callable[..., LiveServer], oidc_provider: OidcProvider
) -> None:
    # Plain http on loopback: the cookie jar keeps Secure cookies for https only.
    server = start_server(
        LOCAL_OIDC_PROVIDERS=oidc_provider.setting_json(PROVIDER), COOKIE_SECURE="false"
    )
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        response = sign_in(browser, PROVIDER, "/welcome")
        assert response.headers["location"] == "/welcome"
        assert {"token", "access_token", "refresh_token", "csrf_token"} <= set_cookies(
            response
        ).keys()
        grant = oidc_provider.last_grant
        assert grant is not None
        assert grant.redirect_uri == f"{server.url}/auth/oauth/callback"
        me = browser.get("/auth/current_user").json()
        assert me["username"] == f"{PROVIDER}_{oidc_provider.sub}"
        protected = browser.get("/protected")
        assert protected.status_code == 200
        assert protected.json()["username"] == me["username"]

        browser.cookies.clear()
        sign_in(browser, PROVIDER)
        assert browser.get("/auth/current_user").json()["sub"] == me["sub"]

    logs = server.logs()
    assert "user signed in" in logs
    for secret in (grant.state, grant.nonce, grant.code_challenge):
        assert secret not in logs
