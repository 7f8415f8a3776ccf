"""SMTP delivery to a real server (aiosmtpd): mail goes to the stored address or nowhere."""

from __future__ import annotations

import pytest

from app.identity.local.mailer import ConsoleMailer, Message, SmtpMailer
from tests.support.smtp import SmtpServer


def message(to: str) -> Message:
    return Message(channel="email", to=to, subject="Your code", body="Code: 123456",
                   code="123456")


def test_an_address_smtplib_would_misread_gets_no_mail(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Addresses typed in are refused on entry; one from an identity provider is not.
    mailer = SmtpMailer(host="127.0.0.1", port=smtp_server.port, sender="auth@example.com",
                        starttls=False)
    for odd in ("a<victim@example.com", "=?x?b?!!!?=@b.example"):
        mailer.send(message(odd))  # neither raises (the second used to: IndexError)
    mailer.send(message("plain@example.com"))
    smtp_server.wait_for("plain@example.com")
    assert smtp_server.recipients == ["plain@example.com"]
    assert caplog.text.count("email not delivered") == 2
    assert "123456" not in caplog.text


def test_the_console_shows_control_characters_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ConsoleMailer().send(Message(
        channel="email", to="x\x1b[2Jy@example.com", subject="Hi\r\n{\"level\": \"error\"}",
        body="Hello Google_a\x07b,\nyour code is 123456.", code="123456",
    ))
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "x\\x1b[2Jy@example.com" in shown
    assert "Hi\\r\\n{" in shown  # the subject stays on its line
    assert "Hello Google_a\\x07b,\nyour code is 123456." in shown  # the body keeps its lines
