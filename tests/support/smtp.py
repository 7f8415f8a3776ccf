"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

from __future__ import annotations

import time
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.net import free_port


class _Keep:
    def __init__(self, inbox: list[Message], recipients: list[str]) -> None:
        self.inbox = inbox
        self.recipients = recipients

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.inbox.append(message_from_bytes(content))
        self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.inbox: list[Message] = []
        self.recipients: list[str] = []  # the envelopes' RCPT TO, where mail really goes
        self.port = port or free_port()
        self._controller = Controller(
            _Keep(self.inbox, self.recipients), hostname="127.0.0.1", port=self.port
        )

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, to: str, timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.inbox:
                if message["To"] == to:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} within {timeout}s")

    @staticmethod
    def body(message: Message) -> str:
        payload: Any = message.get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(message.get_payload())

    @classmethod
    def code_in(cls, message: Message) -> str:
        import re

        found = re.search(r"\b(\d{6})\b", cls.body(message))
        assert found, "the message carries a 6-digit code"
        return found.group(1)
