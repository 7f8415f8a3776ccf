"""The usage-plans file: one JSON document read by the app (USAGE_PLANS=local) and by infra/.

    {
      "api_key_required": ["ANY /public", "GET /protected"],
      "plans": [{
        "name": "Basic",
        "throttle": {"rate_limit": 10, "burst_limit": 20},
        "quota": {"limit": 1000, "period": "DAY", "offset": 0},
        "method_throttles": {"GET /protected": {"rate_limit": 5, "burst_limit": 10}}
      }],
      "keys": [{"name": "example", "plan": "Basic"}],
      "development_plan": "Basic"
    }

The fields mean what API Gateway's `UsagePlan` fields mean. Routes are "METHOD /path",
with ANY for every method, as API Gateway names a method of a resource.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.settings import SettingsError

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "ANY"})


class PlansFileError(SettingsError):
    """The plans file is unreadable or wrong; the message names the plan and the field."""


def parse_route(route: str) -> tuple[str, str]:
    """`"GET /protected"` -> `("GET", "/protected")`, normalised."""
    method, _, path = route.strip().partition(" ")
    method, path = method.upper(), path.strip()
    if method not in HTTP_METHODS:
        raise ValueError(f"{route!r}: the method must be one of {', '.join(sorted(HTTP_METHODS))}")
    if not path.startswith("/") or "//" in path or " " in path:
        raise ValueError(f"{route!r}: the path must start with / and hold no spaces")
    return method, path.rstrip("/") or "/"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Throttle(_Strict):
    rate_limit: float = Field(gt=0, description="requests per second, on average")
    burst_limit: int = Field(ge=1, description="requests at once")


class Quota(_Strict):
    limit: int = Field(ge=1)
    period: Literal["DAY", "WEEK", "MONTH"]
    offset: int = Field(0, ge=0, description="days into the period when it starts (WEEK, MONTH)")

    @model_validator(mode="after")
    def _offset_fits(self) -> Quota:
        # API Gateway: no offset for DAY, 0-6 for WEEK, 0-27 for MONTH.
        most = {"DAY": 0, "WEEK": 6, "MONTH": 27}[self.period]
        if self.offset > most:
            raise ValueError(f"offset must be at most {most} for a {self.period} quota")
        return self


class Plan(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
    description: str = ""
    throttle: Throttle
    quota: Quota | None = None
    method_throttles: dict[str, Throttle] = Field(default_factory=dict)

    @field_validator("method_throttles")
    @classmethod
    def _routes(cls, value: dict[str, Throttle]) -> dict[str, Throttle]:
        normalised = {}
        for route, throttle in value.items():
            method, path = parse_route(route)
            if method == "ANY":
                raise ValueError(f"{route!r}: a method throttle names one method, not ANY")
            normalised[f"{method} {path}"] = throttle
        return normalised


class KeySpec(_Strict):
    name: str = Field(min_length=1, max_length=128)
    plan: str
    description: str = ""
    enabled: bool = True


class PlansFile(_Strict):
    api_key_required: list[str] = Field(default_factory=list)
    plans: list[Plan] = Field(min_length=1)
    keys: list[KeySpec] = Field(default_factory=list)
    development_plan: str | None = None

    @field_validator("api_key_required")
    @classmethod
    def _key_routes(cls, value: list[str]) -> list[str]:
        return [" ".join(parse_route(route)) for route in value]

    @model_validator(mode="after")
    def _names_resolve(self) -> PlansFile:
        names = [plan.name for plan in self.plans]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"plan names must be unique: {', '.join(sorted(duplicates))}")
        for key in self.keys:
            if key.plan not in names:
                raise ValueError(f"key {key.name!r} names plan {key.plan!r}, which is not defined")
        if self.development_plan is not None and self.development_plan not in names:
            raise ValueError(f"development_plan {self.development_plan!r} is not defined")
        return self

    def plan(self, name: str) -> Plan:
        for plan in self.plans:
            if plan.name == name:
                return plan
        raise KeyError(name)

    @property
    def key_routes(self) -> list[tuple[str, str]]:
        """(method, path) pairs that need a key; method may be ANY."""
        return [parse_route(route) for route in self.api_key_required]


def _where(loc: tuple[int | str, ...], document: object) -> str:
    """`("plans", 1, "quota", "limit")` -> `plan 'Pro', field quota.limit`."""
    if len(loc) >= 2 and loc[0] == "plans" and isinstance(loc[1], int):
        try:
            name = document["plans"][loc[1]]["name"]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            name = f"#{loc[1] + 1}"
        field = ".".join(str(part) for part in loc[2:]) or "(the plan)"
        return f"plan {name!r}, field {field}"
    return "field " + ".".join(str(part) for part in loc) if loc else "the file"


def load_plans(path: Path) -> PlansFile:
    """Read and validate a plans file.

    Raises:
        PlansFileError: naming the file, the plan and the field at fault.
    """
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise PlansFileError(f"{path}: no such file (set USAGE_PLANS_FILE)") from None
    except (OSError, ValueError) as exc:
        raise PlansFileError(f"{path}: not readable JSON ({exc})") from None
    try:
        return PlansFile.model_validate(document)
    except ValidationError as exc:
        problems = [
            f"{_where(tuple(error['loc']), document)}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise PlansFileError(f"{path}:\n  " + "\n  ".join(problems)) from None
