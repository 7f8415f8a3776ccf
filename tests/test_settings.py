"""Settings from the environment, and start-up refusing what is wrong."""

from __future__ import annotations

import json

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


def _providers(*entries: tuple[str, str]) -> str:
    return json.dumps([{"name": name, "issuer": issuer, "client_id": "app"}
                       for name, issuer in entries])


@pytest.mark.parametrize("issuer", [
    "http://[::1", "https://exämple..com", "accounts.google.com", "ftp://idp.example",
    "https://idp.example:port", "https://idp.example/ x",
])
def test_an_issuer_that_cannot_be_fetched_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, issuer: str
) -> None:
    monkeypatch.setenv("LOCAL_OIDC_PROVIDERS", _providers(("corp", issuer)))
    with pytest.raises(SettingsError, match="LOCAL_OIDC_PROVIDERS"):
        load_settings()


def test_usable_issuers_are_kept_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # `iss` is compared as a string: no slash added, nothing normalised.
    issuers = ["https://accounts.google.com", "http://127.0.0.1:9000/realms/x/",
               "http://[::1]:8080"]
    monkeypatch.setenv("LOCAL_OIDC_PROVIDERS",
                       _providers(*((f"p{i}", issuer) for i, issuer in enumerate(issuers))))
    assert [p.issuer for p in load_settings().local_oidc_providers] == issuers


def test_provider_names_must_differ_in_more_than_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_OIDC_PROVIDERS", _providers(
        ("corp", "https://a.example"), ("Corp", "https://b.example")))
    with pytest.raises(SettingsError, match="corp"):
        load_settings()
