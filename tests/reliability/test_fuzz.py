"""schemathesis against the app's own OpenAPI document, on the local pool.

Every operation gets generated requests, valid and invalid; the answers must never be a
5xx, must match the declared schemas, and must use only the declared status codes.
Bounded in CI (FUZZ_EXAMPLES, default 25 per operation); `FUZZ_EXAMPLES=500 python3
tasks.py test tests/reliability/test_fuzz.py` runs a longer campaign.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.settings import load_settings

_POOL = Path(tempfile.mkdtemp(prefix="fuzz-pool-"))
APP = create_app(load_settings(
    local_pool_dir=_POOL, mail_backend="outbox", outbox_dir=_POOL / "outbox",
    usage_plans="local",
))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_the_api_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[
        not_a_server_error, status_code_conformance, response_schema_conformance,
        content_type_conformance,
    ])
