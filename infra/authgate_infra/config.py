"""The stack's settings, read once from CDK context (`cdk.json`, then `-c key=value`).

Values given on the command line arrive as strings ("true", "300"), values from cdk.json as
JSON types; both are accepted. Every mistake stops synthesis with a message naming the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from constructs import Node

from app.settings import DEFAULT_PLANS_FILE
from app.usage.plans import PlansFile, PlansFileError, load_plans

INFRA_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = INFRA_DIR.parent
CDK_JSON = INFRA_DIR / "cdk.json"

# The defaults of the context keys; cdk.json repeats them so that they are visible to an
# operator, and a test keeps the two equal.
DEFAULTS: dict[str, Any] = {
    "stack_name": "Authgate",
    "removal_policy": "retain",
    "packaging": "image",
    "authorizer": False,
    "authorizer_cache_ttl": 300,
    "authorizer_paths": ["/protected"],
    "mfa_sms": False,
    "log_retention_days": 30,
    "cloudwatch_role": True,
}

# CloudWatch Logs accepts only these retention periods (infra/stack.py maps them).
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)
_SAMESITE = ("lax", "strict", "none")


class ContextError(ValueError):
    """A context value is wrong or a combination is incomplete; the message names the key."""


def cdk_json_context() -> dict[str, Any]:
    """The `context` of infra/cdk.json: feature flags and the defaults above.

    The cdk command line passes it to the app itself; `python app.py` and the tests read it
    here, so all three synthesize the same template.
    """
    return dict(json.loads(CDK_JSON.read_text())["context"])


@dataclass(frozen=True)
class OAuthProvider:
    """A social identity provider: its public client id and the Secrets Manager secret that
    holds its client secret (never the secret itself)."""

    client_id: str
    secret_name: str


@dataclass(frozen=True)
class AuthgateConfig:
    """Everything the stack reads from context, validated."""

    stack_name: str
    removal_policy: Literal["retain", "destroy"]
    packaging: Literal["image", "zip"]
    plans_file: Path
    plans: PlansFile
    domain_prefix: str | None
    google: OAuthProvider | None
    facebook: OAuthProvider | None
    public_base_url: str | None
    cookie_samesite: str | None
    cors_allow_origins: tuple[str, ...]
    authorizer: bool
    authorizer_cache_ttl: int
    authorizer_paths: tuple[str, ...]
    mfa_sms: bool
    log_retention_days: int
    cloudwatch_role: bool
    bundling_python: str | None

    @property
    def federation(self) -> bool:
        """A hosted-UI domain exists, so the app client gets OAuth settings."""
        return self.domain_prefix is not None

    @classmethod
    def from_context(cls, node: Node) -> AuthgateConfig:
        """Read and check every key.

        Raises:
            ContextError: naming the key at fault and what it accepts.
        """
        reader = _Reader(node)
        plans_file = reader.path("plans_file") or DEFAULT_PLANS_FILE
        try:
            plans = load_plans(plans_file)
        except PlansFileError as exc:
            raise ContextError(f"plans_file: {exc}") from None
        domain_prefix = reader.text("domain_prefix")
        google = reader.provider("google_client_id", "google_client_secret_name")
        facebook = reader.provider("facebook_app_id", "facebook_app_secret_name")
        if (google or facebook) and domain_prefix is None:
            raise ContextError(
                "google_client_id / facebook_app_id need domain_prefix: federated sign-in "
                "goes through the user pool's hosted domain"
            )
        public_base_url = reader.text("public_base_url")
        if public_base_url is not None and not public_base_url.startswith("https://"):
            raise ContextError("public_base_url must start with https://")
        return cls(
            stack_name=reader.text("stack_name") or DEFAULTS["stack_name"],
            removal_policy=reader.choice("removal_policy", ("retain", "destroy")),  # type: ignore[arg-type]
            packaging=reader.choice("packaging", ("image", "zip")),  # type: ignore[arg-type]
            plans_file=plans_file,
            plans=plans,
            domain_prefix=domain_prefix,
            google=google,
            facebook=facebook,
            public_base_url=public_base_url.rstrip("/") if public_base_url else None,
            cookie_samesite=reader.optional_choice("cookie_samesite", _SAMESITE),
            cors_allow_origins=reader.origins("cors_allow_origins"),
            authorizer=reader.flag("authorizer"),
            authorizer_cache_ttl=reader.integer("authorizer_cache_ttl", 0, 3600),
            authorizer_paths=reader.authorizer_paths("authorizer_paths"),
            mfa_sms=reader.flag("mfa_sms"),
            log_retention_days=reader.retention("log_retention_days"),
            cloudwatch_role=reader.flag("cloudwatch_role"),
            bundling_python=reader.text("bundling_python"),
        )


class _Reader:
    """Typed access to context values, falling back to DEFAULTS."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def raw(self, key: str) -> Any:
        value = self._node.try_get_context(key)
        return DEFAULTS.get(key) if value is None or value == "" else value

    def text(self, key: str) -> str | None:
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ContextError(f"{key} must be a string, not {value!r}")
        return value.strip() or None

    def path(self, key: str) -> Path | None:
        # Relative to the folder the app runs in (infra/ for the cdk command line), as an
        # operator typing `-c plans_file=...` there would expect.
        value = self.text(key)
        return Path(value).expanduser().resolve() if value else None

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.optional_choice(key, allowed)
        if value is None:
            raise ContextError(f"{key} is required: one of {', '.join(allowed)}")
        return value

    def optional_choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(key)
        if value is not None and value.lower() not in allowed:
            raise ContextError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
        return value.lower() if value else None

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ContextError(f"{key} must be true or false, not {value!r}")

    def integer(self, key: str, least: int, most: int) -> int:
        value = self.raw(key)
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ContextError(f"{key} must be a whole number, not {value!r}") from None
        if isinstance(value, bool) or not least <= number <= most:
            raise ContextError(f"{key} must be between {least} and {most}, not {value!r}")
        return number

    def retention(self, key: str) -> int:
        days = self.integer(key, 1, 3653)
        if days not in RETENTION_DAYS:
            raise ContextError(
                f"{key} must be a CloudWatch Logs retention period: "
                f"{', '.join(str(d) for d in RETENTION_DAYS)}"
            )
        return days

    def _items(self, key: str, what: str) -> tuple[str, ...]:
        """A JSON list in cdk.json, or a comma-separated string on the command line; each
        item stripped, and of its final slash."""
        value = self.raw(key)
        if value is None:
            return ()
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise ContextError(f"{key} must be a list of {what} or a comma-separated string")
        return tuple(item.strip().rstrip("/") for item in items if item.strip())

    def origins(self, key: str) -> tuple[str, ...]:
        origins = self._items(key, "origins")
        if "*" in origins:
            raise ContextError(f"{key}: '*' cannot be used with cookies; list the exact origins")
        return origins

    def authorizer_paths(self, key: str) -> tuple[str, ...]:
        # The routes that need a signed-in user; /public, for one, is open to anyone.
        paths = self._items(key, "paths")
        for path in paths:
            if not path.startswith("/") or path == "/auth" or path.startswith("/auth/"):
                raise ContextError(f"{key}: {path!r} must be a path outside /auth")
        return paths

    def provider(self, id_key: str, secret_key: str) -> OAuthProvider | None:
        client_id, secret_name = self.text(id_key), self.text(secret_key)
        if client_id is None and secret_name is None:
            return None
        if client_id is None or secret_name is None:
            raise ContextError(f"{id_key} and {secret_key} go together; set both or neither")
        return OAuthProvider(client_id, secret_name)
