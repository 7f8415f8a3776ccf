"""Synthesizing the stack for tests the way infra/app.py does, and reading the result.

`FULL_CONTEXT` turns every option on; tests/infra/conftest.py makes it and the default
variant once per session.
"""

from __future__ import annotations

import os

# Before aws_cdk is imported: jsii prints a long end-of-life banner for Node.js 20 otherwise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from app.usage.plans import PlansFile, load_plans
from infra.authgate_infra.config import AuthgateConfig, cdk_json_context
from infra.stack import AuthgateStack

DATA = Path(__file__).resolve().parent.parent / "infra" / "data"
CUSTOM_PLANS = DATA / "custom_plans.json"

FULL_CONTEXT: dict[str, Any] = {
    "stack_name": "AuthgateFull",
    "removal_policy": "destroy",
    "packaging": "zip",
    "plans_file": str(CUSTOM_PLANS),
    "domain_prefix": "authgate-test",
    "google_client_id": "1234-abcd.apps.googleusercontent.com",
    "google_client_secret_name": "authgate/google-client-secret",
    "facebook_app_id": "987654321",
    "facebook_app_secret_name": "authgate/facebook-app-secret",
    # As the cdk command line passes them: strings.
    "authorizer": "true",
    "authorizer_cache_ttl": "0",
    "mfa_sms": "true",
    "cookie_samesite": "none",
    "cors_allow_origins": "https://app.example.com, https://admin.example.com/",
    "log_retention_days": "7",
    "cloudwatch_role": "false",
    # Skips bundling, CDK's own switch (what `cdk ls` uses): bundling the zip pip-installs
    # about 100 MB of wheels from PyPI, which is network and 10-20 s. The bundler's
    # commands are tested on their own, and `python app.py` with packaging=zip runs it.
    "aws:cdk:bundling-stacks": [],
}


@dataclass(frozen=True)
class Synthesized:
    name: str
    config: AuthgateConfig
    template: Template
    template_file: Path
    outdir: Path

    @property
    def plans(self) -> PlansFile:
        # Read through the app's own loader, never re-parsed here.
        return load_plans(self.config.plans_file)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template.to_json()["Resources"])

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def synthesize(name: str, outdir: Path, **context: Any) -> Synthesized:
    """The same path as infra/app.py: cdk.json's context, then the overrides."""
    app = cdk.App(outdir=str(outdir), context={**cdk_json_context(), **context})
    config = AuthgateConfig.from_context(app.node)
    stack = AuthgateStack(app, config.stack_name, config=config)
    assembly = app.synth()
    template_file = Path(assembly.get_stack_by_name(stack.stack_name).template_full_path)
    # from_stack reuses the assembly just made: no second synthesis.
    return Synthesized(name, config, Template.from_stack(stack), template_file, outdir)
