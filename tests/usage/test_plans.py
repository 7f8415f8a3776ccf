"""The plans file: the shipped one is valid, and faults name the plan and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import DEFAULT_PLANS_FILE
from app.usage.plans import PlansFileError, load_plans


def test_the_shipped_file_is_valid() -> None:
    plans = load_plans(DEFAULT_PLANS_FILE)
    assert ("ANY", "/protected") in plans.key_routes
    assert plans.development_plan in {plan.name for plan in plans.plans}


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["plans"][1]["quota"].update(limit=0), "plan 'Pro', field quota.limit"),
    (lambda d: d["plans"][0]["throttle"].update(burst_limit="lots"),
     "plan 'Basic', field throttle.burst_limit"),
    (lambda d: d["plans"][0]["quota"].update(period="YEAR"), "plan 'Basic', field quota.period"),
    (lambda d: d["plans"][0].update(method_throttles={"FETCH /x": {"rate_limit": 1,
                                                                  "burst_limit": 1}}),
     "plan 'Basic', field method_throttles"),
    (lambda d: d["keys"].append({"name": "k", "plan": "Gold"}), "'Gold', which is not defined"),
    (lambda d: d["plans"][0]["quota"].update(period="WEEK", offset=9), "at most 6"),
])
def test_faults_name_the_plan_and_field(tmp_path: Path, change, expected: str) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(DEFAULT_PLANS_FILE.read_text())
    change(document)
    with pytest.raises(PlansFileError) as error:
        load_plans(write(tmp_path, document))
    assert expected in str(error.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(PlansFileError, match="no such file"):
        load_plans(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(PlansFileError, match="not readable JSON"):
        load_plans(tmp_path / "bad.json")
