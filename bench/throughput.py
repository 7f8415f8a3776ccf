"""(b) /protected against /public, and (e) the server's memory under load.

    python bench/throughput.py [--seconds 2] [--rounds 15] [--reference-rounds 7]

One uvicorn process on loopback, wrk with one thread on the other core. The two routes
alternate for several rounds and the medians are compared, so the machine's noise
falls on both. /protected carries a Bearer ID token: the ratio is the price of
verifying it (cached after the first request) and checking the session each time.

Then, for reference, the same measure on servers whose /protected finds its user another
way (bench/reference_app.py): with the product's check verifying every token again (what
the cache of verified tokens buys); with a FastAPI dependency that returns a fixed user,
which no dependency-based check can beat; with the product's check called without
`Depends`; and with no check at all. Last, FastAPI alone (bench/bare_app.py): no
middleware, no app, and a dependency that does nothing, against the same route without.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import rss_kib, running_server, wrk
from bench.report import table, verdict
from tests.support.server import LiveServer

REFERENCES = {
    "reverify": "the product's check, verifying every token again",
    "depends-constant": "a Depends that returns a fixed user (the ceiling)",
    "inline": "the product's check, without Depends",
    "constant": "no check at all",
}


def alternate(server: LiveServer, token: str, *, rounds: int, seconds: float
              ) -> tuple[float, float]:
    """Median requests per second of /public and of /protected, measured in turns."""
    bearer = {"Authorization": f"Bearer {token}"}
    wrk(f"{server.url}/public", seconds=1)  # warm up both: the first /protected
    wrk(f"{server.url}/protected", seconds=1, headers=bearer)  # builds the verifier
    public, protected = [], []
    for _ in range(rounds):
        public.append(wrk(f"{server.url}/public", seconds=seconds)[0])
        protected.append(wrk(f"{server.url}/protected", seconds=seconds, headers=bearer)[0])
    return statistics.median(public), statistics.median(protected)


def memory(server: LiveServer, token: str) -> None:
    assert server.process is not None
    bearer = {"Authorization": f"Bearer {token}"}

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Many short rounds, alternating: the noise of a shared machine falls on both alike.
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reference-rounds", type=int, default=7,
                        help="rounds for each reference server; 0 skips them")
    args = parser.parse_args()
    with running_server() as (server, token):
        public, protected = alternate(server, token, rounds=args.rounds, seconds=args.seconds)
        ratio = protected / public
        table(f"(b) throughput, median of {args.rounds} rounds of {args.seconds:g} s", [
            ("GET /public", f"{public:8.0f} req/s  (baseline)"),
            ("GET /protected", f"{protected:8.0f} req/s  {ratio:.2f}x  "
                               f"{verdict(ratio, 0.85, at_most=False)}"),
        ])
        memory(server, token)

    if args.reference_rounds <= 0:
        return
    rows = [("the product, above", f"{ratio:.2f}x")]
    for variant, label in REFERENCES.items():
        print(f"  ... /protected with {label}", flush=True)
        with running_server(("--factory", "bench.reference_app:from_environment"),
                            REFERENCE_CHECK=variant) as (server, token):
            public, protected = alternate(server, token, rounds=args.reference_rounds,
                                          seconds=args.seconds)
        rows.append((f"/protected with {label}", f"{protected / public:.2f}x"))
    print("  ... FastAPI alone, /protected behind a Depends that does nothing", flush=True)
    # No access log, as the product (app/logs.py), so that both pay the same per request.
    with running_server(("bench.bare_app:app", "--no-access-log"), signed_in=False) as (
        server, token
    ):
        public, protected = alternate(server, "unused", rounds=args.reference_rounds,
                                      seconds=args.seconds)
    rows.append(("FastAPI alone (bench/bare_app.py): a Depends that does nothing",
                 f"{protected / public:.2f}x"))
    table(f"(b) for reference: /protected against /public when /protected finds its user "
          f"another way, each on its own server, median of {args.reference_rounds} rounds",
          rows)


if __name__ == "__main__":
    main()
