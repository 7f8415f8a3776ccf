"""A server the tests run as a real process on a free loopback port."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from tests.support.net import free_port


class ServerProcess:
    """Starts a command, waits until `ready()` answers, stops (SIGTERM) or kills it.

    Subclasses give the command and the readiness check; stderr goes to `log_path`, and
    stdout too unless `stdout_path` says otherwise.
    """

    name = "server"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.log_path

    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def environment(self) -> Mapping[str, str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.port = free_port()
        with self.log_path.open("ab") as log, self.stdout_path.open("ab") as out:
            # The child keeps its own copies of the files.
            self.process = subprocess.Popen(
                list(self.command()), env=dict(self.environment()), stdout=out, stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} exited: see {self.log_path}")
            try:
                if self.ready():
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the {self.name} did not answer in {timeout}s: see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what is committed must survive."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")
