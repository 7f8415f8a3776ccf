"""The synthesized templates under cfn-lint, and the Dockerfile under hadolint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.authgate_infra.config import REPO_ROOT
from tests.support.cdk_synth import Synthesized

pytestmark = pytest.mark.infra

BIN = Path(sys.executable).parent


def test_template_passes_cfn_lint(variant: Synthesized) -> None:
    # W3005 (an explicit DependsOn that is also implied) is in every CDK template.
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "--ignore-checks", "W3005", "--", str(variant.template_file)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), str(REPO_ROOT / "Dockerfile")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
