"""How the app's code reaches Lambda: a container image (default) or a zip (`packaging=zip`).

Both package the same thing, the installed `authgate` distribution, so the handler paths
below resolve the same way in either: the Dockerfile's CMD names HANDLER too, and a test
checks that it does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, cast

import jsii
from aws_cdk import BundlingOptions, Duration, IgnoreMode, ILocalBundling
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

HANDLER = "app.handler.handler"
AUTHORIZER_HANDLER = "app.authorizer.handler"

LAMBDA_PYTHON = "3.12"
# Lambda's Python 3.12 runs on Amazon Linux 2023 (glibc 2.34): every manylinux wheel up to
# glibc 2.34 runs there. pip does not widen a manylinux_2_X platform to the older ones by
# itself, so each is named; with manylinux2014 alone, pip would fall back to older releases
# (argon2-cffi-bindings 26 ships manylinux_2_28 wheels only) or fail.
LAMBDA_PLATFORMS = (
    "manylinux2014_x86_64", *(f"manylinux_2_{minor}_x86_64" for minor in range(17, 35))
)

MEMORY_MB = 512
# A request may make up to three Cognito calls, each of two attempts of at most
# COGNITO_TIMEOUT_SECONDS: 3 x 2 x 3 s, and botocore's backoff, must end before the
# function is stopped, so that a Cognito outage is answered 503 by the app rather than
# 502 by API Gateway. Under API Gateway's own 29 s.
COGNITO_TIMEOUT_SECONDS = 3
TIMEOUT = Duration.seconds(25)

# What the package is built from, with the versions the tests pass with; the Dockerfile
# copies the same, and .dockerignore lets nothing else into the build context (no .venv,
# no .local-pool with its signing key).
PACKAGE_SOURCES = ("pyproject.toml", "constraints.txt", "README.md", "app")


def copy_package_sources(repo_root: Path, destination: Path) -> Path:
    """Copy what `pip install .` needs into `destination`, without caches.

    Building from a copy keeps setuptools' `build/` and `*.egg-info` out of the work tree,
    and a stale `build/lib` from an earlier build out of the package.
    """
    destination.mkdir(parents=True, exist_ok=True)
    for name in PACKAGE_SOURCES:
        source = repo_root / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
            )
        elif source.is_file():
            shutil.copy2(source, destination / name)
    return destination


def dockerignore_patterns(repo_root: Path) -> list[str]:
    """The build context's rules, reused for the zip asset's fingerprint."""
    lines = (repo_root / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


class LambdaPackage(Protocol):
    """Makes a function of the app's code with a given handler."""

    def make_function(
        self, scope: Construct, id: str, *, handler: str, role: iam.IRole,
        environment: Mapping[str, str], log_group: logs.ILogGroup, description: str,
    ) -> lambda_.Function: ...


def _common(
    role: iam.IRole, environment: Mapping[str, str], log_group: logs.ILogGroup, description: str
) -> dict[str, Any]:
    return {
        "role": role,
        "environment": dict(environment),
        "log_group": log_group,
        "description": description,
        "memory_size": MEMORY_MB,
        "timeout": TIMEOUT,
        "architecture": lambda_.Architecture.X86_64,
    }


