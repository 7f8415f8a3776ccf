"""Synthesized variants of the stack, each made once per test session.

Synthesis costs 5-9 s and about 1 GB, so the suite makes two: `default` (cdk.json as it
ships: container image, no federation, no authorizer) and `full` (every option on, zip
packaging, another plans file). Tests that hold for both take the `variant` fixture.
"""

from __future__ import annotations

import os

# Before aws_cdk is imported: jsii prints a long end-of-life banner for Node.js 20 otherwise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from collections.abc import Iterator

import pytest

from tests.support.cdk_synth import FULL_CONTEXT, Synthesized, synthesize


@pytest.fixture(scope="session")
def default_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("default", tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def full_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("full", tmp_path_factory.mktemp("cdk-full"), **FULL_CONTEXT)


@pytest.fixture(params=["default", "full"])
def variant(request: pytest.FixtureRequest) -> Iterator[Synthesized]:
    yield request.getfixturevalue(f"{request.param}_synth")
