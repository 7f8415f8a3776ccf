"""Settings from the environment, and start-up refusing what is wrong."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings


def test_defaults_need_no_aws() -> None:
    settings = load_settings()
    assert settings.auth_backend == "local"
    assert settings.cookie_name == "token" and settings.cookie_samesite == "lax"
    assert settings.cookie_secure is True
    assert settings.user_check_ttl_seconds == 60


@pytest.mark.parametrize("value", [
    "https://a.example, https://b.example/", '["https://a.example", "https://b.example/"]'])
def test_cors_origins_as_a_list_or_json(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", value)
    assert load_settings().cors_allow_origins == ["https://a.example", "https://b.example"]


def test_a_wildcard_origin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "*")
    with pytest.raises(SettingsError, match="CORS_ALLOW_ORIGINS"):
        load_settings()


def test_an_incomplete_cognito_configuration_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH_BACKEND", "cognito")
    monkeypatch.setenv("COGNITO_REGION", "eu-west-1")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "COGNITO_USER_POOL_ID" in str(error.value) and "COGNITO_CLIENT_ID" in str(error.value)
    assert "COGNITO_REGION" not in str(error.value).split("needs", 1)[1]


def test_samesite_none_forces_secure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOKIE_SAMESITE", "none")
    monkeypatch.setenv("COOKIE_SECURE", "false")
    assert load_settings().cookie_secure is True


@pytest.mark.parametrize(("name", "value"), [
    ("AUTH_BACKEND", "ldap"), ("USER_CHECK_TTL_SECONDS", "-1"), ("MAIL_BACKEND", "smtp"),
    ("LOCAL_OIDC_PROVIDERS", "not json"), ("COOKIE_SAMESITE", "sometimes"),
])
def test_wrong_values_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    expected = "SMTP_HOST" if name == "MAIL_BACKEND" else name
    assert expected in str(error.value) or name.lower() in str(error.value)
