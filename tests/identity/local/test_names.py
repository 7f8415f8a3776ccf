"""Names that look the same to a person are the same name; invisible characters are refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.errors import InvalidParameterError, UsernameExistsError
from app.identity.local.names import check_username, subject_key
from app.identity.local.passwords import PasswordHashing
from app.identity.local.provider import LocalIdentityProvider
from app.identity.provider import TokenSet
from tests.identity.local.conftest import Mailbox, Pool
from tests.support.clock import Clock

FULL_WIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"


@pytest.mark.parametrize(("typed", "seen"), [
    ("Jose\u0301", "José"),  # a combining accent, and the precomposed letter
    (FULL_WIDTH_ALICE, "alice"),  # full-width letters
    ("\ufb00ion", "ffion"),  # a ligature
    ("STRASSE", "straße"),
    (" Bob ", "bob"),
])
def test_names_a_person_cannot_tell_apart_compare_equal(typed: str, seen: str) -> None:
    assert subject_key(typed) == subject_key(seen)


@pytest.mark.parametrize("username", [
    "bob\u200b", "\ufeffbob", "bo\u00adb", "bo\u200db", "bo\u2060b",  # invisible
    "ivy\u0000", "ops\u001b",  # controls
    "two words", "tab\there", "", "x" * 129, "someone@example.com",
])
def test_usernames_refused(username: str) -> None:
    with pytest.raises(InvalidParameterError):
        check_username(username)


@pytest.mark.parametrize("username", ["Google_123", "google_x", "GOOGLE_", "\uff27oogle_1"])
def test_a_federated_providers_prefix_is_kept_for_it(username: str) -> None:
    with pytest.raises(InvalidParameterError, match="Google_"):
        check_username(username, federated_providers=["Google"])
    check_username(username)  # without the provider, an ordinary name
    check_username("Googler_1", federated_providers=["Google"])


@pytest.mark.parametrize("username", ["alice", "José", "Jose\u0301", "日本語", "o'brien", "x+y"])
def test_usernames_taken(username: str) -> None:
    check_username(username)


def test_one_account_whichever_form_is_typed(pool: Pool) -> None:
    pool.confirmed("José", "jose@example.com")
    with pytest.raises(UsernameExistsError):
        pool.sign_up("Jose\u0301", "other@example.com")
    assert isinstance(pool.tokens("JOSE\u0301"), TokenSet)


def test_a_pool_made_before_normalising_is_brought_up_to_date(tmp_path: Path) -> None:
    directory = tmp_path / "pool"

    def open_pool() -> Pool:
        clock, mailbox = Clock(), Mailbox()
        provider = LocalIdentityProvider(
            directory, issuer="https://pool.test", mailer=mailbox, clock=clock,
            hashing=PasswordHashing(),
        )
        return Pool(provider, clock, mailbox)

    old = open_pool()
    old.confirmed(FULL_WIDTH_ALICE, f"{FULL_WIDTH_ALICE}@example.com")
    # As the version before wrote it: keys only case-folded.
    with sqlite3.connect(old.provider.store.path) as conn:
        conn.execute("UPDATE users SET username_key = ?, email_key = ?",
                     (FULL_WIDTH_ALICE, f"{FULL_WIDTH_ALICE}@example.com"))
        conn.execute("PRAGMA user_version = 1")

    reopened = open_pool()
    assert isinstance(reopened.tokens("alice"), TokenSet)
    assert isinstance(reopened.tokens("alice@example.com"), TokenSet)
