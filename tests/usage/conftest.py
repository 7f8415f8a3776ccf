"""A small plans file whose limits a test can reach, and keys on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PLANS = {
    "api_key_required": ["ANY /public", "GET /protected"],
    "plans": [
        {"name": "Tiny", "throttle": {"rate_limit": 2, "burst_limit": 4},
         "quota": {"limit": 6, "period": "DAY"}},
        {"name": "Methods", "throttle": {"rate_limit": 100, "burst_limit": 100},
         "method_throttles": {"GET /public": {"rate_limit": 1, "burst_limit": 2}}},
        {"name": "Quota", "throttle": {"rate_limit": 10_000, "burst_limit": 10_000},
         "quota": {"limit": 50, "period": "MONTH"}},
        {"name": "Open", "throttle": {"rate_limit": 10_000, "burst_limit": 10_000}},
        # Large enough that a server reserves its quota in blocks of more than one.
        {"name": "Large", "throttle": {"rate_limit": 10_000, "burst_limit": 10_000},
         "quota": {"limit": 100_000, "period": "WEEK"}},
    ],
    "development_plan": "Open",
}


@pytest.fixture
def plans_file(tmp_path: Path) -> Path:
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(PLANS))
    return path
