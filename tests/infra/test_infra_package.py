"""The handler paths resolve from the installed package, and every place names the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.authgate_infra.config import REPO_ROOT
from infra.authgate_infra.packaging import (
    AUTHORIZER_HANDLER,
    HANDLER,
    PACKAGE_SOURCES,
    PipLocalBundling,
    copy_package_sources,
    dockerignore_patterns,
)
from tests.support.cdk_synth import Synthesized

pytestmark = pytest.mark.infra


def dockerfile_cmd() -> list[str]:
    lines = [line for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
             if line.startswith("CMD ")]
    assert len(lines) == 1
    return list(json.loads(lines[0].removeprefix("CMD ")))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project installed as the image installs it: built from a copy of its sources."""
    tmp = tmp_path_factory.mktemp("installed")
    source = copy_package_sources(REPO_ROOT, tmp / "src")
    target = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-compile", "--target", str(target), str(source)],
        check=True, timeout=300, capture_output=True,
    )
    return target


def test_handlers_import_from_the_installed_package(installed: Path, tmp_path: Path) -> None:
    probe = f"""
import importlib, json
handler = importlib.import_module({HANDLER.rpartition(".")[0]!r})
authorizer = importlib.import_module({AUTHORIZER_HANDLER.rpartition(".")[0]!r})
print(json.dumps({{
    "handler": callable(getattr(handler, {HANDLER.rpartition(".")[2]!r})),
    "authorizer": callable(getattr(authorizer, {AUTHORIZER_HANDLER.rpartition(".")[2]!r})),
    "file": handler.__file__,
}}))
"""
    # Outside the repository, with only the installed copy of `app` on the path (the
    # dependencies come from this interpreter's site-packages), and no app settings.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AUTH_", "COGNITO_", "USAGE_", "LOCAL_", "PYTHON"))}
    env["PYTHONPATH"] = str(installed)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["handler"] is True and found["authorizer"] is True
    assert Path(found["file"]).is_relative_to(installed)


def test_package_data_is_installed(installed: Path) -> None:
    assert (installed / "app" / "usage" / "default_plans.json").is_file()
    assert (installed / "app" / "web" / "static" / "index.html").is_file()


def test_dockerfile_and_stack_name_the_same_handler(
    default_synth: Synthesized, full_synth: Synthesized
) -> None:
    assert dockerfile_cmd() == [HANDLER]
    image = default_synth.of_type("AWS::Lambda::Function").values()
    assert [f["Properties"]["ImageConfig"]["Command"] for f in image] == [[HANDLER]]
    handlers = {f["Properties"]["Handler"] for f in full_synth.of_type(
        "AWS::Lambda::Function").values()}
    assert handlers == {HANDLER, AUTHORIZER_HANDLER}


def test_image_context_holds_only_the_package(default_synth: Synthesized) -> None:
    # What CDK staged as the build context, after .dockerignore.
    assets = [p for p in default_synth.outdir.iterdir() if p.name.startswith("asset.")]
    assert len(assets) == 1
    names = {p.name for p in assets[0].iterdir()}
    assert names <= {
        "Dockerfile", ".dockerignore", "pyproject.toml", "constraints.txt", "README.md", "app",
    }
    assert {"Dockerfile", "pyproject.toml", "constraints.txt", "app"} <= names
    assert not list(assets[0].rglob("__pycache__"))


class TestZipBundling:
    def test_pip_targets_lambdas_platform(self, tmp_path: Path) -> None:
        command = PipLocalBundling(REPO_ROOT).pip_command(tmp_path / "src", "/out", "py")
        flags = " ".join(command)
        for flag in ("--platform manylinux2014_x86_64", "--platform manylinux_2_34_x86_64",
                     "--implementation cp", "--python-version 3.12", "--only-binary=:all:",
                     "--target /out", f"--constraint {tmp_path / 'src' / 'constraints.txt'}"):
            assert flag in flags
        assert "manylinux_2_35_x86_64" not in flags  # newer than Amazon Linux 2023's glibc
        assert command[-1] == str(tmp_path / "src")

    @pytest.mark.slow
    def test_the_pinned_versions_exist_for_lambda(self, tmp_path: Path) -> None:
        # Resolves against the package index (as a deploy does) without installing: every
        # pinned dependency must publish a wheel that Lambda's Python and glibc can load.
        source = copy_package_sources(REPO_ROOT, tmp_path / "src")
        command = PipLocalBundling(REPO_ROOT).pip_command(
            source, str(tmp_path / "out"), sys.executable
        )
        report = tmp_path / "report.json"
        result = subprocess.run(
            [*command[:-1], "--dry-run", "--ignore-installed", "--report", str(report),
             command[-1]],
            capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        chosen = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                  for item in json.loads(report.read_text())["install"]}
        pins = dict(line.lower().split("==") for line in
                    (REPO_ROOT / "constraints.txt").read_text().splitlines()
                    if "==" in line)
        assert {name: chosen[name] for name in chosen if name in pins} == {
            name: pins[name] for name in chosen if name in pins
        }

    def test_bytecode_survives_the_zip(self) -> None:
        command = PipLocalBundling.compile_command("/out", "python3.12")
        assert command[:3] == ["python3.12", "-m", "compileall"]
        assert "unchecked-hash" in command and command[-1] == "/out"

    def test_sources_are_copied_without_caches(self, tmp_path: Path) -> None:
        copied = copy_package_sources(REPO_ROOT, tmp_path / "src")
        assert (copied / "pyproject.toml").is_file()
        assert (copied / "app" / "handler.py").is_file()
        assert not list(copied.rglob("__pycache__"))
        assert {p.name for p in copied.iterdir()} <= set(PACKAGE_SOURCES)
        assert (copied / "constraints.txt").is_file()

    def test_zip_fingerprint_uses_the_image_rules(self) -> None:
        patterns = dockerignore_patterns(REPO_ROOT)
        assert patterns[0] == "*"
        assert {"!pyproject.toml", "!app/"} <= set(patterns)
