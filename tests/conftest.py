"""Fixtures every test may use: settings for a temporary pool, an in-process client, a
real server process, the outbox where the pool's messages land, and moto's server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings, load_settings
from tests.support.moto import AWS_ENV, MotoPool, MotoServer
from tests.support.outbox import Outbox
from tests.support.server import LiveServer
from tests.support.smtp import SmtpServer
from tests.support.users import AuthFlow

# Settings come from these fixtures, never from the shell that runs the tests.
for _name in list(os.environ):
    if _name.startswith((
        "AUTH_", "LOCAL_", "COGNITO_", "COOKIE_", "USAGE_", "MAIL_", "SMTP_", "CORS_",
        "OUTBOX_", "PUBLIC_BASE_URL", "USER_CHECK_", "PASSWORD_", "LOG_LEVEL", "SESSION_SECRET",
        "OIDC_",
    )):
        del os.environ[_name]


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a pool in this test's temporary folder, with the outbox as mailer."""

    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "local_pool_dir": tmp_path / "pool",
            "mail_backend": "outbox",
            "outbox_dir": tmp_path / "outbox",
            "local_pool_issuer": "https://testserver",
        }
        return load_settings(**{**base, **overrides})

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def outbox(settings: Settings) -> Outbox:
    return Outbox(settings.resolved_outbox_dir)


@pytest.fixture
def flow(client: TestClient, outbox: Outbox) -> AuthFlow:
    return AuthFlow(client, outbox)


def server_env(directory: Path, **extra: str) -> dict[str, str]:
    return {
        "AUTH_BACKEND": "local",
        "LOCAL_POOL_DIR": str(directory / "pool"),
        "MAIL_BACKEND": "outbox",
        "OUTBOX_DIR": str(directory / "outbox"),
        "LOCAL_POOL_ISSUER": "http://127.0.0.1",
        **extra,
    }


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start real server processes on a pool in `directory` (this test's by default).

    Logs stay in the test's folder, whatever `directory` is (a test may fill that one).
    """
    started: list[LiveServer] = []

    def start(directory: Path = tmp_path, launcher: Sequence[str] = (),
              app: Sequence[str] = ("app.main:app",), **env: str) -> LiveServer:
        log_path = tmp_path / f"server-{len(started)}.log"
        server = LiveServer(server_env(directory, **env), log_path=log_path, launcher=launcher,
                            app=app)
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server process shared by the tests that only need a working server."""
    directory = tmp_path_factory.mktemp("live")
    server = LiveServer(server_env(directory), log_path=directory / "server.log").start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto server process for the session, with dummy AWS credentials for boto3."""
    directory = tmp_path_factory.mktemp("moto")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        server = MotoServer(directory / "moto.log").start()
        yield server
        server.stop()


@pytest.fixture
def moto_pool(moto_server: MotoServer) -> MotoPool:
    """A fresh user pool and app client on a freshly reset moto."""
    moto_server.reset()
    return moto_server.new_pool()


@pytest.fixture
def make_cognito_client(
    make_settings: Callable[..., Settings], moto_server: MotoServer
) -> Iterator[Callable[..., TestClient]]:
    """In-process clients of the app on the cognito backend, pointed at a moto pool."""
    with contextlib.ExitStack() as stack:

        def make(pool: MotoPool, **overrides: Any) -> TestClient:
            app = create_app(make_settings(**pool.settings(**overrides)))
            return stack.enter_context(TestClient(app, base_url="https://testserver"))

        yield make
