"""The app as a real process: uvicorn in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from tests.support.process import ServerProcess

REPO = Path(__file__).resolve().parents[2]


class LiveServer(ServerProcess):
    """`uvicorn app.main:app` (or another `app`: uvicorn's arguments) with the given environment."""

    name = "server"

    def __init__(
        self, env: Mapping[str, str], *, workers: int = 1, log_path: Path,
        launcher: Sequence[str] = (), app: Sequence[str] = ("app.main:app",),
    ) -> None:
        super().__init__(log_path)
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.workers = workers
        self.launcher = list(launcher)  # e.g. setpriv, to run the server with fewer rights
        self.app = list(app)

    @property
    def stdout_path(self) -> Path:
        # The logs (stderr) and the console's deliveries (stdout) apart, as a person sees them.
        return self.log_path.with_name(self.log_path.name + ".stdout")

    def command(self) -> Sequence[str]:
        return [*self.launcher, sys.executable, "-m", "uvicorn", *self.app,
                "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(self.workers), "--no-server-header"]

    def environment(self) -> Mapping[str, str]:
        return self.env

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/health", timeout=0.5).status_code == 200

    def start(self, timeout: float = 20.0) -> LiveServer:
        super().start(timeout)
        return self
