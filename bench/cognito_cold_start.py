"""Cold start of the Lambda entry with AUTH_BACKEND=cognito, against baselines of the same run.

    python bench/cognito_cold_start.py [--repeat N]

(a) `import app.handler` in a fresh interpreter, against `bench/minimal_app.py` (FastAPI
    and Mangum, one route) and against AUTH_BACKEND=local; boto3 must not be loaded by it.
(b) the first sign-in and the first /protected through the Mangum handler right after the
    import, against moto's server (started here), and the same call once warm.
(c) the import from a copy of app/ with precompiled .pyc, and from a fresh copy with
    PYTHONDONTWRITEBYTECODE=1 (compiled on every start, as on a read-only image without them).

Each figure is the median over fresh interpreters; the machine is shared and noisy, so only
the ratios within one run mean much. Nothing here is a test: it prints, it asserts nothing
but that boto3 stays out of the import.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.moto import ANY_CODE, AWS_ENV, MotoPool, MotoServer  # noqa: E402
from tests.support.users import PASSWORD  # noqa: E402

TARGET_RATIO = 1.2

IMPORT_PROBE = """
import json, sys, time
started = time.perf_counter()
import {module}
print(json.dumps({{"import": time.perf_counter() - started, "boto3": "boto3" in sys.modules}}))
"""

INVOKE_PROBE = """
import json, sys, time
event = json.loads(sys.argv[1])
started = time.perf_counter()
import app.handler
imported = time.perf_counter()
first = app.handler.handler(event, None)
invoked = time.perf_counter()
app.handler.handler(event, None)
print(json.dumps({"import": imported - started, "first": invoked - imported,
                  "warm": time.perf_counter() - invoked, "status": first["statusCode"]}))
"""


def probe(code: str, *args: str, cwd: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Run one fresh interpreter and read the one JSON line it prints."""
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("AUTH_", "COGNITO_", "LOCAL_", "AWS_", "PYTHON"))}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env={**base, **env},
        capture_output=True, text=True, timeout=120, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"probe failed:\n{result.stderr}")
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def median_ms(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs) * 1000


def event(method: str, path: str, *, body: str | None = None,
          cookie: str | None = None) -> str:
    """An API Gateway REST (v1) proxy event, as `sam local generate-event` shapes them."""
    headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com",
               "content-type": "application/json", "x-forwarded-proto": "https"}
    if cookie:
        headers["cookie"] = cookie
    return json.dumps({
        "resource": "/{proxy+}", "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")}, "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}", "httpMethod": method, "path": f"/prod{path}",
            "stage": "prod", "requestId": "bench", "accountId": "123456789012",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench"},
        },
        "body": body, "isBase64Encoded": False,
    })


