"""Machines die, disks fill, mail servers go away: nothing confirmed is lost, nothing hangs.

The Cognito endpoint and the JWKS endpoint going down are shown in
tests/identity/test_cognito_unreachable.py and tests/tokens/test_jwks.py.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.net import free_port
from tests.support.outbox import Outbox
from tests.support.server import LiveServer
from tests.support.smtp import SmtpServer
from tests.support.users import PASSWORD, AuthFlow, unique_username


class TestKilledDuringABurst:
    def test_nothing_confirmed_is_lost(
        self, start_server: Callable[..., LiveServer], tmp_path: Path
    ) -> None:
        server = start_server()
        outbox = Outbox(tmp_path / "outbox")
        confirmed: list[str] = []
        stop = threading.Event()

        def sign_up_and_confirm(_: int) -> None:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                flow = AuthFlow(client, outbox)
                while not stop.is_set():
                    try:
                        user = flow.sign_up("burst")
                        code = outbox.latest_code(user.email)
                        answer = client.post("/auth/confirm_signup",
                                             json={"username": user.username, "code": code})
                    except (httpx.TransportError, AssertionError):
                        return  # the server died under us
                    if answer.status_code == 200:
                        confirmed.append(user.username)

        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            futures = [pool.submit(sign_up_and_confirm, i) for i in range(6)]
            deadline = time.monotonic() + 60
            while len(confirmed) < 15 and time.monotonic() < deadline:
                time.sleep(0.02)
            server.kill()  # mid-burst: requests are in flight
            stop.set()
            for future in futures:
                future.result()
        assert len(confirmed) >= 15

        database = tmp_path / "pool" / "pool.sqlite3"
        with contextlib.closing(sqlite3.connect(database)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        restarted = start_server()
        with httpx.Client(base_url=restarted.url) as client:
            for username in confirmed:
                answer = client.post("/auth/signin",
                                     json={"username": username, "password": PASSWORD})
                assert answer.status_code == 200, (username, answer.text)


@contextlib.contextmanager
def small_filesystem(path: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of its own, so the test can fill it or make it read-only for real."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        message = f"mounting a tmpfs needs root: {mounted.stderr.strip()}"
        if os.environ.get("REQUIRE_FAULTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def sign_up(server: LiveServer) -> httpx.Response:
    return httpx.post(f"{server.url}/auth/signup", timeout=30, json={
        "username": unique_username("disk"), "password": PASSWORD,
        "email": f"{unique_username()}@example.com"})


class TestStorageFaults:
    def test_a_read_only_pool_answers_503_and_recovers(
        self, start_server: Callable[..., LiveServer], tmp_path: Path
    ) -> None:
        # Root ignores file modes; without CAP_DAC_OVERRIDE it obeys them, as a service
        # account would.
        launcher = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                    "--bounding-set=-dac_override,-dac_read_search"]
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's permission override")
        pool = tmp_path / "pool"
        first = start_server(launcher=launcher)
        assert sign_up(first).status_code == 201
        first.stop()
        modes = {path: path.stat().st_mode for path in [pool, *pool.iterdir()]}
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            server = start_server(launcher=launcher)
            refused = sign_up(server)
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"] == "ServiceUnavailable"
            assert "read-only" in refused.json()["message"]
            assert int(refused.headers["Retry-After"]) > 0
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        assert sign_up(server).status_code == 201, "service returns without a restart"
        server.stop()
        with contextlib.closing(sqlite3.connect(pool / "pool.sqlite3")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 2

    def test_a_full_disk_answers_503_and_recovers(
        self, start_server: Callable[..., LiveServer], tmp_path: Path
    ) -> None:
        with small_filesystem(tmp_path / "disk") as disk:
            server = start_server(disk)
            assert sign_up(server).status_code == 201
            filler = disk / "filler"
            with filler.open("wb") as handle, contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * 65536)
            answers = [sign_up(server) for _ in range(3)]  # until the WAL needs a new page
            refused = next(a for a in answers if a.status_code != 201)
            assert refused.status_code == 503, refused.text
            assert "disk is full" in refused.json()["message"]
            filler.unlink()
            assert sign_up(server).status_code == 201
            server.stop()
            with contextlib.closing(sqlite3.connect(disk / "pool" / "pool.sqlite3")) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


class TestMailFaults:
    def test_sign_up_goes_on_while_smtp_is_down_and_the_code_comes_later(
        self, start_server: Callable[..., LiveServer]
    ) -> None:
        port = free_port()  # nothing listens here yet
        server = start_server(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=str(port),
                              SMTP_STARTTLS="false")
        username = unique_username("mailless")
        email = f"{username}@example.com"
        with httpx.Client(base_url=server.url, timeout=30) as client:
            signed_up = client.post("/auth/signup", json={
                "username": username, "password": PASSWORD, "email": email})
            assert signed_up.status_code == 201  # as Cognito: the user exists, mail or not
            smtp = SmtpServer(port=port).start()
            try:
                assert client.post("/auth/resend_code",
                                   json={"username": username}).status_code == 200
                code = SmtpServer.code_in(smtp.wait_for(email))
            finally:
                smtp.stop()
            confirmed = client.post("/auth/confirm_signup",
                                    json={"username": username, "code": code})
            assert confirmed.status_code == 200

    def test_a_mail_server_that_never_answers_does_not_hang_sign_up(
        self, start_server: Callable[..., LiveServer]
    ) -> None:
        with socket.socket() as silent:  # accepts connections, never says a word
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            server = start_server(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1",
                                  SMTP_PORT=str(silent.getsockname()[1]),
                                  SMTP_STARTTLS="false", SMTP_TIMEOUT_SECONDS="1")
            started = time.monotonic()
            answer = sign_up(server)
            elapsed = time.monotonic() - started
        assert answer.status_code == 201
        # A bound on correctness (the 1 s timeout applies), not a speed target.
        assert elapsed < 15, f"sign-up waited {elapsed:.1f} s on a silent mail server"
