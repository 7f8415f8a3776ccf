"""The flow cookie's sealing, the redirect rules, COGNITO_DOMAIN and discovery documents,
without any server."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest

from app.errors import ExpiredCodeError, NotAuthorizedError
from app.federation.cognito import domain_base_url
from app.federation.discovery import parse_metadata
from app.federation.flow import FlowSealer, derive_flow_key
from app.federation.redirects import error_location, safe_redirect_path
from tests.support.clock import Clock

KEY = derive_flow_key(b"a secret of the server, long enough for HKDF")


class TestFlowSealer:
    def test_round_trip(self) -> None:
        sealer = FlowSealer(KEY)
        flow = sealer.start("Google", "/here")
        assert sealer.open(sealer.seal(flow)) == flow

    def test_pkce_challenge_is_s256_of_the_verifier(self) -> None:
        flow = FlowSealer(KEY).start("Google", "/")
        digest = hashlib.sha256(flow.code_verifier.encode()).digest()
        assert flow.code_challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        assert 43 <= len(flow.code_verifier) <= 128  # RFC 7636 §4.1

    def test_sealing_twice_gives_different_values(self) -> None:
        sealer = FlowSealer(KEY)
        flow = sealer.start("Google", "/")
        assert sealer.seal(flow) != sealer.seal(flow)

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda v: v[:-2] + ("AA" if v[-2:] != "AA" else "BB"),
            lambda v: "v2" + v[2:],
            lambda v: v[:20],
            lambda v: "v1.not-base64!!",
            lambda v: "",
        ],
        ids=["flipped", "version", "truncated", "garbage", "empty"],
    )
    def test_tampering_is_refused(self, mangle: Callable[[str], str]) -> None:
        sealer = FlowSealer(KEY)
        value = sealer.seal(sealer.start("Google", "/"))
        with pytest.raises(NotAuthorizedError):
            sealer.open(mangle(value))

    def test_another_key_cannot_open_it(self) -> None:
        value = FlowSealer(KEY).seal(FlowSealer(KEY).start("Google", "/"))
        with pytest.raises(NotAuthorizedError):
            FlowSealer(derive_flow_key(b"another server's secret")).open(value)

    def test_expires_after_its_max_age(self) -> None:
        clock = Clock(1_800_000_000.0)
        sealer = FlowSealer(KEY, max_age_seconds=300, clock=clock)
        value = sealer.seal(sealer.start("Google", "/"))
        clock.now += 300
        sealer.open(value)
        clock.now += 1
        with pytest.raises(ExpiredCodeError):
            sealer.open(value)

    def test_at_most_ten_minutes(self) -> None:
        with pytest.raises(ValueError, match="600"):
            FlowSealer(KEY, max_age_seconds=601)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/", "/"),
        ("/account?tab=keys#top", "/account?tab=keys#top"),
        ("/a/b%20c", "/a/b%20c"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("/ok\x00", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/" + "a" * 600, "/"),
    ],
)
def test_safe_redirect_path(value: str | None, expected: str) -> None:
    assert safe_redirect_path(value) == expected


def test_error_location_encodes_the_message() -> None:
    location = error_location("/prod", "NotAuthorized", "Try again & see?")
    assert location == "/prod/?auth_error=NotAuthorized&message=Try+again+%26+see%3F"


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("authgate.auth.eu-west-1.amazoncognito.com",
         "https://authgate.auth.eu-west-1.amazoncognito.com"),
        ("https://auth.example.com/", "https://auth.example.com"),
        ("http://127.0.0.1:9999", "http://127.0.0.1:9999"),
    ],
)
def test_cognito_domain(domain: str, expected: str) -> None:
    assert domain_base_url(domain) == expected


ISSUER = "https://idp.example"


def discovery_document(**changes: object) -> dict[str, object]:
    return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks", **changes}


def test_a_discovery_document_is_read() -> None:
    metadata = parse_metadata(discovery_document(), ISSUER)
    assert (metadata.token_endpoint, metadata.jwks_uri) == (f"{ISSUER}/token", f"{ISSUER}/jwks")


@pytest.mark.parametrize("endpoint", [
    "http://[::1", "https://exämple..com/token", "/token", "idp.example/token", None, 7,
])
def test_discovery_refuses_endpoints_no_client_can_fetch(endpoint: object) -> None:
    # Refused here, they make the provider unavailable (503) rather than break a request.
    with pytest.raises(ValueError, match="token_endpoint"):
        parse_metadata(discovery_document(token_endpoint=endpoint), ISSUER)