def prepare_user(moto: MotoServer, pool: MotoPool) -> tuple[str, str]:
    """A confirmed user on the pool, and an ID token of theirs for /protected."""
    idp = moto.idp()
    idp.sign_up(ClientId=pool.client_id, Username="benchuser", Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": "bench@example.com"}])
    idp.confirm_sign_up(ClientId=pool.client_id, Username="benchuser", ConfirmationCode=ANY_CODE)
    tokens = idp.initiate_auth(
        ClientId=pool.client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "benchuser", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return "benchuser", tokens["IdToken"]


def copy_app(destination: Path, *, compiled: bool) -> Path:
    shutil.copytree(REPO / "app", destination / "app",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if compiled:
        compileall.compile_dir(destination / "app", quiet=1)
    return destination


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, name: str, ms: float, baseline_ms: float | None = None, note: str = "") -> None:
        ratio = f"{ms / baseline_ms:.2f}x" if baseline_ms else ""
        self.rows.append((name, f"{ms:8.1f}", ratio, note))

    def print(self) -> None:
        headers = ("measure", "median ms", "ratio", "against")
        widths = [max(len(row[i]) for row in (*self.rows, headers)) for i in range(4)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        print(line.format(*headers))
        print(line.format(*("-" * w for w in widths)))
        for row in self.rows:
            print(line.format(*row).rstrip())


def interleaved(repeat: int, runners: Mapping[str, Callable[[], dict[str, Any]]]
                ) -> dict[str, list[dict[str, Any]]]:
    # Alternating the variants spreads the machine's noise over all of them alike.
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
    for _ in range(repeat):
        for name, run in runners.items():
            runs[name].append(run())
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="fresh interpreters per figure")
    args = parser.parse_args()
    repeat = args.repeat

    with tempfile.TemporaryDirectory(prefix="authgate-bench-") as temporary:
        work = Path(temporary)
        moto = MotoServer(work / "moto.log")
        os.environ.update(AWS_ENV)
        moto.start()
        try:
            pool = moto.new_pool()
            username, id_token = prepare_user(moto, pool)
            cognito = {**pool.env(), "LOCAL_POOL_DIR": str(work / "pool"),
                       "LOG_LEVEL": "WARNING"}
            local = {"AUTH_BACKEND": "local", "LOCAL_POOL_DIR": str(work / "pool"),
                     "LOG_LEVEL": "WARNING"}

            print(f"(a) import, {repeat} fresh interpreters each ...", file=sys.stderr, flush=True)
            imports = interleaved(repeat, {
                "baseline": lambda: probe(IMPORT_PROBE.format(module="bench.minimal_app"),
                                          cwd=REPO, env={}),
                "cognito": lambda: probe(IMPORT_PROBE.format(module="app.handler"),
                                         cwd=REPO, env=cognito),
                "local": lambda: probe(IMPORT_PROBE.format(module="app.handler"),
                                       cwd=REPO, env=local),
            })

            invocations = max(3, repeat // 3)
            print(f"(b) first invocations, {invocations} each ...", file=sys.stderr, flush=True)
            sign_in = event("POST", "/auth/signin", body=json.dumps(
                {"username": username, "password": PASSWORD}))
            protected = event("GET", "/protected", cookie=f"token={id_token}")
            health = event("GET", "/health")
            calls = interleaved(invocations, {
                "baseline": lambda: probe(
                    INVOKE_PROBE.replace("app.handler", "bench.minimal_app"), health,
                    cwd=REPO, env={}),
                "sign_in": lambda: probe(INVOKE_PROBE, sign_in, cwd=REPO, env=cognito),
                "protected": lambda: probe(INVOKE_PROBE, protected, cwd=REPO, env=cognito),
            })
        finally:
            moto.stop()

        print(f"(c) .pyc or not, {repeat} each ...", file=sys.stderr, flush=True)
        with_pyc = copy_app(work / "with-pyc", compiled=True)
        without_pyc = copy_app(work / "without-pyc", compiled=False)
        code = IMPORT_PROBE.format(module="app.handler")
        bytecode = interleaved(repeat, {
            "pyc": lambda: probe(code, cwd=with_pyc, env=cognito),
            "source": lambda: probe(code, cwd=without_pyc,
                                    env={**cognito, "PYTHONDONTWRITEBYTECODE": "1"}),
        })

    failures = [run for runs in calls.values() for run in runs if run["status"] != 200]
    leaked = any(run["boto3"] for run in imports["cognito"] + bytecode["pyc"])

    base = median_ms(imports["baseline"], "import")
    cognito_import = median_ms(imports["cognito"], "import")
    table = Table()
    table.add("(a) import bench/minimal_app.py", base, base, "baseline")
    table.add("(a) import app.handler, AUTH_BACKEND=cognito", cognito_import, base,
              f"baseline (target <= {TARGET_RATIO}x)")
    table.add("(a) import app.handler, AUTH_BACKEND=local",
              median_ms(imports["local"], "import"), cognito_import, "the cognito import")
    first_health = median_ms(calls["baseline"], "first")
    table.add("(b) first /health, baseline app", first_health, first_health, "baseline")
    for name, label in (("sign_in", "sign-in"), ("protected", "/protected")):
        warm = median_ms(calls[name], "warm")
        table.add(f"(b) first {label} after the import", median_ms(calls[name], "first"),
                  warm, f"the same call warm ({warm:.1f} ms)")
    with_pyc_ms = median_ms(bytecode["pyc"], "import")
    table.add("(c) import app.handler, app/ precompiled", with_pyc_ms, with_pyc_ms, "baseline")
    table.add("(c) import app.handler, app/ from source", median_ms(bytecode["source"], "import"),
              with_pyc_ms, "precompiled")
    table.print()
    ratio = cognito_import / base
    print(f"\nimport ratio {ratio:.2f}x (target <= {TARGET_RATIO}x: "
          f"{'met' if ratio <= TARGET_RATIO else 'not met'}); "
          f"boto3 loaded by the import: {'YES' if leaked else 'no'}")
    if failures:
        print(f"{len(failures)} invocations did not answer 200", file=sys.stderr)
    return 1 if leaked or failures else 0


if __name__ == "__main__":
    sys.exit(main())
