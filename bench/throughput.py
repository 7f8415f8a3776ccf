"""(b) /protected against /public, and (e) the server's memory under load.

    python bench/throughput.py [--seconds 2] [--rounds 15]

One uvicorn process on loopback, wrk with one thread on the other core. The two routes
alternate for several rounds and the medians are compared, so the machine's noise
falls on both. /protected carries a Bearer ID token: the ratio is the price of
verifying it (cached after the first request) and checking the session each time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import rss_kib, running_server, wrk
from bench.report import table, verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Many short rounds, alternating: the noise of a shared machine falls on both alike.
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with running_server() as (server, token):
        assert server.process is not None
        bearer = {"Authorization": f"Bearer {token}"}
        wrk(f"{server.url}/public", seconds=1)  # warm up
        public, protected = [], []
        for _ in range(args.rounds):
            public.append(wrk(f"{server.url}/public", seconds=args.seconds)[0])
            protected.append(wrk(f"{server.url}/protected", seconds=args.seconds,
                                 headers=bearer)[0])
        ratio = statistics.median(protected) / statistics.median(public)
        table(f"(b) throughput, median of {args.rounds} rounds of {args.seconds:g} s", [
            ("GET /public", f"{statistics.median(public):8.0f} req/s  (baseline)"),
            ("GET /protected", f"{statistics.median(protected):8.0f} req/s  {ratio:.2f}x  "
                               f"{verdict(ratio, 0.85, at_most=False)}"),
        ])

        def phase() -> int:
            done = 0
            while done < 10_000:
                done += wrk(f"{server.url}/protected", seconds=2, headers=bearer)[1]
                done += wrk(f"{server.url}/public", seconds=1)[1]
            return done

        first = phase()
        after_first = rss_kib(server.process.pid)
        second = phase()
        after_second = rss_kib(server.process.pid)
        growth = (after_second - after_first) / after_first
        table("(e) resident memory of the server process", [
            (f"after {first:,} requests", f"{after_first / 1024:6.1f} MiB"),
            (f"after {first + second:,} requests", f"{after_second / 1024:6.1f} MiB  "
                                                   f"({growth:+.1%}; flat means within 5%)"),
        ])


if __name__ == "__main__":
    main()
