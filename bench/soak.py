"""Load and soak: simulated users through the whole flow, with usage plans on.

    python bench/soak.py [--users 50] [--minutes 3]

Each user, in a loop until time is up: sign up, confirm (the code from the outbox), sign
in, call /protected a few times, sign out. One server process on the embedded pool with
USAGE_PLANS=local; the users run in this process (asyncio + httpx) on the other core.
Prints requests per second, p50 and p99 per route, the error count (the target: no 5xx)
and the server's resident memory after warm-up and at the end (the target: flat).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.usage.keys import KeyStore
from bench.loadgen import rss_kib
from bench.report import table
from tests.support.outbox import Outbox
from tests.support.server import LiveServer

PASSWORD = "Correct-Horse-7-Battery"
PLANS = {
    "api_key_required": ["ANY /public", "ANY /protected"],
    "plans": [{"name": "Soak", "throttle": {"rate_limit": 5000, "burst_limit": 5000},
               "quota": {"limit": 100_000_000, "period": "MONTH"}}],
}


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[int, int] = defaultdict(int)
        self.unexpected: list[str] = []
        self.transport_errors: list[str] = []

    def record(self, route: str, started: float, response: httpx.Response, expected: int) -> None:
        self.latencies[route].append(time.perf_counter() - started)
        self.statuses[response.status_code] += 1
        if response.status_code != expected and len(self.unexpected) < 20:
            self.unexpected.append(f"{route}: {response.status_code} {response.text[:120]}")


async def user_loop(base: str, api_key: str, outbox: Outbox, deadline: float,
                    stats: Stats) -> None:
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends: a request on a
    # connection the server has just closed would fail for the client's reason, not ours.
    limits = httpx.Limits(keepalive_expiry=3)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits,
                                 headers={"x-api-key": api_key}) as client:
        while time.monotonic() < deadline:
            name = f"soak{uuid.uuid4().hex[:12]}"
            email = f"{name}@example.com"

            async def call(route: str, method: str, path: str, expected: int = 200,
                           **kwargs: object) -> httpx.Response:
                started = time.perf_counter()
                try:
                    response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
                except httpx.TransportError as exc:
                    stats.transport_errors.append(f"{route}: {type(exc).__name__}")
                    raise
                stats.record(route, started, response, expected)
                return response

            await call("signup", "POST", "/auth/signup", 201,
                       json={"username": name, "password": PASSWORD, "email": email})
            code = await asyncio.to_thread(outbox.latest_code, email, timeout=30)
            await call("confirm", "POST", "/auth/confirm_signup",
                       json={"username": name, "code": code})
            await call("signin", "POST", "/auth/signin",
                       json={"username": name, "password": PASSWORD})
            for _ in range(5):
                await call("protected", "GET", "/protected")
            await call("signout", "POST", "/auth/signout",
                       headers={"X-CSRF-Token": client.cookies.get("csrf_token", "")})
            client.cookies.clear()


def sample_memory(pid: int, samples: list[int], until: float) -> None:
    while time.monotonic() + 30 < until:
        time.sleep(30)
        samples.append(rss_kib(pid))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        (base / "plans.json").write_text(json.dumps(PLANS))
        server = LiveServer({
            "LOCAL_POOL_DIR": str(base / "pool"), "MAIL_BACKEND": "outbox",
            "OUTBOX_DIR": str(base / "outbox"), "USAGE_PLANS": "local",
            "USAGE_PLANS_FILE": str(base / "plans.json"), "COOKIE_SECURE": "false",
            "LOG_LEVEL": "WARNING",
        }, log_path=base / "server.log").start()
        try:
            assert server.process is not None
            api_key = KeyStore(base / "pool").create("soak", "Soak")[1]
            outbox = Outbox(base / "outbox")
            # Warm-up with every user: the thread pools, connections and caches fill up.
            asyncio.run(run_users(server.url, api_key, outbox, args.users, 20, Stats()))
            pid = server.process.pid
            memory = [rss_kib(pid)]
            stats = Stats()
            started = time.monotonic()
            print(f"{args.users} users for {args.minutes:g} min ...", file=sys.stderr, flush=True)
            sampler = threading.Thread(target=sample_memory, args=(
                pid, memory, started + args.minutes * 60), daemon=True)
            sampler.start()
            seconds = args.minutes * 60
            asyncio.run(run_users(server.url, api_key, outbox, args.users, seconds, stats))
            elapsed = time.monotonic() - started
            sampler.join()
            memory.append(rss_kib(pid))
        finally:
            server.stop()
    total = sum(stats.statuses.values())
    server_errors = sum(count for status, count in stats.statuses.items() if status >= 500)
    rows = [("requests", f"{total} in {elapsed:.0f} s: {total / elapsed:.1f} req/s"),
            ("statuses", ", ".join(f"{s}: {n}" for s, n in sorted(stats.statuses.items()))),
            ("5xx answers", f"{server_errors}  {'meets' if server_errors == 0 else 'MISSES'} "
                            "target 0"),
            ("unexpected answers", str(len(stats.unexpected))),
            ("connection errors", str(len(stats.transport_errors)))]
    for route, values in stats.latencies.items():
        rows.append((f"{route} p50 / p99", f"{statistics.median(values) * 1000:7.1f} / "
                                           f"{percentile(values, 0.99) * 1000:7.1f} ms  "
                                           f"({len(values)} calls)"))
    growth = (memory[-1] - memory[0]) / memory[0]
    rows.append(("server memory", f"{memory[0] / 1024:.1f} MiB after warm-up, "
                                  f"{memory[-1] / 1024:.1f} MiB at the end ({growth:+.1%}; "
                                  "flat means within 10%)"))
    rows.append(("memory every 30 s", " ".join(f"{kib / 1024:.0f}" for kib in memory) + " MiB"))
    table(f"soak: {args.users} users, {args.minutes:g} min, USAGE_PLANS=local", rows)
    for line in (stats.unexpected + stats.transport_errors)[:5]:
        print(f"  unexpected: {line}")


async def run_users(base: str, api_key: str, outbox: Outbox, users: int, seconds: float,
                    stats: Stats) -> None:
    deadline = time.monotonic() + seconds
    async def one_user() -> None:
        while time.monotonic() < deadline:
            try:
                await user_loop(base, api_key, outbox, deadline, stats)
            except httpx.TransportError:
                continue  # counted; this user starts over with a new connection

    await asyncio.gather(*(one_user() for _ in range(users)))


if __name__ == "__main__":
    main()
