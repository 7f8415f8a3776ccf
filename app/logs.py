"""Structured logs: one JSON object per line on stderr, quiet by default.

Call sites never pass secrets; the redaction here is a second line of defence that
masks anything shaped like a JWT or a long random token should one slip into a message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){1,3}")
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
# Keys whose values are never written, whatever a call site passes in `extra`.
_SECRET_KEYS = frozenset(
    {"password", "code", "token", "id_token", "access_token", "refresh_token", "session",
     "secret", "cookie", "authorization", "api_key"}
)


# Fields that every log line of the current request carries (the caller's API key id).
request_context: ContextVar[dict[str, str] | None] = ContextVar("request_context", default=None)


def redact(text: str) -> str:
    return _JWT.sub("[redacted-jwt]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        entry.update(request_context.get() or {})
        for key, value in record.__dict__.items():
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            entry[key] = "[redacted]" if key.lower() in _SECRET_KEYS else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send the app's and uvicorn's logs through one JSON handler; idempotent."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # uvicorn's access line carries the query string (an OAuth callback's code and state):
    # it stays off, and app.middleware.AccessLog writes one without it at DEBUG.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    access.disabled = True
    for noisy in ("botocore", "boto3", "urllib3", "httpx", "httpcore", "mangum"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
