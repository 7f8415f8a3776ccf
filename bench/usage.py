"""Usage plans: the cost of enforcing them, and the limiter's accuracy under real load.

    python bench/usage.py [--seconds 2] [--rounds 15]

Throughput: /public with USAGE_PLANS=local (key lookup, token bucket, quota spent from a
reservation, daily count) against USAGE_PLANS=off, two servers started alike and loaded
alternately by wrk. Accuracy: a key on a plan of 200 requests a second with a burst of
100, hammered by wrk well past that: the requests admitted against burst + rate x seconds,
where the seconds are the server's own, from its first to its last answer (read from its
DEBUG access log), since wrk's clock also counts connecting and draining.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.usage.keys import KeyStore
from bench.loadgen import running_server, wrk, wrk_run
from bench.report import table, verdict

RATE, BURST = 200, 100
PLANS = {
    "api_key_required": ["ANY /public"],
    "plans": [
        # Limits far above what one core serves: every check runs, none refuses.
        {"name": "Roomy", "throttle": {"rate_limit": 1_000_000, "burst_limit": 1_000_000},
         "quota": {"limit": 100_000_000, "period": "MONTH"}},
        {"name": "Accuracy", "throttle": {"rate_limit": RATE, "burst_limit": BURST}},
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Many short rounds, alternating: the noise of a shared machine falls on both alike.
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        plans_file = Path(directory) / "plans.json"
        plans_file.write_text(json.dumps(PLANS))
        with running_server(USAGE_PLANS="off") as (off, _), running_server(
            USAGE_PLANS="local", USAGE_PLANS_FILE=str(plans_file)
        ) as (on, _):
            keys = KeyStore(Path(on.env["LOCAL_POOL_DIR"]))
            roomy = {"x-api-key": keys.create("bench", "Roomy")[1]}
            for server, headers in ((off, {}), (on, roomy)):  # warm up
                wrk(f"{server.url}/public", seconds=1, headers=headers)
            plain, enforced = [], []
            for _ in range(args.rounds):
                plain.append(wrk(f"{off.url}/public", seconds=args.seconds)[0])
                enforced.append(wrk(f"{on.url}/public", seconds=args.seconds, headers=roomy)[0])
            ratio = statistics.median(enforced) / statistics.median(plain)
            table(f"usage plans: throughput, median of {args.rounds} rounds", [
                ("GET /public, USAGE_PLANS=off", f"{statistics.median(plain):8.0f} req/s  "
                                                "(baseline)"),
                ("GET /public, USAGE_PLANS=local", f"{statistics.median(enforced):8.0f} req/s  "
                 f"{ratio:.2f}x  {verdict(ratio, 0.9, at_most=False)}"),
            ])

    with tempfile.TemporaryDirectory() as directory:
        plans_file = Path(directory) / "plans.json"
        plans_file.write_text(json.dumps(PLANS))
        with running_server(USAGE_PLANS="local", USAGE_PLANS_FILE=str(plans_file),
                            LOG_LEVEL="DEBUG") as (server, _):
            keys = KeyStore(Path(server.env["LOCAL_POOL_DIR"]))
            limited = {"x-api-key": keys.create("accuracy", "Accuracy")[1]}
            run = wrk_run(f"{server.url}/public", seconds=args.seconds, connections=64,
                          headers=limited)
            answers = [
                (datetime.fromisoformat(record["ts"].replace("Z", "+00:00")), record["status"])
                for record in map(json.loads, server.logs().splitlines())
                if record.get("logger") == "app.access" and record.get("path") == "/public"
            ]
        window = (answers[-1][0] - answers[0][0]).total_seconds()
        admitted = sum(1 for _, status in answers if status == 200)
        expected = BURST + RATE * window
        error = (admitted - expected) / expected
        table(f"usage plans: limiter accuracy, rate {RATE}/s, burst {BURST}", [
            ("requests answered", f"{len(answers)} in {window:.3f} s of the server's clock "
                                  f"(wrk: {run.requests} in {run.seconds:.2f} s)"),
            ("admitted (200)", f"{admitted}"),
            ("burst + rate x seconds", f"{expected:.0f}"),
            ("difference", f"{error:+.2%}  "
                           f"{'meets' if abs(error) <= 0.02 else 'MISSES'} target within 2%"),
        ])


if __name__ == "__main__":
    main()
