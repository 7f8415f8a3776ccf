"""The common-password check: the list, and the decorations a policy makes people add."""

from __future__ import annotations

import pytest

from app.errors import InvalidPasswordError
from app.identity.local.passwords import PasswordPolicy, is_common_password


@pytest.mark.parametrize("password", [
    "password", "PASSWORD",          # the list, in any case
    "Password1!", "Password123!",    # what the default policy makes of it
    "!Qwerty123", "Welcome1!", "Admin@123", "Test@1234", "Sunshine#2024",
    "P@ssw0rd", "p4$$w0rd",          # look-alike characters
    "12345678!",                     # digits are the word here: only the symbol is added
])
def test_common_passwords_and_their_decorations(password: str) -> None:
    assert is_common_password(password)


@pytest.mark.parametrize("password", [
    "Correct-Horse-7-Battery", "Tr0ub4dor&3", "xK9#mQ2v!zLp", "Blue-Horse-7!",
    "Ab1!",  # a core of fewer than three letters is no word of the list
])
def test_passwords_that_are_not_on_the_list(password: str) -> None:
    assert not is_common_password(password)


def test_the_policy_names_the_rule() -> None:
    with pytest.raises(InvalidPasswordError, match="common or breached"):
        PasswordPolicy().check("Password1!")
