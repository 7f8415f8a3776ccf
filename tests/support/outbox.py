"""Messages the local pool wrote to its outbox (MAIL_BACKEND=outbox)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any


class Outbox:
    """Reads each message file once: a long run (bench/soak.py) writes thousands."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._read: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        if not self.directory.exists():
            return []
        with self._lock:
            for path in sorted(self.directory.glob("*.json")):
                if path.name not in self._read and not path.name.startswith("."):
                    self._read[path.name] = json.loads(path.read_text())
            found = list(self._read.values())
        return [m for m in found if to is None or m["to"] == to]

    def latest_code(self, to: str, *, timeout: float = 5.0, channel: str | None = None) -> str:
        """The code of the newest message to `to`, waiting briefly for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            messages = [
                m for m in self.messages(to) if channel is None or m["channel"] == channel
            ]
            if messages:
                newest = max(messages, key=lambda m: m["sent_at"])
                assert newest["code"] in newest["body"], "a message must carry its code"
                return str(newest["code"])
            if time.monotonic() > deadline:
                raise AssertionError(f"no message to {to} in {self.directory}")
            time.sleep(0.02)
