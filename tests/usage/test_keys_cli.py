"""`keys import` and `keys usage` on odd input: API Gateway's import rules, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import InvalidParameterError
from app.usage.cli import import_csv
from app.usage.keys import KeyStore
from app.usage.plans import PlansFile, load_plans
from tests.support.server import REPO

HEADER = "Name,Key,Description,Enabled,UsagePlanIds\n"
VALUE = "abcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "pool")


@pytest.fixture
def plans(plans_file: Path) -> PlansFile:
    return load_plans(plans_file)


def import_text(store: KeyStore, plans: PlansFile, tmp_path: Path, text: str | bytes
                ) -> list[dict[str, object]]:
    path = tmp_path / "keys.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return import_csv(store, plans, path)


def test_a_value_imported_again_overwrites_its_key(
    store: KeyStore, plans: PlansFile, tmp_path: Path
) -> None:
    first = import_text(store, plans, tmp_path, HEADER + f"v1,{VALUE},first,true,Open\n")
    second = import_text(store, plans, tmp_path, HEADER + f"v2,{VALUE},second,FALSE,Tiny\n")
    assert (first[0]["result"], second[0]["result"]) == ("imported", "updated")
    [key] = store.list()
    assert (key.id, key.name, key.plan, key.enabled) == (first[0]["id"], "v2", "Tiny", False)


@pytest.mark.parametrize(("row", "reason"), [
    (f"k,{VALUE},,true,'Tiny,Open'", "more fields than the header"),
    (f"k,{VALUE},,true,Tiny,Open", "more fields than the header"),
    ("k,clé-secrète-très-longue-0001,,true,Open", "printable ASCII"),
    (f"k,{VALUE},,true,", "exactly one plan"),
    (f"k,{VALUE},,true,Nope", "No plan named"),
])
def test_a_bad_row_is_reported_and_the_rest_imported(
    store: KeyStore, plans: PlansFile, tmp_path: Path, row: str, reason: str
) -> None:
    good = "good,zyxwvutsrqponmlkjihgfedcba9876,,true,Open"
    outcomes = import_text(store, plans, tmp_path, HEADER + row + "\n" + good + "\n")
    assert outcomes[0]["result"] == "skipped"
    assert reason in str(outcomes[0]["reason"])
    assert outcomes[1]["result"] == "imported"
    assert [key.name for key in store.list()] == ["good"]


def test_a_file_that_is_not_utf8_says_so(
    store: KeyStore, plans: PlansFile, tmp_path: Path
) -> None:
    with pytest.raises(InvalidParameterError, match="UTF-8"):
        import_text(store, plans, tmp_path, (HEADER + "caf\xe9,x,,true,Open\n").encode("latin-1"))


@pytest.mark.parametrize("days", ["0", "-3", "91", "1000000000", "week"])
def test_usage_days_out_of_range_is_a_usage_error(tmp_path: Path, days: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "keys", "usage", "--days", days], cwd=REPO,
        env={"PATH": "", "LOCAL_POOL_DIR": str(tmp_path / "pool")},
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "--days" in result.stderr and "Traceback" not in result.stderr
