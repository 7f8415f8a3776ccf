"""Walking a browser through a federated sign-in: the app's redirect, the provider's, back.

Redirects are followed by hand, one hop at a time, so a test sees (and may alter) each one;
the app's client keeps the app's cookies, and the provider is reached over real HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class Hop:
    """The authorize answer, and the provider's answer to the browser that followed it."""

    authorize: httpx.Response
    provider: httpx.Response

    @property
    def provider_params(self) -> dict[str, str]:
        """The authorization request's parameters, as the provider got them."""
        return query_of(self.authorize.headers["location"])

    @property
    def callback_url(self) -> str:
        return self.provider.headers["location"]

    @property
    def callback_params(self) -> dict[str, str]:
        return query_of(self.callback_url)


def query_of(url: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(urlsplit(url).query).items()}


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Each Set-Cookie of a response: its value and attributes, names lower-cased."""
    found: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            attributes = {key: str(value) for key, value in morsel.items() if value}
            # SimpleCookie drops flags it parses as empty; read them from the raw header.
            for flag in ("httponly", "secure"):
                if flag in header.lower():
                    attributes[flag] = "true"
            found[name] = {"value": morsel.value, **attributes}
    return found


def to_provider(app: httpx.Client, provider_name: str, redirect_to: str | None = "/") -> Hop:
    """Ask the app to start a sign-in and let the provider answer (a consenting user)."""
    params = {"redirect_to": redirect_to} if redirect_to is not None else {}
    authorize = app.get(
        f"/auth/oauth/{provider_name}/authorize", params=params, follow_redirects=False
    )
    assert authorize.status_code == 302, authorize.text
    provider = httpx.get(authorize.headers["location"], timeout=5)
    assert provider.status_code == 302, provider.text
    return Hop(authorize, provider)


def callback(app: httpx.Client, url: str) -> httpx.Response:
    """The browser arriving back at the app's callback (absolute or relative URL)."""
    parts = urlsplit(url)
    response = app.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    assert response.status_code == 302, response.text
    return response


def sign_in(app: httpx.Client, provider_name: str, redirect_to: str | None = "/") -> httpx.Response:
    """A whole federated sign-in; the callback's answer."""
    return callback(app, to_provider(app, provider_name, redirect_to).callback_url)


def auth_error(response: httpx.Response) -> tuple[str, str]:
    """(auth_error, message) of a failed callback's redirect to the frontend."""
    location = response.headers["location"]
    assert urlsplit(location).path == "/", location
    params = query_of(location)
    return params.get("auth_error", ""), params.get("message", "")
