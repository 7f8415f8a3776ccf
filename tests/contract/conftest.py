"""The contract suite runs once per identity backend.

A `Backend` is the app built for one backend plus what a test needs to play the user's
part: where the codes arrive. Backends that cannot do something (moto does not check
sign-up codes) say so in `capabilities`, and the few tests that need it are skipped for
them, with Stubber tests in tests/identity/ covering the same on the Cognito side.

The `cognito` backend is `CognitoIdentityProvider` against moto's server over real HTTP,
on a fresh pool per test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support.moto import ANY_CODE, MotoPool
from tests.support.outbox import Outbox
from tests.support.users import AuthFlow, TestUser


@dataclass
class Backend:
    name: str
    client: TestClient
    confirmation_code: Callable[[TestUser], str]
    reset_code: Callable[[TestUser], str]
    sms_code: Callable[[str], str] = lambda phone: ""
    capabilities: frozenset[str] = field(default_factory=frozenset)

    @property
    def flow(self) -> AuthFlow:
        return AuthFlow(self.client, self.confirmation_code)

    def requires(self, capability: str) -> None:
        if capability not in self.capabilities:
            pytest.skip(f"the {self.name} backend cannot show this ({capability})")


LOCAL_CAPABILITIES = frozenset({
    "checks_codes", "lockout", "alias_sign_in", "resends_codes", "attribute_codes",
    "totp_window", "ends_other_sessions", "breached_list", "binds_sessions",
})
# moto accepts any confirmation code, has no lockout, signs in by email only in pools that
# refuse plain usernames, answers ResendConfirmationCode and GetUserAttributeVerificationCode
# with a 500, checks TOTP codes in the current step only and never refuses one used before,
# and answers a challenge session for whatever username comes with it.
# Cognito itself cannot end a user's other sessions on ChangePassword, and its breached
# password check is the threat protection the stack turns on, not the app's list.
COGNITO_CAPABILITIES: frozenset[str] = frozenset()

BackendFactory = Callable[[pytest.FixtureRequest, Callable[..., Settings]], Iterator[Backend]]


def local_backend(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Iterator[Backend]:
    settings = make_settings()
    outbox = Outbox(settings.resolved_outbox_dir)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        yield Backend(
            name="local",
            client=client,
            confirmation_code=lambda user: outbox.latest_code(user.email),
            reset_code=lambda user: outbox.latest_code(user.email),
            sms_code=lambda phone: outbox.latest_code(phone, channel="sms"),
            capabilities=LOCAL_CAPABILITIES,
        )


def cognito_backend(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Iterator[Backend]:
    pool: MotoPool = request.getfixturevalue("moto_pool")
    make_client: Callable[..., TestClient] = request.getfixturevalue("make_cognito_client")
    yield Backend(
        name="cognito",
        client=make_client(pool),
        confirmation_code=lambda user: ANY_CODE,
        reset_code=lambda user: ANY_CODE,
        capabilities=COGNITO_CAPABILITIES,
    )


BACKENDS: dict[str, BackendFactory] = {"local": local_backend, "cognito": cognito_backend}


@pytest.fixture(params=sorted(BACKENDS))
def backend(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Iterator[Backend]:
    yield from BACKENDS[request.param](request, make_settings)


@pytest.fixture
def user_flow(backend: Backend) -> AuthFlow:
    return backend.flow