class ImagePackage:
    """A container image built from the repository's Dockerfile by `cdk deploy`.

    Synthesis only fingerprints the build context; Docker is needed at deploy time.
    """

    def __init__(self, repo_root: Path) -> None:
        self._repo_root = repo_root

    def make_function(
        self, scope: Construct, id: str, *, handler: str, role: iam.IRole,
        environment: Mapping[str, str], log_group: logs.ILogGroup, description: str,
    ) -> lambda_.Function:
        code = lambda_.DockerImageCode.from_image_asset(
            str(self._repo_root),
            file="Dockerfile",
            # The handler is set here as well as in the Dockerfile's CMD, so that one image
            # serves both functions and the template says which handler each runs.
            cmd=[handler],
            # The function is x86_64; build for it even on an arm64 laptop.
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        return lambda_.DockerImageFunction(
            scope, id, code=code, **_common(role, environment, log_group, description)
        )


class ZipPackage:
    """A zip of the installed package and its dependencies, bundled on this machine."""

    def __init__(self, repo_root: Path, python: str | None = None) -> None:
        self._code = lambda_.Code.from_asset(
            str(repo_root),
            # The asset's hash covers what the image's build context holds, nothing else:
            # not .venv, not infra/cdk.out (which would otherwise be fingerprinted).
            exclude=dockerignore_patterns(repo_root),
            ignore_mode=IgnoreMode.DOCKER,
            bundling=BundlingOptions(
                # Only used if local bundling declines, which PipLocalBundling never does:
                # it fails loudly instead, because there may be no Docker engine to fall to.
                image=lambda_.Runtime.PYTHON_3_12.bundling_image,
                # jsii.implements makes it an ILocalBundling at run time; say so to mypy.
                local=cast(ILocalBundling, PipLocalBundling(repo_root, python)),
            ),
        )

    def make_function(
        self, scope: Construct, id: str, *, handler: str, role: iam.IRole,
        environment: Mapping[str, str], log_group: logs.ILogGroup, description: str,
    ) -> lambda_.Function:
        # One Code object for every function: the asset is bundled and uploaded once.
        return lambda_.Function(
            scope, id, code=self._code, handler=handler, runtime=lambda_.Runtime.PYTHON_3_12,
            **_common(role, environment, log_group, description),
        )


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Bundles the zip without Docker: pip installs the project for Lambda's platform.

    `--platform/--implementation/--python-version` with `--only-binary=:all:` makes pip take
    the manylinux wheels Lambda needs whatever this machine is (the project itself is pure
    Python and is built from source). The .pyc files are compiled by a Python 3.12 when one
    is found (`bundling_python` context, else `python3.12` on PATH): bytecode is specific to
    the interpreter's version, so another version's .pyc would be dead weight, and Lambda
    cannot write them at run time (/var/task is read-only).
    """

    def __init__(self, repo_root: Path, python: str | None = None) -> None:
        self._repo_root = repo_root
        self._python = python

    def pip_command(self, source: Path, output_dir: str, python: str) -> list[str]:
        return [
            python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
            "--target", output_dir,
            *(option for platform in LAMBDA_PLATFORMS for option in ("--platform", platform)),
            "--implementation", "cp",
            "--python-version", LAMBDA_PYTHON, "--only-binary=:all:",
            "--no-compile",
            "--constraint", str(source / "constraints.txt"),
            str(source),
        ]

    @staticmethod
    def compile_command(output_dir: str, python: str) -> list[str]:
        # unchecked-hash: the zip resets every file's time, so timestamp-checked .pyc would
        # be seen as stale and ignored; the code never changes after deployment anyway.
        return [
            python, "-m", "compileall", "-q", "-j", "0",
            "--invalidation-mode", "unchecked-hash", output_dir,
        ]

    def python_312(self) -> str | None:
        """An interpreter of Lambda's Python version, or None."""
        for candidate in filter(None, (self._python, "python3.12", sys.executable)):
            try:
                version = subprocess.run(  # noqa: S603 (an interpreter path, no shell)
                    [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                    capture_output=True, text=True, check=True, timeout=30,
                ).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                continue
            if version == LAMBDA_PYTHON:
                return candidate
        if self._python:
            raise RuntimeError(f"bundling_python={self._python} is not a Python {LAMBDA_PYTHON}")
        return None

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        del options  # the image and command are for Docker, which this does without
        python = self.python_312()
        with tempfile.TemporaryDirectory(prefix="authgate-src-") as tmp:
            source = copy_package_sources(self._repo_root, Path(tmp) / "src")
            # Markers such as `python_version < "3.12"` are judged by the interpreter that
            # runs pip, so prefer the 3.12 one for installing too.
            _run(self.pip_command(source, output_dir, python or sys.executable))
        if python is None:
            # stderr, shown by `cdk synth`: bundling runs outside any construct to warn on.
            print(
                f"authgate: no Python {LAMBDA_PYTHON} found (set -c bundling_python=PATH); "
                "the zip ships without .pyc files and cold starts compile in memory",
                file=sys.stderr,
            )
        else:
            _run(self.compile_command(output_dir, python))
        return True


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(
            f"bundling failed: {' '.join(command)}\n{result.stdout}\n{result.stderr}"
        )
