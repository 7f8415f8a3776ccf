"""Federated users of the embedded pool: `<provider>_<sub>`, and whose they may be."""

from __future__ import annotations

import pytest

from app.errors import NotAuthorizedError
from tests.identity.local.conftest import Pool


class TestLinkExternalUser:
    def test_created_once_then_found(self, pool: Pool) -> None:
        pool.provider.link_external_user("Google", "123", "ann@example.com", True)
        pool.provider.link_external_user("Google", "123", "ann@example.com", True)
        users = [u for u in pool.provider.admin_list_users() if u.username == "Google_123"]
        assert len(users) == 1
        assert (users[0].status, users[0].email_verified) == ("EXTERNAL_PROVIDER", True)

    def test_unverified_email_is_no_alias(self, pool: Pool) -> None:
        pool.provider.link_external_user("Google", "123", "ann@example.com", False)
        assert not pool.provider.admin_get_user("Google_123").email_verified
        # Not an alias: a password user may still confirm the address as theirs.
        pool.confirmed("ann", "ann@example.com")
        assert pool.provider.admin_get_user("ann").email_verified

    def test_email_held_verified_by_another_stays_unverified(self, pool: Pool) -> None:
        pool.confirmed("ann", "ann@example.com")
        pool.provider.link_external_user("Google", "123", "ann@example.com", True)
        assert not pool.provider.admin_get_user("Google_123").email_verified
        assert pool.provider.admin_get_user("ann").email_verified

    def test_verified_without_an_email_is_not_verified(self, pool: Pool) -> None:
        pool.provider.link_external_user("Google", "123", None, True)
        assert not pool.provider.admin_get_user("Google_123").email_verified

    def test_a_password_user_with_that_name_is_not_handed_over(self, pool: Pool) -> None:
        pool.confirmed("Google_123")
        with pytest.raises(NotAuthorizedError):
            pool.provider.link_external_user("Google", "123", "x@example.com", True)

    def test_subs_differing_in_case_are_different_people(self, pool: Pool) -> None:
        pool.provider.link_external_user("oidc", "AbC", "a@example.com", True)
        with pytest.raises(NotAuthorizedError):
            pool.provider.link_external_user("oidc", "abc", "b@example.com", True)

    def test_a_disabled_user_is_refused(self, pool: Pool) -> None:
        pool.provider.link_external_user("Google", "123", "ann@example.com", True)
        pool.provider.admin_set_enabled("Google_123", False)
        with pytest.raises(NotAuthorizedError):
            pool.provider.link_external_user("Google", "123", "ann@example.com", True)
