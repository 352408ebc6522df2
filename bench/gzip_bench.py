#!/usr/bin/env python3
"""Time `cmscan scan` on gzip-compressed logs against `zcat FILES | rg cm-`.

    python bench/gzip_bench.py [--runs 5]

Compresses the 1.8 GB `logs/` corpus of bench/corpus.py into /tmp/cmscan-bench/logs-gz
(`gzip -6`, once; ~25 s), then times, page cache warm, 1 warm-up and --runs measured runs
of each command. Results go to bench/gzip_results.md (or --results).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import scan_bench  # noqa: E402  (the shared runner)

ROOT = Path("/tmp/cmscan-bench")


def compress_corpus(source: Path, target: Path) -> list[Path]:
    target.mkdir(exist_ok=True)
    files = []
    for log in sorted(source.glob("*.log")):
        packed = target / (log.name + ".gz")
        if not packed.exists():
            scan_bench.log(f"compressing {log.name}")
            with log.open("rb") as plain, gzip.open(packed, "wb", compresslevel=6) as out:
                shutil.copyfileobj(plain, out, 1 << 20)
        files.append(packed)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cmscan", default=None)
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "gzip_results.md")
    args = parser.parse_args()
    if not (ROOT / "logs").is_dir():
        sys.exit("build the corpus first: python bench/corpus.py")
    cmscan, why = scan_bench.find_cmscan(args.cmscan)
    if cmscan is None:
        sys.exit(f"cmscan not found: {why}")
    files = compress_corpus(ROOT / "logs", ROOT / "logs-gz")
    names = " ".join(str(path) for path in files)
    commands = {
        "zcat FILES \\| rg -c cm- (floor)": ["sh", "-c", f"zcat {names} | rg -c cm-"],
        "cmscan scan logs-gz": [cmscan, "scan", str(ROOT / "logs-gz"), "--format", "json"],
    }
    rows = []
    for label, argv in commands.items():
        walls = []
        result = None
        for index in range(args.runs + 1):
            result = scan_bench.run_once(argv, ROOT, timeout=1800)
            if index:
                walls.append(result.wall)
            scan_bench.log(f"{label}: {result.wall:.2f} s")
        assert result is not None
        rows.append((label, statistics.median(walls), result.maxrss_kb, result.stdout))
    floor = rows[0][1]
    found = scan_bench.parse_cmscan(rows[1][3])
    packed = sum(path.stat().st_size for path in files)
    lines = [
        f"# cmscan on compressed logs — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        scan_bench.machine_line(),
        "",
        f"{len(files)} gzip files, {packed / 1e6:,.0f} MB compressed, 1.8 GB of logs with 5 "
        f"planted keys; 1 warm-up and {args.runs} runs, median wall.",
        "",
        "| command | median wall | vs floor | peak RSS |",
        "|---|---|---|---|",
    ]
    for label, wall, rss, _ in rows:
        lines.append(f"| {label} | {wall:.2f} s | {wall / floor:.2f}x | {rss / 1024:.0f} MB |")
    lines += ["", f"cmscan findings: {found.findings} ({found.note})."]
    scan_bench.publish("\n".join(lines) + "\n", args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
