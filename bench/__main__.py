"""Every benchmark, one after the other: `python -m bench` (or `python3 tasks.py bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    ["tokens.py"],
    ["throughput.py"],
    ["dependency_cost.py"],
    ["cold_import.py"],
    ["cold_import.py", "--backend", "cognito"],
    ["hashing.py"],
    ["usage.py"],
    ["cognito_cold_start.py"],
]


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = 0
    for bench in BENCHES:
        print(f"\n===== bench/{' '.join(bench)}", flush=True)
        failed += subprocess.run([sys.executable, str(here / bench[0]), *bench[1:]]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
