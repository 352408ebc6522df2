#!/usr/bin/env python3
"""Time verification of many unique keys against the gateway stand-in answering in 50 ms.

    python bench/verify_bench.py [--keys 500] [--latency 0.05] [--concurrency 4]

Runs the real client (cmscan.gateway) against cmscan.standin on 127.0.0.1 and reports, per
mix of key statuses, the wall time, the requests made and the most requests the stand-in
ever saw in flight at once (which must never exceed the concurrency). The floor is the
latency times the requests divided by the concurrency. Keys are made up at run time.
Results go to bench/verify_results.md (or --results).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import scan_bench  # noqa: E402  (publish)

from cmscan.demo import made_up_key  # noqa: E402
from cmscan.gateway import Gateway  # noqa: E402
from cmscan.gatewayconfig import GatewaySettings  # noqa: E402
from cmscan.keys import Key  # noqa: E402
from cmscan.standin import INACTIVE, INVALID, Behaviour, StandIn  # noqa: E402


def run(count: int, active_share: float, latency: float, concurrency: int) -> dict[str, float]:
    keys = [made_up_key() for _ in range(count)]
    active = int(count * active_share)
    with StandIn(latency=latency) as server:
        for index, key in enumerate(keys):
            if index < active:
                server.add(key, Behaviour(spend_micro=(1, 2, 3)))
            else:
                server.add(key, Behaviour(status=INACTIVE if index % 2 else INVALID))
        gateway = Gateway(GatewaySettings(base_url=server.base_url, concurrency=concurrency))
        start = time.perf_counter()
        verdicts = gateway.verify_all([Key(key) for key in keys])
        wall = time.perf_counter() - start
        requests = len(server.requests)
        in_flight = server.max_in_flight
    assert len(verdicts) == count
    assert sum(v.status == "active" for v in verdicts.values()) == active
    return {
        "wall": wall,
        "requests": requests,
        "in_flight": in_flight,
        "floor": requests * latency / concurrency,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "verify_results.md")
    args = parser.parse_args()
    lines = [
        f"# cmscan verification benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"{args.keys} unique keys; stand-in on 127.0.0.1 answering every request after "
        f"{args.latency * 1000:.0f} ms; concurrency {args.concurrency} (the default). An active "
        "key costs two requests (/credits, then /usage), any other key one.",
        "",
        "| keys active | wall | requests | floor (latency * requests / concurrency) | "
        "vs floor | most in flight |",
        "|---|---|---|---|---|---|",
    ]
    for share in (0.0, 0.1, 1.0):
        result = run(args.keys, share, args.latency, args.concurrency)
        lines.append(
            f"| {share:.0%} | {result['wall']:.2f} s | {result['requests']:.0f} | "
            f"{result['floor']:.2f} s | {result['wall'] / result['floor']:.2f}x | "
            f"{result['in_flight']:.0f} |"
        )
        print(lines[-1], flush=True)
    scan_bench.publish("\n".join(lines) + "\n", args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
