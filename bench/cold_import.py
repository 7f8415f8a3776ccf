"""(c) `import app.handler` in a fresh interpreter, against a minimal FastAPI + Mangum app.

    python bench/cold_import.py [--backend local|cognito] [--runs 15]

Each run is a new process (as a Lambda cold start is); the two imports alternate so
that noise from the machine falls on both alike. The median of each is compared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.report import table, verdict  # noqa: E402

PROBE = """
import json, sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "boto3": "boto3" in sys.modules}}))
"""


def import_time(module: str, env: dict[str, str]) -> tuple[float, bool]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], cwd=REPO, env=env,
        capture_output=True, text=True, check=True,
    )
    data = json.loads(result.stdout)
    return float(data["seconds"]), bool(data["boto3"])


def measure(env: dict[str, str], runs: int) -> tuple[float, float, bool]:
    ours, baseline, boto3_loaded = [], [], False
    for module in ("app.handler", "bench.minimal_app"):  # warm the .pyc caches once
        import_time(module, env)
    for _ in range(runs):
        seconds, loaded = import_time("app.handler", env)
        ours.append(seconds)
        boto3_loaded |= loaded
        baseline.append(import_time("bench.minimal_app", env)[0])
    return statistics.median(ours), statistics.median(baseline), boto3_loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["local", "cognito"], default="local")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as pool:
        env = {"PATH": os.environ.get("PATH", ""), "LOCAL_POOL_DIR": pool,
               "AUTH_BACKEND": args.backend}
        if args.backend == "cognito":
            env |= {"COGNITO_REGION": "us-east-1", "COGNITO_USER_POOL_ID": "us-east-1_bench",
                    "COGNITO_CLIENT_ID": "bench"}
        ours, baseline, boto3_loaded = measure(env, args.runs)
    ratio = ours / baseline
    target = 1.15 if args.backend == "local" else 1.2
    table(f"(c) cold import, AUTH_BACKEND={args.backend}, median of {args.runs}", [
        ("minimal FastAPI + Mangum", f"{baseline * 1000:7.1f} ms  (baseline)"),
        ("import app.handler", f"{ours * 1000:7.1f} ms  {ratio:.2f}x  "
                               f"{verdict(ratio, target, at_most=True)}"),
        ("boto3 imported", "yes (MISSES: must load on first use)" if boto3_loaded else "no"),
    ])


if __name__ == "__main__":
    main()
