"""Usage plans from settings: the plans file, and the enforcer for USAGE_PLANS=local."""

from __future__ import annotations

from app.settings import Settings
from app.usage.enforcer import UsageEnforcer
from app.usage.keys import KeyStore
from app.usage.plans import PlansFile, load_plans


def load_configured_plans(settings: Settings) -> PlansFile:
    """The plans file named by USAGE_PLANS_FILE, validated (PlansFileError names the fault)."""
    return load_plans(settings.usage_plans_file)


def build_key_store(settings: Settings) -> KeyStore:
    return KeyStore(settings.local_pool_dir)


def build_usage_enforcer(settings: Settings, plans: PlansFile) -> UsageEnforcer:
    return UsageEnforcer(plans, build_key_store(settings))
