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
from app.identity.provider import check_username_characters


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
    check_username_characters(username)
    if "@" in username:
        # The email is a sign-in alias, so a username may not look like one.
        raise InvalidParameterError("Username cannot be an email address; use the email field.")
    key = subject_key(username)
    for provider in federated_providers:
        if key.startswith(subject_key(f"{provider}_")):
            raise InvalidParameterError(
                f"Usernames starting with '{provider}_' are kept for sign-in with {provider}."
            )
