"""Where a browser goes after a federated sign-in: a path on this site, never elsewhere.

`redirect_to` arrives as a query parameter anyone can write into a link, so an open
redirect here would let a phishing link borrow this site's sign-in page to land a freshly
signed-in user on another site.
"""

from __future__ import annotations

from urllib.parse import unquote, urlencode, urlsplit

MAX_REDIRECT_LENGTH = 512


def _is_control(character: str) -> bool:
    return ord(character) < 0x20 or 0x7F <= ord(character) <= 0x9F


def safe_redirect_path(value: str | None) -> str:
    """`value` if it is a path on this site, else "/".

    A path starts with one "/", never "//" (a network-path reference: `//evil` is another
    host) nor "/\\" (browsers read a backslash as a slash); it holds no backslash, no
    control character and no scheme or host, checked again once percent-decoded.
    """
    if not value or len(value) > MAX_REDIRECT_LENGTH:
        return "/"
    for candidate in (value, unquote(value)):
        if (
            not candidate.startswith("/")
            or candidate.startswith(("//", "/\\"))
            or "\\" in candidate
            or any(_is_control(character) for character in candidate)
        ):
            return "/"
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return "/"
    return value


def error_location(prefix: str, code: str, message: str) -> str:
    """The frontend's page with the failure: `<prefix>/?auth_error=CODE&message=TEXT`."""
    return f"{prefix}/?{urlencode({'auth_error': code, 'message': message})}"
