"""`python -m app users ...` on the cognito backend, against moto through the admin APIs,
and the start-up check that refuses an incomplete Cognito configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings
from tests.support.moto import MotoPool, MotoServer
from tests.support.users import PASSWORD, unique_username

REPO = Path(__file__).resolve().parents[1]
COGNITO_VARIABLES = ("COGNITO_REGION", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID")


def run_app(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # The shell's own settings never leak in: only PATH-like basics and what the test gives.
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("AUTH_", "COGNITO_", "LOCAL_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=REPO, env={**base, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )


class TestSettings:
    def test_all_missing_are_named(self) -> None:
        with pytest.raises(SettingsError) as raised:
            load_settings(auth_backend="cognito")
        for name in COGNITO_VARIABLES:
            assert name in str(raised.value)

    @pytest.mark.parametrize("missing", COGNITO_VARIABLES)
    def test_each_missing_one_is_named(self, missing: str) -> None:
        given = {name.lower(): "value" for name in COGNITO_VARIABLES if name != missing}
        with pytest.raises(SettingsError) as raised:
            load_settings(auth_backend="cognito", **given)
        assert missing in str(raised.value)
        assert not any(name in str(raised.value) for name in COGNITO_VARIABLES if name != missing)

    def test_the_command_line_exits_2_naming_it(self) -> None:
        result = run_app({"AUTH_BACKEND": "cognito", "COGNITO_REGION": "us-east-1",
                          "COGNITO_CLIENT_ID": "client"}, "users", "list")
        assert result.returncode == 2
        assert "COGNITO_USER_POOL_ID" in result.stderr
        assert "Traceback" not in result.stderr


class TestUsersCommand:
    def test_operator_commands_through_the_admin_apis(
        self, moto_server: MotoServer, moto_pool: MotoPool
    ) -> None:
        env, idp, pool_id = moto_pool.env(), moto_server.idp(), moto_pool.pool_id

        def admin_get(name: str) -> dict[str, object]:
            return dict(idp.admin_get_user(UserPoolId=pool_id, Username=name))

        created_name = unique_username("op")
        created = run_app(env, "users", "create", created_name, "--email",
                          f"{created_name}@example.com", "--temporary-password", PASSWORD,
                          "--json")
        assert created.returncode == 0, created.stderr
        assert json.loads(created.stdout)["status"] == "FORCE_CHANGE_PASSWORD"

        listed = run_app(env, "users", "list", "--json")
        assert created_name in [user["username"] for user in json.loads(listed.stdout)]
        shown = run_app(env, "users", "show", created_name, "--json")
        assert json.loads(shown.stdout)["email"] == f"{created_name}@example.com"

        assert run_app(env, "users", "disable", created_name).returncode == 0
        assert admin_get(created_name)["Enabled"] is False
        assert run_app(env, "users", "enable", created_name).returncode == 0
        assert admin_get(created_name)["Enabled"] is True

        name = unique_username("self")
        idp.sign_up(ClientId=moto_pool.client_id, Username=name, Password=PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}])
        confirmed = run_app(env, "users", "confirm", name)
        assert (confirmed.returncode, confirmed.stdout.strip()) == (0, f"{name}: confirmed")
        assert admin_get(name)["UserStatus"] == "CONFIRMED"

        assert run_app(env, "users", "reset-password", name).returncode == 0
        assert admin_get(name)["UserStatus"] == "RESET_REQUIRED"

        assert run_app(env, "users", "delete", name).returncode == 2, "asks for --yes"
        assert run_app(env, "users", "delete", name, "--yes").returncode == 0
        with pytest.raises(idp.exceptions.UserNotFoundException):
            idp.admin_get_user(UserPoolId=pool_id, Username=name)

    def test_an_unknown_user_is_an_error_that_says_so(self, moto_pool: MotoPool) -> None:
        result = run_app(moto_pool.env(), "users", "show", "nobody")
        assert result.returncode == 1
        assert "No user named 'nobody'" in result.stderr
        assert "Traceback" not in result.stderr

    def test_no_aws_credentials_is_an_error_that_says_what_to_do(
        self, moto_pool: MotoPool, tmp_path: Path
    ) -> None:
        nowhere = str(tmp_path / "none")
        result = run_app({
            **moto_pool.env(), "AWS_SHARED_CREDENTIALS_FILE": nowhere,
            "AWS_CONFIG_FILE": nowhere, "AWS_EC2_METADATA_DISABLED": "true",
            # Empty counts as unset for botocore; run_app starts from this process's env.
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
        }, "users", "list")
        assert result.returncode == 1
        assert "no usable AWS credentials" in result.stderr
        assert "AWS_PROFILE" in result.stderr
        assert "Traceback" not in result.stderr
