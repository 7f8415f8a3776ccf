"""How the embedded pool compares names, and which usernames it takes.

Usernames and emails compare as Cognito's do, without case; and also without the
differences a person cannot see: a precomposed "é" and "e" with a combining accent,
full-width letters, ligatures (Unicode NFKC). A username takes letters, marks, symbols,
numbers and punctuation only (Cognito's `[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+`): no spaces,
and none of the invisible characters (zero-width spaces, joiners, controls) that would let
two names look the same.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from app.errors import InvalidParameterError

MAX_USERNAME_LENGTH = 128
_USERNAME_CATEGORIES = frozenset("LMSNP")  # the first letter of a Unicode category


def subject_key(name: str) -> str:
    """The form two names are compared in: NFKC, then case-folded (and NFKC again, as
    folding can undo it)."""
    folded = unicodedata.normalize("NFKC", name.strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def check_username(username: str, *, federated_providers: Iterable[str] = ()) -> None:
    """Raise `InvalidParameterError` for a username the pool does not take.

    `<provider>_...` is kept for the users federated sign-in creates (`<provider>_<sub>`):
    taking one would lock that person out of their provider's sign-in.
    """
    if not 1 <= len(username) <= MAX_USERNAME_LENGTH or any(
        unicodedata.category(character)[0] not in _USERNAME_CATEGORIES
        for character in username
    ):
        raise InvalidParameterError(
            f"Username must be 1 to {MAX_USERNAME_LENGTH} letters, digits, marks, symbols or "
            "punctuation: no spaces or invisible characters."
        )
    if "@" in username:
        # The email is a sign-in alias, so a username may not look like one.
        raise InvalidParameterError("Username cannot be an email address; use the email field.")
    key = subject_key(username)
    for provider in federated_providers:
        if key.startswith(subject_key(f"{provider}_")):
            raise InvalidParameterError(
                f"Usernames starting with '{provider}_' are kept for sign-in with {provider}."
            )
