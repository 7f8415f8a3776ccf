"""`python -m app users ...` on the local pool, as an operator runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.console import render_table
from app.identity.provider import UserAttributes
from app.main import create_app
from app.settings import Settings

REPO = Path(__file__).parents[1]


@pytest.fixture
def cli(settings: Settings):  # type: ignore[no-untyped-def]
    env = {
        "PATH": "/usr/bin:/bin",
        "LOCAL_POOL_DIR": str(settings.local_pool_dir),
        "MAIL_BACKEND": "outbox",
        "OUTBOX_DIR": str(settings.resolved_outbox_dir),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args], cwd=REPO, env=env,
            capture_output=True, text=True, check=False,
        )

    return run


def test_users_list_reads_like_the_cognito_console(cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    assert "No users yet" in cli("users", "list").stdout
    identity = create_app(settings).state.services.identity
    identity.sign_up("carol", "Correct-Horse-7-Battery", UserAttributes(email="carol@example.com"))
    identity.admin_confirm_sign_up("carol")
    identity.sign_up("dave", "Correct-Horse-7-Battery", UserAttributes(email="dave@example.com"))

    lines = cli("users", "list").stdout.splitlines()
    assert lines[0].split("  ")[0] == "User name"
    assert [h.strip() for h in lines[0].split("  ") if h.strip()] == [
        "User name", "Email", "Email verified", "Confirmation status", "Status"]
    assert lines[2].split() == ["carol", "carol@example.com", "Yes", "Confirmed", "Enabled"]
    assert lines[3].split() == ["dave", "dave@example.com", "No", "Unconfirmed", "Enabled"]

    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [u["username"] for u in listed] == ["carol", "dave"]


def test_confirm_disable_enable_delete(cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    identity = create_app(settings).state.services.identity
    identity.sign_up("erin", "Correct-Horse-7-Battery", UserAttributes(email="erin@example.com"))
    assert cli("users", "confirm", "erin").returncode == 0
    assert identity.admin_get_user("erin").status == "CONFIRMED"
    assert cli("users", "disable", "erin").returncode == 0
    assert identity.admin_get_user("erin").enabled is False
    assert cli("users", "enable", "erin").returncode == 0
    assert json.loads(cli("users", "show", "erin", "--json").stdout)["enabled"] is True

    refused = cli("users", "delete", "erin")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert cli("users", "delete", "erin", "--yes").returncode == 0
    missing = cli("users", "show", "erin")
    assert missing.returncode == 1 and "No user named 'erin'" in missing.stderr


def test_create_prints_a_temporary_password(cli) -> None:  # type: ignore[no-untyped-def]
    created = json.loads(cli("users", "create", "frank", "--email", "f@example.com",
                             "--json").stdout)
    assert created["status"] == "FORCE_CHANGE_PASSWORD"
    assert len(created["temporary_password"]) >= 12


def test_wrong_settings_exit_2_naming_the_variable(cli) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "-m", "app", "users", "list"], cwd=REPO, capture_output=True,
        text=True, env={"PATH": "/usr/bin:/bin", "AUTH_BACKEND": "ldap"}, check=False,
    )
    assert result.returncode == 2
    assert "AUTH_BACKEND" in result.stderr and "Traceback" not in result.stderr


def test_json_is_the_only_thing_on_stdout_whatever_the_mail_backend(
    cli, settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    """The console backend prints a reset code: on stderr, so stdout stays one document."""
    identity = create_app(settings).state.services.identity
    identity.sign_up("gina", "Correct-Horse-7-Battery", UserAttributes(email="g@example.com"))
    identity.admin_confirm_sign_up("gina")
    result = subprocess.run(
        [sys.executable, "-m", "app", "users", "reset-password", "gina", "--json"], cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "LOCAL_POOL_DIR": str(settings.local_pool_dir),
             "MAIL_BACKEND": "console"},
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"username": "gina", "result": "must reset their password"}
    assert "g@example.com" in result.stderr  # the delivery, for the operator to see


def test_confirm_refuses_a_user_who_is_not_waiting_for_it(
    cli, settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    assert cli("users", "create", "hana", "--email", "h@example.com").returncode == 0
    refused = cli("users", "confirm", "hana")
    assert refused.returncode == 1
    assert "Current status is FORCE_CHANGE_PASSWORD" in refused.stderr
    assert json.loads(cli("users", "show", "hana", "--json").stdout)["status"] == (
        "FORCE_CHANGE_PASSWORD")


@pytest.mark.parametrize("argument", [
    ["--email", "notanemail"], ["--phone-number", "123"], ["--phone-number", "+1 555 0100"],
])
def test_create_checks_attributes_as_sign_up_does(
    cli, argument: list[str],  # type: ignore[no-untyped-def]
) -> None:
    refused = cli("users", "create", "ivan", *argument)
    assert refused.returncode == 2 and "is not valid" in refused.stderr
    assert "No users yet" in cli("users", "list").stdout


@pytest.mark.parametrize("limit", ["0", "-1", "61", "many"])
def test_list_limit_is_cognitos_range(cli, limit: str) -> None:  # type: ignore[no-untyped-def]
    refused = cli("users", "list", "--limit", limit)
    assert refused.returncode == 2 and "--limit" in refused.stderr


def test_a_cut_short_list_says_so(cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    identity = create_app(settings).state.services.identity
    for name in ("jo", "kim", "lee"):
        identity.sign_up(name, "Correct-Horse-7-Battery",
                         UserAttributes(email=f"{name}@example.com"))
    listed = cli("users", "list", "--limit", "2").stdout
    assert "jo" in listed and "kim" in listed and "lee" not in listed
    assert "the first 2" in listed
    assert "the first" not in cli("users", "list", "--limit", "3").stdout


def test_a_pool_that_cannot_be_opened_names_where_it_is(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "pool"
    not_a_directory.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "app", "users", "list"], cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "LOCAL_POOL_DIR": str(not_a_directory)},
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(not_a_directory) in result.stderr and "LOCAL_POOL_DIR" in result.stderr


def test_a_table_shows_control_characters_escaped() -> None:
    # A name from elsewhere (a Cognito pool, a provider) must not act on the terminal, nor
    # forge a row with a newline.
    table = render_table([["evil\nalice", "x\x1b[2Jy"]], ["user name", "email"])
    lines = table.splitlines()
    assert len(lines) == 3 and "\x1b" not in table
    assert lines[2].split() == ["evil\\nalice", "x\\x1b[2Jy"]
