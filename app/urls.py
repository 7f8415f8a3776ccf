"""Checking that a configured or discovered URL is one an HTTP client can actually fetch."""

from __future__ import annotations

from urllib.parse import urlsplit


def http_url(value: str) -> str:
    """`value`, if it is an absolute http(s) URL with a usable host name.

    Raises:
        ValueError: saying what is wrong: caught at start-up for a setting, so that a typo
            does not wait for the first request to surface as an error there.
    """
    if any(character.isspace() for character in value):
        raise ValueError(f"{value!r} contains white space")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError as exc:  # "http://[::1" and the like
        raise ValueError(f"{value!r} is not a URL ({exc})") from None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"{value!r} is not an absolute http:// or https:// URL")
    if ":" not in host:  # an IPv6 literal has no labels to check
        try:
            host.encode("idna")  # empty or over-long labels, characters no DNS name has
        except UnicodeError:
            raise ValueError(f"{value!r} does not name a valid host") from None
    return value
