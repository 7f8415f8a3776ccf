"""Driving a real server with wrk on loopback, and reading its memory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.outbox import Outbox  # noqa: E402
from tests.support.server import LiveServer  # noqa: E402
from tests.support.users import AuthFlow  # noqa: E402


def pinned(cpu: int) -> list[str]:
    """`taskset -c CPU` when there are two CPUs or more: the server and the load generator
    each keep a core of their own, instead of trading places, and runs repeat better."""
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        return []
    return ["taskset", "-c", str(cpu)]


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is needed: apt-get install -y wrk (Debian), brew install wrk (macOS)")
    return wrk


class WrkRun(NamedTuple):
    rate: float
    requests: int
    refused: int  # answers other than 2xx/3xx
    seconds: float


def wrk_run(url: str, *, seconds: float = 5, connections: int = 32,
            headers: dict[str, str] | None = None) -> WrkRun:
    """One wrk run with one thread; refusals are counted, not errors."""
    duration = f"-d{max(1, round(seconds))}s"
    command = [*pinned(0), require_wrk(), "-t1", f"-c{connections}", duration, "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    elapsed = float(total.group(2)) / (1000 if total.group(3) == "ms" else 1)
    return WrkRun(float(rate.group(1)), int(total.group(1)),
                  int(non_2xx.group(1)) if non_2xx else 0, elapsed)


def wrk(url: str, *, seconds: float = 5, connections: int = 32,
        headers: dict[str, str] | None = None) -> tuple[float, int]:
    """Requests per second and the number of requests; any refusal is an error."""
    run = wrk_run(url, seconds=seconds, connections=connections, headers=headers)
    if run.refused:
        raise RuntimeError(f"{run.refused} requests failed during the run against {url}")
    return run.rate, run.requests


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match, "VmRSS not found"
    return int(match.group(1))


@contextmanager
def running_server(
    app: tuple[str, ...] = ("app.main:app",), *, signed_in: bool = True, **env: str
) -> Iterator[tuple[LiveServer, str]]:
    """A server on a fresh pool, with one signed-in user; yields it and the user's token
    (an empty one with `signed_in=False`, for an app that has no sign-in)."""
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        server = LiveServer({
            "LOCAL_POOL_DIR": str(base / "pool"), "MAIL_BACKEND": "outbox",
            "OUTBOX_DIR": str(base / "outbox"), "LOG_LEVEL": "WARNING", **env,
        }, log_path=base / "server.log", launcher=pinned(1),
            app=("--app-dir", str(REPO), *app)).start()
        try:
            token = ""
            if signed_in:
                with httpx.Client(base_url=server.url) as client:
                    flow = AuthFlow(client, Outbox(base / "outbox"))
                    token = flow.sign_in(flow.confirmed_user("bench")).json()["token"]
            yield server, token
        finally:
            server.stop()
