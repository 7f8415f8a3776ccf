"""How the embedded pool delivers its messages: console, outbox files, or SMTP.

Printing a message on the console *is* its delivery (the laptop has no mail server), so
it goes to stdout, apart from the JSON logs on stderr, which never hold a code.
A delivery that fails is logged and swallowed: like Cognito, sign-up still succeeds and
the code can be sent again.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import smtplib
import ssl
import sys
import threading
import time
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

from app.console import escape_controls
from app.identity.addresses import is_mailbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    channel: Literal["email", "sms"]
    to: str
    subject: str
    body: str
    code: str


class Mailer(Protocol):
    def send(self, message: Message) -> None:
        """Deliver the message, or log why it could not be delivered."""
        ...


class ConsoleMailer:
    """Prints each message on stdout for the person running the server."""

    _lock = threading.Lock()

    def send(self, message: Message) -> None:
        text = (
            f"\n----- {message.channel} to {escape_controls(message.to)}: "
            f"{escape_controls(message.subject)} -----\n"
            f"{escape_controls(message.body, keep=chr(10))}\n-----\n"
        )
        with self._lock:
            sys.stdout.write(text)
            sys.stdout.flush()


class OutboxMailer:
    """Writes each message as one JSON file, for tests and scripts to read."""

    def __init__(self, directory: Path, echo: Mailer | None = None) -> None:
        self.directory = directory
        self._echo = echo

    def send(self, message: Message) -> None:
        if self._echo is not None:
            self._echo.send(message)
        record = {**asdict(message), "sent_at": time.time()}
        name = f"{time.time_ns()}-{secrets.token_hex(4)}.json"
        temporary = self.directory / f".{name}.partial"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(record, handle)
            # Readers never see a half-written file.
            temporary.rename(self.directory / name)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            log.warning("message not written to the outbox; the user can ask again",
                        extra={"outbox": str(self.directory), "reason": exc.strerror})


class SmtpMailer:
    """Sends email through an SMTP server; SMS goes to the fallback (console and outbox)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
        sms_fallback: Mailer | None = None,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._username, self._password = username, password
        self._starttls, self._timeout = starttls, timeout
        self._sms_fallback = sms_fallback or ConsoleMailer()

    def send(self, message: Message) -> None:
        if message.channel == "sms":
            self._sms_fallback.send(message)
            return
        if not is_mailbox(message.to):
            # Only from an identity provider: addresses typed in are checked on entry.
            log.warning("email not delivered: mail software would read its address as "
                        "another one")
            return
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email.set_content(message.body)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username and self._password:
                    smtp.login(self._username, self._password)
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning(
                "email not delivered; the user can ask for the code again",
                extra={"smtp_host": self._host, "reason": type(exc).__name__},
            )
