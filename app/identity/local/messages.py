"""The embedded pool's code messages: what is sent, where, and what the answer shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from app.identity.local.mailer import Mailer, Message
from app.identity.provider import CodeDelivery, decoy_delivery, mask_email, mask_phone

if TYPE_CHECKING:
    import sqlite3

_SUBJECTS = {
    "signup": ("Your verification code", "Your verification code is {code}."),
    "reset": ("Your password reset code", "Your password reset code is {code}."),
}
_DEFAULT = ("Your verification code", "Your verification code is {code}.")


class CodeMessages:
    """Sends codes by email or SMS and answers with the masked destination.

    Args:
        mailer: how messages leave.
        app_name: named in every message.
        secret: the pool secret (read when first needed), for stable decoy destinations.
    """

    def __init__(self, mailer: Mailer, app_name: str, secret: Callable[[], bytes]) -> None:
        self._mailer = mailer
        self._app_name = app_name
        self._secret = secret

    def send(self, user: sqlite3.Row | Mapping[str, object], attribute: str, code: str,
             purpose: str) -> CodeDelivery:
        """Send `code` to the user's phone or email; the delivery as Cognito shows it."""
        if attribute == "phone_number":
            to = str(user["phone_number"])
            body = f"Your {self._app_name} code is {code}."
            self._mailer.send(Message("sms", to, f"{self._app_name} code", body, code))
        else:
            to = str(user["email"])
            subject, template = _SUBJECTS.get(purpose, _DEFAULT)
            body = (f"{template.format(code=code)}\n\nIt was requested for {user['username']} "
                    f"on {self._app_name}. If you did not ask for it, ignore this message.")
            self._mailer.send(Message("email", to, subject, body, code))
        return self.delivery(user, attribute)

    @staticmethod
    def delivery(user: sqlite3.Row | Mapping[str, object], attribute: str) -> CodeDelivery:
        """Where a code for `attribute` goes, as Cognito shows it (masked)."""
        if attribute == "phone_number":
            return CodeDelivery("SMS", mask_phone(str(user["phone_number"])), "phone_number")
        return CodeDelivery("EMAIL", mask_email(str(user["email"])), "email")

    def decoy(self, name: str) -> CodeDelivery:
        """`decoy_delivery` keyed by the pool's secret."""
        return decoy_delivery(name, self._secret())
