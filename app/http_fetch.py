"""Fetching a small JSON answer from an identity provider, within one deadline.

httpx's timeout bounds each network operation, not the exchange: a provider that sends a
byte every second would hold a worker thread (and, for discovery, every sign-in waiting
on it) for as long as it liked, and one that sends a gigabyte would fill the memory.
Here the body is read against a single deadline and only up to a size that no discovery
document, token answer or key set comes near. The status line and headers are still
bounded per read only: httpx reads them before the first chunk of the body.
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

import httpx

MAX_BODY_BYTES = 256 * 1024


class Fetched(NamedTuple):
    status_code: int
    content: bytes

    def json(self) -> Any:
        """The body as JSON.

        Raises:
            ValueError: not JSON, or nested deeper than the parser goes.
        """
        try:
            return json.loads(self.content)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


def fetch(method: str, url: str, *, timeout: float, **options: Any) -> Fetched:
    """The status and body of one request, redirects not followed.

    Raises:
        httpx.HTTPError: unreachable, slower than `timeout` in all (a TimeoutException),
            or an answer over MAX_BODY_BYTES.
        httpx.InvalidURL: a URL no request can be made to.
    """
    deadline = time.monotonic() + timeout
    with httpx.stream(method, url, timeout=timeout, follow_redirects=False,
                      **options) as response:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise httpx.ReadError(f"the answer is over {MAX_BODY_BYTES} bytes",
                                      request=response.request)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(f"the answer took over {timeout:g} s",
                                        request=response.request)
        return Fetched(response.status_code, bytes(body))
