#!/usr/bin/env python3
"""The project's commands, with nothing needed but Python 3.11+ and the package registries.

    python3 tasks.py run      set up, then serve the API, the docs and the frontend
    python3 tasks.py test     set up, then run the whole test suite
    python3 tasks.py bench    set up, then run every benchmark
    python3 tasks.py lint     ruff and mypy
    python3 tasks.py synth    write the CloudFormation templates to infra/cdk.out
    python3 tasks.py lock     pin the newest versions that pyproject.toml allows

Setting up means a virtual environment in .venv with the project installed at the versions
of constraints.txt; it is redone only when pyproject.toml or constraints.txt changes.
Extra arguments after the command go to the tool (`python3 tasks.py test -k cookies`);
`synth` takes the CDK's context options (`python3 tasks.py synth -c authorizer=true`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
CONSTRAINTS = ROOT / "constraints.txt"
EXTRAS = {"run": "", "test": "[test,infra]", "bench": "[test]", "lint": "[dev]", "synth": "[infra]"}
PIP = ["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def ensure_environment(extras: str) -> None:
    """Create .venv and install the project with `extras`, unless already done."""
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed: run this with python3.11 (or newer).")
    inputs = (ROOT / "pyproject.toml").read_bytes() + CONSTRAINTS.read_bytes()
    stamp_text = hashlib.sha256(inputs).hexdigest()[:16]
    stamp = VENV / f".installed{extras or '[]'}-{stamp_text}"
    if stamp.exists():
        return
    if not PYTHON.exists():
        say(f"creating a virtual environment in {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say(f"installing the project{extras} (a few minutes the first time)")
    subprocess.run(
        [str(PYTHON), *PIP, "-c", str(CONSTRAINTS), "-e", f".{extras}"], cwd=ROOT, check=True
    )
    for old in VENV.glob(f".installed{extras or '[]'}-*"):
        old.unlink()
    stamp.touch()


def lock() -> int:
    """Rewrite constraints.txt with what a fresh, unconstrained install of every extra gets."""
    header = [line for line in CONSTRAINTS.read_text().splitlines() if line.startswith("#")]
    with tempfile.TemporaryDirectory(prefix="authgate-lock-") as tmp:
        python = Path(tmp) / "bin" / "python"
        say("installing the newest allowed versions into a scratch environment")
        venv.EnvBuilder(with_pip=True).create(tmp)
        subprocess.run([str(python), *PIP, f"{ROOT}[dev]"], check=True)
        frozen = subprocess.run(
            [str(python), "-m", "pip", "freeze", "--disable-pip-version-check"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()
    pins = sorted((line for line in frozen if not line.startswith("authgate")), key=str.lower)
    CONSTRAINTS.write_text("\n".join([*header, *pins]) + "\n")
    say(f"{len(pins)} versions written to {CONSTRAINTS.name}; run the tests before committing")
    return 0


def cdk_context(arguments: list[str]) -> dict[str, str]:
    """`-c key=value` options, as the CDK command line takes them, for CDK_CONTEXT_JSON."""
    context: dict[str, str] = {}
    flags = iter(arguments)
    for flag in flags:
        if flag not in ("-c", "--context"):
            sys.exit(f"synth takes only -c key=value (the stack's context), not {flag!r}")
        key, equals, value = next(flags, "").partition("=")
        if not (key and equals):
            sys.exit(f"{flag} takes key=value, such as -c authorizer=true")
        context[key] = value
    return context


def run(command: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}).returncode


def main(argv: list[str]) -> int:
    if argv[:1] == ["lock"]:
        return lock()
    if not argv or argv[0] not in EXTRAS:
        print(__doc__, file=sys.stderr)
        return 2
    task, rest = argv[0], argv[1:]
    context = cdk_context(rest) if task == "synth" else {}  # checked before any setup
    ensure_environment(EXTRAS[task])
    python = str(PYTHON)
    if task == "run":
        # The laptop setup of the README: the embedded pool, API keys enforced as API
        # Gateway would, a development key printed, codes printed on the console.
        env = {"USAGE_PLANS": os.environ.get("USAGE_PLANS", "local")}
        if "COOKIE_SECURE" not in os.environ:
            say("cookies are Secure; browsers accept them on http://localhost and 127.0.0.1")
        return run([python, "-m", "app", "serve", *rest], env)
    if task == "test":
        return run([python, "-m", "pytest", *rest])
    if task == "bench":
        return run([python, "-m", "bench", *rest])
    if task == "lint":
        paths = ["app", "tests", "bench", "infra", "tasks.py"]
        return run([python, "-m", "ruff", "check", *paths]) or run([python, "-m", "mypy"])
    # Run outside the cdk command line, the app reads extra context from CDK_CONTEXT_JSON.
    extra = {"CDK_CONTEXT_JSON": json.dumps(context)} if context else {}
    return subprocess.run(
        [python, "app.py"], cwd=ROOT / "infra", env={**os.environ, **extra}
    ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
