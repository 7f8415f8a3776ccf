"""A real OAuth 2.0 / OpenID Connect server on loopback, for federated sign-in tests.

`OAuthServer` plays the provider's side of an authorization-code flow with PKCE: its
`/authorize` acts as a user who consents at once (it redirects straight back with a code
and the state, or with the error it is told to give), its token endpoint checks what a
strict provider checks (client authentication, redirect_uri, the PKCE verifier against the
challenge, single-use codes) and records why it refused, and it serves its JWKS. What the
tokens say is up to `mint`: `tests.support.oidc_provider` mints a generic provider's,
`tests.support.cognito_domain` Cognito's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from jose.utils import calculate_at_hash

from tests.support.jwt import SigningKey


@dataclass(frozen=True)
class Grant:
    """What an authorization request asked for, kept with the code it got."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str
    params: dict[str, str]


@dataclass
class Behaviour:
    """What the user and the provider do next; a test sets what it needs."""

    error: str | None = None  # /authorize answers with this error instead of a code
    token_status: int | None = None  # the token endpoint fails with this status
    claims: dict[str, Any] = field(default_factory=dict)  # merged into the ID token's
    drop_claims: tuple[str, ...] = ()  # removed from the ID token
    signing_key: SigningKey | None = None  # sign the ID token with another key
    jwks_status: int | None = None  # the JWKS endpoint fails with this status


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def at_hash(access_token: str) -> str:
    return str(calculate_at_hash(access_token, hashlib.sha256))


# The ID token's claims for a grant, and the access token they come with.
Mint = Callable[["OAuthServer", Grant], tuple[dict[str, Any], str]]


class OAuthServer:
    """The server; `url` is its base URL (and a generic provider's issuer).

    Args:
        mint: the ID token's claims and the access token for a grant.
        client_id, client_secret: the one client it knows (no secret: a public client).
        auth_methods: token endpoint client authentication it accepts.
        authorize_path, token_path, jwks_path: where its endpoints are.
    """

    def __init__(
        self, mint: Mint, *, client_id: str, client_secret: str | None,
        auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post"),
        authorize_path: str = "/authorize", token_path: str = "/token",
        jwks_path: str = "/jwks",
    ) -> None:
        self.mint = mint
        self.client_id = client_id
        self.client_secret = client_secret
        self.auth_methods = auth_methods
        self.authorize_path = authorize_path
        self.token_path = token_path
        self.jwks_path = jwks_path
        self.key = SigningKey()
        self.behaviour = Behaviour()
        self.grants: dict[str, Grant] = {}
        self.used_codes: set[str] = set()
        self.refusals: list[str] = []  # why each refused token request was refused
        self.token_requests: list[dict[str, Any]] = []
        self.last_grant: Grant | None = None
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> OAuthServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        # A short poll: shutdown() waits for it, once per test.
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    # ------------------------------------------------------------------ endpoints

    def routes(self) -> dict[str, Callable[[dict[str, str], dict[str, str]], Answer]]:
        return {
            self.authorize_path: self._authorize,
            self.token_path: self._token,
            self.jwks_path: self._jwks,
        }

    def _jwks(self, query: dict[str, str], headers: dict[str, str]) -> Answer:
        if self.behaviour.jwks_status is not None:
            return Answer.json({"message": "unavailable"}, self.behaviour.jwks_status)
        return Answer.json(self.key.jwks)

    def _authorize(self, query: dict[str, str], headers: dict[str, str]) -> Answer:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return Answer.json({"error": "invalid_request"}, 400)
        back: dict[str, str] = {"state": query.get("state", "")}
        if self.behaviour.error:
            back["error"] = self.behaviour.error
        elif (
            query.get("response_type") != "code"
            or query.get("code_challenge_method") != "S256"
            or not query.get("code_challenge")
        ):
            back["error"] = "invalid_request"
        else:
            code = secrets.token_urlsafe(24)
            grant = Grant(
                client_id=query["client_id"], redirect_uri=redirect_uri,
                scope=query.get("scope", ""), state=query.get("state", ""),
                nonce=query.get("nonce", ""), code_challenge=query["code_challenge"],
                params=dict(query),
            )
            with self._lock:
                self.grants[code] = grant
                self.last_grant = grant
            back["code"] = code
        return Answer.redirect(f"{redirect_uri}?{urlencode(back)}")

    def _client_authenticated(self, form: dict[str, str], headers: dict[str, str]) -> str | None:
        """None when the client proved itself, else why not."""
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            if "client_secret_basic" not in self.auth_methods:
                return "client_secret_basic not accepted"
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            if (unquote(client_id), unquote(secret)) != (self.client_id, self.client_secret):
                return "wrong client credentials (basic)"
            return None
        if "client_secret" in form:
            if "client_secret_post" not in self.auth_methods:
                return "client_secret_post not accepted"
            if (form.get("client_id"), form["client_secret"]) != (
                self.client_id, self.client_secret
            ):
                return "wrong client credentials (post)"
            return None
        if self.client_secret is not None:
            return "no client authentication"
        return None if form.get("client_id") == self.client_id else "unknown public client"

    def _token(self, form: dict[str, str], headers: dict[str, str]) -> Answer:
        self.token_requests.append({"form": dict(form), "basic": "authorization" in headers})
        if self.behaviour.token_status is not None:
            return Answer.json({"error": "server_error"}, self.behaviour.token_status)
        refusal = self._client_authenticated(form, headers)
        if refusal is not None:
            self.refusals.append(refusal)
            return Answer.json({"error": "invalid_client"}, 401)
        code = form.get("code", "")
        with self._lock:
            grant = self.grants.get(code)
            reused = code in self.used_codes
            self.used_codes.add(code)
        reason = (
            "unsupported grant type" if form.get("grant_type") != "authorization_code"
            else "unknown code" if grant is None
            else "code already used" if reused
            else "redirect_uri mismatch" if form.get("redirect_uri") != grant.redirect_uri
            else "PKCE verifier mismatch"
            if s256(form.get("code_verifier", "")) != grant.code_challenge
            else None
        )
        if reason is not None or grant is None:
            self.refusals.append(reason or "unknown code")
            return Answer.json({"error": "invalid_grant", "error_description": reason}, 400)
        minted, access_token = self.mint(self, grant)
        claims = {**minted, **self.behaviour.claims}
        for name in self.behaviour.drop_claims:
            claims.pop(name, None)
        signer = self.behaviour.signing_key or self.key
        return Answer.json({
            "access_token": access_token,
            "id_token": signer.sign(claims),
            "refresh_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": 3600,
        })


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Answer:
        return cls(status, {"Content-Type": "application/json", "Cache-Control": "no-store"},
                   json.dumps(value).encode())

    @classmethod
    def redirect(cls, location: str) -> Answer:
        return cls(302, {"Location": location})


def _handler(server: OAuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, answer: Answer) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def _route(self, values: dict[str, str]) -> None:
            path = urlsplit(self.path).path
            route = server.routes().get(path)
            if route is None:
                self._answer(Answer.json({"error": "not_found"}, 404))
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            self._answer(route(values, headers))

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            self._route({name: values[-1] for name, values in query.items()})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            self._route({name: values[-1] for name, values in form.items()})

    return Handler
