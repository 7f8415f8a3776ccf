"""tasks.py: the pins cover every dependency, and `synth` passes the CDK's context."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tasks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _name(requirement: str) -> str:
    # PEP 503's normalized name of a requirement such as "python-jose[cryptography]>=3.4".
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def test_every_dependency_is_pinned() -> None:
    # A dependency added to pyproject.toml without `tasks.py lock` would reach the image and
    # the zip at whatever version the index has that day.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for requirements in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in requirements if not r.startswith("authgate[")}
    pins = {_name(line.split("==")[0]) for line in
            (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    assert wanted - pins == set()


def test_synth_takes_context_options(tasks: ModuleType) -> None:
    assert tasks.cdk_context(["-c", "authorizer=true", "--context", "note=a=b"]) == {
        "authorizer": "true", "note": "a=b",
    }


def test_synth_refuses_anything_else(tasks: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"synth takes only -c key=value.*'--all'"):
        tasks.cdk_context(["--all"])


@pytest.mark.parametrize("arguments", [["-c"], ["-c", "authorizer"], ["--context", "=x"]])
def test_a_context_option_needs_key_and_value(tasks: ModuleType, arguments: list[str]) -> None:
    with pytest.raises(SystemExit, match=f"^{arguments[0]} takes key=value"):
        tasks.cdk_context(arguments)
