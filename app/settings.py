"""Settings, read once from the environment (SPEC §9).

Only factories read these; backends take plain constructor arguments.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from app.urls import http_url

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PLANS_FILE = Path(__file__).resolve().parent / "usage" / "default_plans.json"


class SettingsError(Exception):
    """A setting is wrong or missing; the message names it and says what to do."""


class OidcProviderSettings(BaseModel):
    """One OpenID Connect provider the local pool federates with."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    issuer: str
    client_id: str
    client_secret: SecretStr | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])

    @field_validator("issuer")
    @classmethod
    def _fetchable_issuer(cls, value: str) -> str:
        return http_url(value)


class Settings(BaseSettings):
    """Every setting of the app; the environment variable is the upper-cased field name."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, frozen=True)

    auth_backend: Literal["local", "cognito"] = "local"

    # The embedded user pool.
    local_pool_dir: Path = Path(".local-pool")
    local_pool_issuer: str = "http://localhost:8000"
    local_oidc_providers: list[OidcProviderSettings] = Field(default_factory=list)
    password_min_length: int = Field(8, ge=6, le=99)
    password_require_uppercase: bool = True
    password_require_lowercase: bool = True
    password_require_numbers: bool = True
    password_require_symbols: bool = True

    # Messages (email, SMS) from the local pool.
    mail_backend: Literal["console", "outbox", "smtp"] = "console"
    outbox_dir: Path | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(10.0, gt=0)
    mail_from: str = "no-reply@localhost"

    # Amazon Cognito.
    cognito_region: str | None = None
    cognito_user_pool_id: str | None = None
    cognito_client_id: str | None = None
    cognito_client_secret: SecretStr | None = None
    cognito_endpoint_url: str | None = None
    cognito_jwks_url: str | None = None
    cognito_domain: str | None = None
    cognito_identity_pool_id: str | None = None
    # The identity providers of the pool's managed login (Google, Facebook, ...), so the
    # frontend can offer a button for each; the stack sets it from its context.
    cognito_identity_providers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cognito_timeout_seconds: float = Field(5.0, gt=0)

    # The browser side.
    public_base_url: str | None = None
    # Seals the federated sign-in's flow cookie. Needed wherever the callback may reach
    # another process than the redirect did (Lambda); the local pool's secret file serves
    # when it is unset. See docs/federation.md.
    session_secret: SecretStr | None = None
    oidc_timeout_seconds: float = Field(5.0, gt=0, le=30)
    cookie_name: str = Field("token", pattern=r"^[A-Za-z0-9_-]+$")
    cookie_secure: bool = True
    cookie_samesite: Literal["lax", "strict", "none"] = "lax"
    cookie_domain: str | None = None
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Tokens.
    user_check_ttl_seconds: int = Field(60, ge=0)
    jwks_refetch_cooldown_seconds: float = Field(30.0, ge=0)

    # API keys and usage plans.
    usage_plans: Literal["off", "local", "gateway"] = "off"
    usage_plans_file: Path = DEFAULT_PLANS_FILE

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    app_name: str = Field("authgate", description="shown in messages and authenticator apps")

    @field_validator("cors_allow_origins", "cognito_identity_providers", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        # Browsers refuse "*" with credentials, and echoing any origin instead would hand
        # every site on the web a signed-in session.
        if "*" in value:
            raise ValueError("'*' cannot be used with cookies; list the exact origins")
        # An Origin header never ends with "/": "https://app.example/" would match nothing.
        return [origin.strip().rstrip("/") for origin in value]

    @field_validator("local_oidc_providers")
    @classmethod
    def _distinct_providers(
        cls, value: list[OidcProviderSettings]
    ) -> list[OidcProviderSettings]:
        # Usernames ignore case, so `corp_<sub>` and `Corp_<sub>` would be one user.
        names = [provider.name.casefold() for provider in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"provider names must differ in more than case: {repeated}")
        return value

    @field_validator("session_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters: make one with `openssl rand -hex 32`")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        # OAuth redirect URIs are compared as strings: one form only, without a final slash.
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be a URL with its scheme, such as https://app.example.com")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.auth_backend == "cognito":
            missing = [
                name.upper()
                for name in ("cognito_region", "cognito_user_pool_id", "cognito_client_id")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(
                    f"AUTH_BACKEND=cognito needs {', '.join(missing)}: set them to the pool's "
                    "region, id and app client id, or use AUTH_BACKEND=local"
                )
        if self.mail_backend == "smtp" and not self.smtp_host:
            raise ValueError("MAIL_BACKEND=smtp needs SMTP_HOST")
        if self.cookie_samesite == "none" and not self.cookie_secure:
            # Browsers drop SameSite=None cookies that are not Secure.
            object.__setattr__(self, "cookie_secure", True)
        return self

    @property
    def federated_providers(self) -> list[str]:
        """The names `/auth/oauth/{provider}/authorize` accepts with this backend."""
        if self.auth_backend == "cognito":
            return list(self.cognito_identity_providers) if self.cognito_domain else []
        return [provider.name for provider in self.local_oidc_providers]

    @property
    def resolved_outbox_dir(self) -> Path:
        return self.outbox_dir or self.local_pool_dir / "outbox"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's report into one message per bad variable.

    Raises:
        SettingsError: a value is wrong or a combination is incomplete.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = "_".join(str(part) for part in error["loc"]).upper()
            reason = error["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {reason}" if where else reason)
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from None
    except (json.JSONDecodeError, SourceError) as exc:
        raise SettingsError(f"Invalid settings: {exc}; JSON values must be valid JSON") from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own with `load_settings`."""
    return load_settings()
