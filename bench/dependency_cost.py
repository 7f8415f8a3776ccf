"""Where the price of being signed in goes: FastAPI's dependency resolution, the check, the rest.

    python bench/dependency_cost.py

The companion of (b) in bench/throughput.py. Requests here are ASGI calls made in this
process, with no network, so the microseconds are the app's alone. Besides the app's
`/public` and `/protected` (a Bearer ID token, verified once and then cached), it calls
the reference apps of bench/reference_app.py, whose `/protected` differs only by how it
finds its user, and takes the differences:

- FastAPI's price for resolving one `Depends`, in place: a dependency that returns a
  fixed user, against a route that uses the fixed user directly;
- the check, through `Depends` and called inline;
- the route itself: `/protected` with no check against `/public`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi import FastAPI
from starlette.types import ASGIApp, Message

from bench.report import table

Headers = list[tuple[bytes, bytes]]


def http_scope(path: str, headers: Headers) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
        "root_path": "", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers], "state": {},
    }


async def microseconds_per_call(call: Callable[[], Awaitable[object]], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        await call()
    return (time.perf_counter() - start) / number * 1e6


def request_call(app: ASGIApp, path: str, headers: Headers) -> Callable[[], Awaitable[None]]:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"{path} answered {message['status']}")

    async def call() -> None:
        await app(http_scope(path, headers), receive, send)

    return call


def signed_in_app(directory: Path) -> tuple[FastAPI, str]:
    """The app on a fresh local pool, and the ID token of a user signed in to it."""
    os.environ.update(LOCAL_POOL_DIR=str(directory / "pool"), MAIL_BACKEND="outbox",
                      OUTBOX_DIR=str(directory / "outbox"), USAGE_PLANS="off",
                      LOG_LEVEL="WARNING")
    from app.main import create_app
    from tests.support.outbox import Outbox
    from tests.support.users import AuthFlow

    app = create_app()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TestClient's notice about httpx
        from fastapi.testclient import TestClient

        client = TestClient(app, base_url="https://testserver")
        flow = AuthFlow(client, Outbox(directory / "outbox"))
        token = flow.sign_in(flow.confirmed_user("bench")).json()["token"]
    return app, token


async def measure(rounds: int, number: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        app, token = signed_in_app(Path(directory))
        # Built from the same environment: the same pool, keys and signed-in session.
        from bench.reference_app import reference_app

        bearer = [(b"authorization", f"Bearer {token}".encode())]
        cases = {
            "/public": request_call(app, "/public", []),
            "/protected": request_call(app, "/protected", bearer),
            **{variant: request_call(reference_app(variant), "/protected", bearer)
               for variant in ("depends-constant", "inline", "constant")},
        }
        timings: dict[str, list[float]] = {name: [] for name in cases}
        for call in cases.values():
            await microseconds_per_call(call, number)  # warm up
        for _ in range(rounds):  # alternating, so the machine's noise falls on all alike
            for name, call in cases.items():
                timings[name].append(await microseconds_per_call(call, number))

    us = {name: statistics.median(values) for name, values in timings.items()}

    def rate(name: str) -> str:
        return f"{us[name]:6.1f} us  ({us['/public'] / us[name]:.2f}x the rate of /public)"

    table(f"in-process cost per request, median of {rounds} rounds of {number:,}", [
        ("GET /public", f"{us['/public']:6.1f} us"),
        ("GET /protected", rate("/protected")),
        ("  with a Depends returning a fixed user", rate("depends-constant")),
        ("  with the check inline, no Depends", rate("inline")),
        ("  with no check", rate("constant")),
    ])
    table("where the difference goes", [
        ("/protected over /public", f"{us['/protected'] - us['/public']:6.1f} us"),
        ("FastAPI resolving one Depends",
         f"{us['depends-constant'] - us['constant']:6.1f} us"),
        ("the check, through Depends", f"{us['/protected'] - us['depends-constant']:6.1f} us"),
        ("the check, inline", f"{us['inline'] - us['constant']:6.1f} us"),
        ("the route itself (its place, its answer)",
         f"{us['constant'] - us['/public']:6.1f} us"),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--number", type=int, default=3000)
    args = parser.parse_args()
    try:
        import uvloop  # what uvicorn runs on, when it is installed
    except ImportError:
        asyncio.run(measure(args.rounds, args.number))
    else:
        uvloop.run(measure(args.rounds, args.number))


if __name__ == "__main__":
    main()
