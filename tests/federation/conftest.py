"""A loopback OpenID Connect provider, and the app (local pool) configured to federate with it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support.oidc_provider import OidcProvider

PROVIDER = "test"


@pytest.fixture
def oidc_provider() -> Iterator[OidcProvider]:
    provider = OidcProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], oidc_provider: OidcProvider) -> Settings:
    """Here the root conftest's `app` and `client` federate with the loopback provider."""
    return make_settings(local_oidc_providers=[oidc_provider.provider_setting(PROVIDER)])


@pytest.fixture
def make_fed_client(
    make_settings: Callable[..., Settings],
) -> Iterator[Callable[..., TestClient]]:
    """Clients of apps with other settings (several providers, a dead one, ...)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)), base_url="https://testserver")
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
