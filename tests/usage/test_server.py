"""Usage plans on a real server: API Gateway's answers, concurrency, restarts, the CLI."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.usage.keys import USAGE_DB_FILE
from tests.support.server import REPO, LiveServer


@pytest.fixture
def plans_server(
    start_server: Callable[..., LiveServer], plans_file: Path
) -> Callable[..., LiveServer]:
    def start(app: tuple[str, ...] = ("app.main:app",), **env: str) -> LiveServer:
        return start_server(app=app, USAGE_PLANS="local", USAGE_PLANS_FILE=str(plans_file),
                            CORS_ALLOW_ORIGINS="https://app.example", **env)
    return start


def keys_cli(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "keys", *args, "--json"], cwd=REPO, env=server.env,
        capture_output=True, text=True, check=False,
    )


def new_key(server: LiveServer, plan: str) -> dict[str, str]:
    result = keys_cli(server, "create", "--name", f"k-{plan}", "--plan", plan)
    assert result.returncode == 0, result.stderr
    created: dict[str, str] = json.loads(result.stdout)
    assert {"id", "name", "plan", "enabled", "prefix", "value"} <= set(created)
    return created


def call_public(server: LiveServer, key: str, *, times: int) -> None:
    """`times` keyed calls of /public, each admitted."""
    with httpx.Client(base_url=server.url) as client:
        for _ in range(times):
            assert client.get("/public", headers={"x-api-key": key}).status_code == 200


def test_api_gateway_answers(plans_server: Callable[..., LiveServer]) -> None:
    server = plans_server()
    key = new_key(server, "Tiny")["value"]
    with httpx.Client(base_url=server.url) as client:
        missing = client.get("/public")
        assert (missing.status_code, missing.json()) == (403, {"message": "Forbidden"})
        assert missing.headers["x-amzn-errortype"] == "ForbiddenException"
        wrong = client.get("/public", headers={"x-api-key": "not-a-key-not-a-key-1234"})
        assert wrong.status_code == 403

        answers = [client.get("/public", headers={"x-api-key": key}) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 4 + [429] * 2
        assert answers[-1].json() == {"message": "Too Many Requests"}
        time.sleep(1.1)  # the bucket refills 2 a second
        assert client.get("/public", headers={"x-api-key": key}).status_code == 200
        assert client.get("/public", headers={"x-api-key": key}).status_code == 200
        time.sleep(0.6)
        spent = client.get("/public", headers={"x-api-key": key})
        assert (spent.status_code, spent.json()) == (429, {"message": "Limit Exceeded"})

        # Never behind a key: health, docs, the page, and CORS preflights.
        for path in ("/health", "/docs", "/openapi.json", "/"):
            assert client.get(path).status_code == 200, path
        preflight = client.options("/public", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        # A refusal still carries CORS headers, so a page can read it.
        refused = client.get("/public", headers={"Origin": "https://app.example"})
        assert refused.headers["access-control-allow-origin"] == "https://app.example"


def test_whitespace_around_the_key_is_not_part_of_it(
    plans_server: Callable[..., LiveServer],
) -> None:
    server = plans_server()
    key = new_key(server, "Open")["value"]
    url = httpx.URL(server.url)
    for padded in (f"{key}  ", f"{key}\t", f"  {key}"):
        # Raw bytes: HTTP clients refuse to send a value with whitespace around it.
        with socket.create_connection((url.host, url.port), timeout=10) as connection:
            connection.sendall(
                f"GET /public HTTP/1.1\r\nHost: {url.host}\r\nx-api-key: {padded}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 "), (padded, answer[:200])


def test_no_over_admission_from_eight_threads(plans_server: Callable[..., LiveServer]) -> None:
    server = plans_server()
    key = new_key(server, "Quota")["value"]  # 50 a month

    def call(_: int) -> int:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            return client.get("/public", headers={"x-api-key": key}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(call, range(200)))
    assert statuses.count(200) == 50
    assert statuses.count(429) == 150


@pytest.mark.parametrize("stop", ["stop", "kill"])
def test_a_restart_keeps_the_quota_spent(
    plans_server: Callable[..., LiveServer], stop: str
) -> None:
    server = plans_server()
    key = new_key(server, "Quota")
    call_public(server, key["value"], times=50)
    getattr(server, stop)()
    restarted = plans_server()
    with httpx.Client(base_url=restarted.url) as client:
        answer = client.get("/public", headers={"x-api-key": key["value"]})
        assert (answer.status_code, answer.json()) == (429, {"message": "Limit Exceeded"})
    if stop == "stop":  # a clean stop also wrote the day's count
        usage = json.loads(keys_cli(restarted, "usage", key["id"], "--days", "1").stdout)
        assert usage["items"][0][1:] == [50, 0]


def test_usage_reports_what_was_served_while_the_server_runs(
    plans_server: Callable[..., LiveServer],
) -> None:
    server = plans_server()
    key = new_key(server, "Large")
    call_public(server, key["value"], times=5)
    deadline = time.monotonic() + 10
    while True:  # the server writes its counts within a second or two
        usage = json.loads(keys_cli(server, "usage", key["id"], "--days", "1").stdout)
        if usage["items"][0][1] == 5 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    # Not less the block of quota the server holds in reserve: it will serve those too.
    assert usage["items"][0][1:] == [5, 100_000 - 5]


def test_cli_changes_reach_a_running_server(
    plans_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = plans_server()
    created = new_key(server, "Open")
    csv_file = tmp_path / "keys.csv"
    csv_file.write_text("Name,Key,Description,Enabled,UsagePlanIds\n"
                        "imported,abcdefghijklmnopqrstuvwxyz0123,from csv,true,Open\n"
                        "broken,short,,true,Open\n")
    imported = keys_cli(server, "import", str(csv_file))
    outcomes = json.loads(imported.stdout)
    assert [o["result"] for o in outcomes] == ["imported", "skipped"]
    assert {"id", "name", "plan", "enabled", "prefix"} <= set(outcomes[0])  # a key's record
    assert outcomes[0]["enabled"] is True
    assert "abcdefghijklmnopqrstuvwxyz0123" not in imported.stdout, "a value is shown once"
    assert imported.returncode == 1  # a skipped row is reported in the exit status

    listed = json.loads(keys_cli(server, "list").stdout)
    assert {k["name"] for k in listed} == {"k-Open", "imported"}
    assert all("value" not in k and len(k["prefix"]) == 8 for k in listed)

    with httpx.Client(base_url=server.url) as client:
        for value in (created["value"], "abcdefghijklmnopqrstuvwxyz0123"):
            assert client.get("/public", headers={"x-api-key": value}).status_code == 200
        assert keys_cli(server, "disable", created["id"]).returncode == 0
        deadline = time.monotonic() + 10
        while client.get("/public", headers={"x-api-key": created["value"]}).status_code == 200:
            assert time.monotonic() < deadline, "a disabled key kept working"
            time.sleep(0.2)


def test_serve_prints_a_working_development_key(tmp_path: Path) -> None:
    from tests.support.net import free_port

    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "LOCAL_POOL_DIR": str(tmp_path / "pool"),
           "USAGE_PLANS": "local", "PYTHONUNBUFFERED": "1"}
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)],
                                   cwd=REPO, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while "Development API key" not in (tmp_path / "serve.log").read_text():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
        line = next(line for line in (tmp_path / "serve.log").read_text().splitlines()
                    if "Development API key" in line)
        value = line.rsplit(" ", 1)[1]
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/public", headers={"x-api-key": value})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_locked_key_store_is_503_and_holds_up_nothing_else(
    plans_server: Callable[..., LiveServer],
) -> None:
    """Another process holds the usage store's write lock: a request that must reserve
    quota waits for it off the event loop, then answers 503; other requests go on."""
    server = plans_server()
    key = {"x-api-key": new_key(server, "Quota")["value"]}  # a small quota: one write each
    store = Path(server.env["LOCAL_POOL_DIR"]) / USAGE_DB_FILE
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/public", headers=key).status_code == 200
        holder = sqlite3.connect(store, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                waiting = pool.submit(client.get, "/public", headers=key)
                time.sleep(0.5)
                assert client.get("/health").status_code == 200
                assert not waiting.done(), "/health answered while the keyed request waited"
                refused = waiting.result()
        finally:
            holder.rollback()
            holder.close()
        assert (refused.status_code, refused.json()["error"]) == (503, "ServiceUnavailable")
        assert int(refused.headers["retry-after"]) > 0
        assert client.get("/public", headers=key).status_code == 200


def test_behind_a_path_prefix_the_key_is_still_needed(
    plans_server: Callable[..., LiveServer],
) -> None:
    """Behind a proxy that strips /api (uvicorn --root-path /api), paths carry the prefix
    in ASGI's `path`: the rules still match the routes."""
    server = plans_server(app=("app.main:app", "--root-path", "/api"))
    key = new_key(server, "Open")["value"]
    with httpx.Client(base_url=server.url) as client:
        refused = client.get("/public")
        assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})
        assert client.get("/public", headers={"x-api-key": key}).status_code == 200
