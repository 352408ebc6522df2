"""Time this checkout against an earlier revision, runs alternating, on the same input.

    python bench/ab_bench.py REV scan /tmp/cmscan-bench/logs [--runs 8] [-- EXTRA ARGS]
    python bench/ab_bench.py c17b4ea history /tmp/hist/numpy.git --runs 3

REV is checked out with ``git worktree`` into a temporary directory; both sides run as
``python -m cmscan COMMAND TARGET --format json -o /dev/null -q`` with the same
interpreter (this venv's), from a neutral directory so neither imports the other's
package. Runs alternate (A, B, A, B, ...) after one warm-up each, so a machine that slows
down or speeds up during the run affects both sides alike; medians and minimums are
printed with the ratio. Extra arguments after ``--`` go to the checkout's side only (for
example ``-- --config nob64.yaml`` to time a setting the old revision lacks).

Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _run(pythonpath: Path, command: list[str], cwd: str) -> float:
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "cmscan", *command],
        cwd=cwd,
        env={"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"cmscan failed ({process.returncode}): {process.stderr[-400:]!r}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev")
    parser.add_argument("command", choices=["scan", "history", "staged"])
    parser.add_argument("target")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("extra", nargs="*", help="after --: arguments for this checkout only")
    args = parser.parse_args()
    base = [args.command, args.target, "--format", "json", "-o", "/dev/null", "-q"]
    with tempfile.TemporaryDirectory(prefix="cmscan-ab-") as scratch:
        old = Path(scratch) / "old"
        subprocess.run(
            ["git", "-C", str(HERE), "worktree", "add", "-q", "--detach", str(old), args.rev],
            check=True,
        )
        try:
            sides = {args.rev: (old, base), "checkout": (HERE, [*base, *args.extra])}
            times: dict[str, list[float]] = {name: [] for name in sides}
            for round_ in range(args.runs + 1):
                for name, (root, command) in sides.items():
                    elapsed = _run(root, command, scratch)
                    if round_:  # the first round warms the page cache
                        times[name].append(elapsed)
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(old)])
    old_median = statistics.median(times[args.rev])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:>12}: median {median:.3f} s, min {min(values):.3f} s, "
            f"{median / old_median:.2f}x {args.rev}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
