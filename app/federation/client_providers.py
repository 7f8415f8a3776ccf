"""The identity providers the user pool's app client offers, asked of Cognito.

Used when COGNITO_IDENTITY_PROVIDERS does not list them. Cognito's managed login refuses a
provider the app client does not offer, but only once the browser is there; knowing the
client's list lets `/auth/oauth/{provider}/authorize` answer `404 NotFound` itself, as it
does with a configured list.

The list is kept for TTL_SECONDS, so a provider added to the client is offered within
minutes without a restart. When Cognito cannot be asked (the process lacks
`cognito-idp:DescribeUserPoolClient`, or Cognito is down), `current()` says so with None and
the caller lets the managed login judge the name; Cognito is asked again after
RETRY_SECONDS, not on every request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection

from app.errors import AppError

log = logging.getLogger(__name__)

TTL_SECONDS = 300.0
RETRY_SECONDS = 30.0


class AppClientProviders:
    """A cached answer to "which providers does the app client offer?"."""

    def __init__(
        self,
        describe: Callable[[], Collection[str] | None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._describe = describe
        self._clock = clock
        self._lock = threading.Lock()
        self._names: frozenset[str] | None = None
        self._ask_at = float("-inf")

    def current(self) -> frozenset[str] | None:
        """The client's provider names, or None while Cognito cannot tell."""
        if self._clock() < self._ask_at:
            return self._names
        with self._lock:  # one question at a time; the others wait for its answer
            if self._clock() >= self._ask_at:
                self._ask()
            return self._names

    def _ask(self) -> None:
        try:
            names = self._describe()
        except AppError as exc:
            self._cannot_tell(exc.code)
            return
        if names is None:
            self._cannot_tell("AccessDeniedException")
            return
        self._names = frozenset(names)
        self._ask_at = self._clock() + TTL_SECONDS

    def _cannot_tell(self, reason: str) -> None:
        # An older answer stays good until Cognito can be asked again.
        log.warning(
            "cannot read the app client's identity providers; the managed login will judge "
            "provider names (grant cognito-idp:DescribeUserPoolClient, or set "
            "COGNITO_IDENTITY_PROVIDERS)", extra={"reason": reason},
        )
        self._ask_at = self._clock() + RETRY_SECONDS
