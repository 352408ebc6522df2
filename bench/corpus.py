#!/usr/bin/env python3
"""Build the cmscan benchmark corpora, outside the repository.

    python bench/corpus.py [--dir /tmp/cmscan-bench]

Creates, under ``--dir`` (each step is skipped when its output already exists):

``src/``
    A real-world source tree: the pinned npm packages below (CodeMirror 6,
    monaco-editor, typescript, react-dom and a few other well-known packages),
    installed with ``npm install --ignore-scripts`` and laid out as their
    ``node_modules`` folder (about 210 MB in about 7,300 files).
``codemirror/``
    Only the ``dist/`` folders of the CodeMirror 6 packages: thousands of ``cm-``
    CSS class names that are not keys (the false-positive check).
``logs/``
    Generated nginx access logs (about 1.8 GB in 12 files) with a few planted,
    randomly generated keys. Their places are written to ``logs-manifest.json``
    in ``--dir`` (hashes and masked forms only, never the keys themselves).

Only the Python standard library is used. Keys are made at run time with
``secrets``; no key-shaped literal appears in this file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import shutil
import string
import subprocess
import sys
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

DEFAULT_DIR = Path("/tmp/cmscan-bench")
PREFIX = "cm" + "-"  # the key prefix, spelled so no key-shaped literal is in the repo

# Every package of the source tree, transitive dependencies included, pinned to an
# exact version: npm then has nothing to resolve, so the tree is reproducible
# without a lockfile. (`npm ls --all` of the installed tree must equal this list.)
NPM_PACKAGES: dict[str, str] = {
    # CodeMirror 6
    "codemirror": "6.0.2",
    "@codemirror/autocomplete": "6.20.4",
    "@codemirror/commands": "6.11.2",
    "@codemirror/lang-css": "6.3.1",
    "@codemirror/lang-html": "6.4.12",
    "@codemirror/lang-javascript": "6.2.5",
    "@codemirror/lang-json": "6.0.2",
    "@codemirror/lang-markdown": "6.5.2",
    "@codemirror/lang-python": "6.2.1",
    "@codemirror/language": "6.13.1",
    "@codemirror/lint": "6.9.8",
    "@codemirror/search": "6.7.2",
    "@codemirror/state": "6.7.6",
    "@codemirror/streamparser": "6.0.0",
    "@codemirror/theme-one-dark": "6.1.3",
    "@codemirror/view": "6.44.2",
    "@lezer/common": "1.5.7",
    "@lezer/css": "1.3.9",
    "@lezer/highlight": "1.2.5",
    "@lezer/html": "1.3.13",
    "@lezer/javascript": "1.5.7",
    "@lezer/json": "1.0.3",
    "@lezer/lr": "1.4.13",
    "@lezer/markdown": "1.8.2",
    "@lezer/python": "1.1.19",
    "@marijn/find-cluster-break": "1.0.4",
    "crelt": "1.0.7",
    "style-mod": "4.1.5",
    "w3c-keyname": "2.2.8",
    # Monaco
    "monaco-editor": "0.57.0",
    "dompurify": "3.4.15",
    "marked": "14.0.0",
    "@types/trusted-types": "2.0.7",
    # TypeScript (the JavaScript compiler; 7.x is a native binary instead)
    "typescript": "5.9.3",
    # React
    "react": "19.3.1",
    "react-dom": "19.3.1",
    "scheduler": "0.28.0",
    # Well-known packages added to reach ~210 MB / ~7,300 files
    "lodash": "4.18.1",
    "rxjs": "7.8.2",
    "tslib": "2.9.1",
    "three": "0.187.0",
    "prettier": "3.10.1",
    "plotly.js-dist": "4.1.1",
    "esbuild-wasm": "0.28.2",
}

CODEMIRROR_PACKAGES: list[str] = sorted(
    name for name in NPM_PACKAGES if name == "codemirror" or name.startswith("@codemirror/")
)

LOG_FILES = 12
LOG_FILE_BYTES = 150_000_000
LOG_KEYS = 5
BLOCK_LINES = 20_000
LOG_DAY0 = 1_793_491_200  # 2026-11-01T00:00:00Z

BASE62 = string.ascii_letters + string.digits
BASE64URL = BASE62 + "_-"
HEX = "0123456789abcdef"


# --------------------------------------------------------------------------- utils


def log(msg: str) -> None:
    print(f"[corpus] {msg}", file=sys.stderr, flush=True)


def tree_stats(root: Path) -> tuple[int, int]:
    """Return (bytes, regular files) under root, not following symlinks."""
    total = files = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            if not os.path.islink(os.path.join(dirpath, name)):
                total += st.st_size
                files += 1
    return total, files


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} GB"


def read_json(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: object) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def mask(key: str) -> str:
    body = key[len(PREFIX) :]
    return f"{PREFIX}{body[:4]}…{body[-4:]}"


# ------------------------------------------------------------------------ src tree


def build_src(root: Path, force: bool = False) -> dict[str, object]:
    """Install the pinned npm packages and lay them out as root/src."""
    dest = root / "src"
    stamp = root / ".stamp-src.json"
    info = read_json(stamp)
    if not force and dest.is_dir() and info is not None and info.get("packages") == NPM_PACKAGES:
        log(f"src/ exists ({human(int(str(info['bytes'])))} in {info['files']} files), skipping")
        return info
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm not found: install Node.js/npm first")
    stage = root / ".npm-build"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(dest, ignore_errors=True)
    stage.mkdir(parents=True)
    manifest = {
        "name": "cmscan-bench-corpus",
        "private": True,
        "description": "cmscan benchmark source tree",
        "dependencies": NPM_PACKAGES,
    }
    (stage / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    cmd = [
        npm,
        "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--loglevel=error",
    ]
    log("npm install (" + str(len(NPM_PACKAGES)) + " pinned packages) …")
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=stage, check=True)
    log(f"npm install done in {time.monotonic() - t0:.1f} s")
    nm = stage / "node_modules"
    lock = read_json(nm / ".package-lock.json") or {}
    installed: dict[str, str] = {}
    packages = lock.get("packages", {})
    if isinstance(packages, dict):
        for key, meta in packages.items():
            if isinstance(meta, dict):
                installed[key.removeprefix("node_modules/")] = str(meta.get("version"))
    if installed != NPM_PACKAGES:
        extra = {k: v for k, v in installed.items() if NPM_PACKAGES.get(k) != v}
        log(f"WARNING: installed tree differs from the pins: {extra}")
    # Lay out the packages themselves (no node_modules/ path component, which some
    # scanners skip by default); drop npm's bookkeeping and the .bin symlinks.
    shutil.rmtree(nm / ".bin", ignore_errors=True)
    (nm / ".package-lock.json").unlink(missing_ok=True)
    nm.rename(dest)
    shutil.rmtree(stage, ignore_errors=True)
    size, files = tree_stats(dest)
    info = {
        "packages": NPM_PACKAGES,
        "installed": installed,
        "bytes": size,
        "files": files,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json(stamp, info)
    log(f"src/: {human(size)} in {files} files")
    return info


def build_codemirror(root: Path, force: bool = False) -> dict[str, object]:
    """Copy the CodeMirror 6 packages' dist/ folders to root/codemirror."""
    src = root / "src"
    dest = root / "codemirror"
    stamp = root / ".stamp-codemirror.json"
    info = read_json(stamp)
    if (
        not force
        and dest.is_dir()
        and info is not None
        and info.get("packages") == CODEMIRROR_PACKAGES
    ):
        log(
            f"codemirror/ exists ({human(int(str(info['bytes'])))}"
            f" in {info['files']} files), skipping"
        )
        return info
    shutil.rmtree(dest, ignore_errors=True)
    tmp = root / "codemirror.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for name in CODEMIRROR_PACKAGES:
        dist = src / name / "dist"
        if not dist.is_dir():
            raise SystemExit(f"{dist} is missing: build src/ first")
        shutil.copytree(dist, tmp / name / "dist")
    tmp.rename(dest)
    size, files = tree_stats(dest)
    info = {"packages": CODEMIRROR_PACKAGES, "bytes": size, "files": files}
    write_json(stamp, info)
    log(f"codemirror/: {human(size)} in {files} files")
    return info


# ---------------------------------------------------------------------------- logs

_WORDS_TEXT = (
    "alpha amber anchor apple arrow atlas autumn badge banner basic beacon berry "
    "birch blade bloom board bridge bright brook budget cable canvas carbon "
    "castle cedar chart cherry circle cloud coast comet copper coral cotton craft "
    "crystal dawn delta desert digital dragon dream eagle echo ember engine "
    "falcon feather field flame forest frost galaxy garden ghost glacier golden "
    "granite harbor hazel horizon island ivory jasmine jungle kernel lantern "
    "laser legend lemon linen lotus lunar maple marble meadow metro mirror mist "
    "modern nebula nickel noble north oasis ocean olive onyx orbit orchid panda "
    "paper pearl pepper pilot pixel planet plaza polar prism pulse quartz quest "
    "radar rain raven river rocket ruby saddle sage salmon satin shadow silver "
    "sky slate solar spark spice spring spruce star stone storm summit sunset "
    "swift tango thunder tiger timber topaz tower trail tulip urban valley velvet "
    "violet vista wave willow winter wolf zenith release notes guide pricing docs "
    "install setup api billing"
)
WORDS = _WORDS_TEXT.split()

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.39 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.51",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "curl/8.11.0",
    "curl/7.88.1",
    "python-requests/2.32.3",
    "python-httpx/0.28.1",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "axios/1.7.9",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "OpenAI/Python 1.57.0",
    "Prometheus/2.55.1",
    "kube-probe/1.31",
    "Wget/1.21.4",
    "-",
]

METHODS = ["GET"] * 40 + ["POST"] * 8 + ["HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"]
STATUSES = [200] * 60 + [304] * 8 + [301, 302] * 3 + [404] * 6 + [401, 403, 429, 500, 502, 503, 204]
REFERERS = [
    "https://www.example.com/",
    "https://www.example.com/pricing",
    "https://app.example.com/dashboard",
    "https://app.example.com/settings/keys",
    "https://www.google.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://github.com/",
]
UTM_SOURCES = ["newsletter", "twitter", "google", "linkedin", "partner", "reddit"]
UTM_MEDIUMS = ["email", "social", "cpc", "referral", "organic"]
SCANNER_PATHS = [
    "/wp-login.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/index.php",
    "/xmlrpc.php",
    "/cgi-bin/luci/;stok=/locale",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/actuator/health",
    "/server-status",
    "/.aws/credentials",
]
STATIC_PATHS = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/favicon.ico",
    "/robots.txt",
    "/sitemap.xml",
    "/",
]
GATEWAY_PATHS = [
    "/v1/chat/completions",
    "/v1/models",
    "/v1/credits",
    "/v1/usage",
    "/v1/messages",
    "/v1/embeddings",
]
ASSET_NAMES = [
    "main",
    "vendor",
    "runtime",
    "polyfills",
    "chunk-vendors",
    "editor",
    "cm-editor",
    "app",
]


def rand_token(rng: random.Random, alphabet: str, n: int) -> str:
    """Random token that never contains the key prefix by accident."""
    while True:
        tok = "".join(rng.choices(alphabet, k=n))
        if PREFIX not in tok:
            return tok


def slug(rng: random.Random, n: int) -> str:
    return "-".join(rng.sample(WORDS, n))


def rand_ip(rng: random.Random) -> str:
    if rng.random() < 0.04:
        a, b, c = (rng.randrange(65536) for _ in range(3))
        return f"2001:db8:{a:x}:{b:x}::{c:x}"
    first = rng.choice(
        [
            3,
            13,
            18,
            23,
            31,
            34,
            45,
            52,
            66,
            77,
            81,
            89,
            91,
            104,
            109,
            141,
            151,
            176,
            185,
            188,
            203,
        ]
    )
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def rand_path(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.18:
        name = rng.choice(ASSET_NAMES)
        ext = rng.choice(["js", "js", "css", "js.map"])
        digest = rand_token(rng, HEX, 8)
        return f"/static/{ext.split('.')[0]}/{name}.{digest}.{ext}"
    if r < 0.30:
        return f"/api/v1/users/{rng.randrange(1, 2_000_000)}"
    if r < 0.38:
        return (
            f"/api/v1/orders/{rng.randrange(1, 9_000_000)}/items"
            f"?limit={rng.choice([10, 20, 50, 100])}&offset={rng.randrange(0, 500)}"
        )
    if r < 0.46:
        q = "+".join(rng.sample(WORDS, rng.randrange(1, 4)))
        sort = rng.choice(["relevance", "date", "-price"])
        return f"/api/v2/search?q={q}&page={rng.randrange(1, 30)}&sort={sort}"
    if r < 0.54:
        return (
            f"/products/{slug(rng, rng.randrange(2, 5))}"
            f"?utm_source={rng.choice(UTM_SOURCES)}"
            f"&utm_medium={rng.choice(UTM_MEDIUMS)}&utm_campaign={slug(rng, 2)}"
        )
    if r < 0.60:
        return f"/blog/2026/{rng.randrange(1, 13):02d}/{slug(rng, rng.randrange(3, 7))}"
    if r < 0.68:
        img = rng.choice(["jpg", "png", "webp", "avif"])
        return f"/images/{slug(rng, 2)}.{img}?w={rng.choice([320, 640, 1280, 1920])}&q=75"
    if r < 0.78:
        return rng.choice(GATEWAY_PATHS)
    if r < 0.82:
        code, state = rand_token(rng, BASE64URL, 43), rand_token(rng, HEX, 16)
        return f"/oauth/callback?code={code}&state={state}"
    if r < 0.86:
        return rng.choice(SCANNER_PATHS)
    if r < 0.90:
        return "/graphql"
    return rng.choice(STATIC_PATHS)


def rand_jwt(rng: random.Random) -> str:
    head = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
    payload = rand_token(rng, BASE64URL, rng.randrange(80, 220))
    return f"{head}.{payload}.{rand_token(rng, BASE64URL, 86)}"


def rand_auth(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.70:
        return "-"
    if r < 0.85:
        return "Bearer " + rand_jwt(rng)
    if r < 0.90:
        return "Bearer [REDACTED]"
    if r < 0.94:
        return "Bearer " + PREFIX + "*" * rng.choice([8, 16, 32])
    if r < 0.97:
        return "Basic " + rand_token(rng, BASE62, 24) + "=="
    return "Bearer " + PREFIX + "..."


def rand_rest(
    rng: random.Random, extended: bool, path: str | None = None, auth: str | None = None
) -> str:
    """Everything after the timestamp of one access-log line."""
    method = rng.choice(METHODS)
    status = rng.choice(STATUSES)
    proto = rng.choice(["HTTP/1.1", "HTTP/1.1", "HTTP/2.0"])
    size = 0 if status in (204, 304) else int(rng.lognormvariate(7.5, 1.6))
    ref = "-" if rng.random() < 0.55 else rng.choice(REFERERS)
    ua = rng.choice(USER_AGENTS)
    req = f"{method} {path if path is not None else rand_path(rng)} {proto}"
    line = f'"{req}" {status} {size} "{ref}" "{ua}"'
    if not extended:
        return line
    rt = rng.expovariate(8.0)
    upstream = "-" if status in (301, 302, 304) or rng.random() < 0.1 else f"{rt * 0.9:.3f}"
    xff = "-" if rng.random() < 0.8 else rand_ip(rng)
    rid = "req_cm_" + rand_token(rng, HEX, 24)
    auth = auth if auth is not None else rand_auth(rng)
    return f'{line} "{xff}" rt={rt:.3f} uct="{upstream}" urt="{upstream}" rid={rid} auth="{auth}"'


def rand_prefix(rng: random.Random) -> str:
    user = "-" if rng.random() < 0.97 else rng.choice(["admin", "deploy", "ci", "alice", "bob"])
    return f"{rand_ip(rng)} - {user}"


@dataclass
class Plant:
    """One key to plant, at a fraction of the file (None: as the file's last line)."""

    key_id: int
    where: float | None  # None: last line of the file, written without a trailing newline
    offset: int  # line within its block
    key: str
    context: str


@dataclass
class LogJob:
    path: str
    target_bytes: int
    seed: int
    extended: bool
    day: int
    plants: list[Plant] = field(default_factory=list)


@dataclass
class PlantedAt:
    key_id: int
    line: int
    column: int
    context: str


def key_line(rng: random.Random, job: LogJob, plant: Plant, ts: str) -> tuple[str, int]:
    """Return (line, 1-based column of the key) for a planted key."""
    key = plant.key
    prefix = rand_prefix(rng)
    head = f"{prefix} [{ts}] "
    if plant.context == "query":
        rest = rand_rest(rng, job.extended, path=f"/v1/models?api_key={key}&limit=20")
    elif plant.context == "referer":
        rest = (
            '"GET /v1/credits HTTP/1.1" 401 97 '
            f'"https://app.example.com/debug?key={key}&step=2" '
            f'"{rng.choice(USER_AGENTS)}"'
        )
        if job.extended:
            rest += ' "-" rt=0.004 uct="0.001" urt="0.003" rid=req_cm_' + rand_token(rng, HEX, 24)
            rest += ' auth="-"'
    elif plant.context == "bearer":
        rest = rand_rest(rng, True, path="/v1/chat/completions", auth=f"Bearer {key}")
    else:  # "x-api-key" at the very end of the line
        rest = rand_rest(rng, job.extended, path="/v1/messages") + f" x-api-key={key}"
    line = head + rest
    return line, line.index(key) + 1


def _ts(t: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))


def iter_log_blocks(job: LogJob) -> Iterator[tuple[int, int, list[str]]]:
    """Yield (block index, estimated blocks, lines) up to ~job.target_bytes."""
    rng = random.Random(job.seed)
    prefixes = [rand_prefix(rng) for _ in range(6_000)]
    rests = [rand_rest(rng, job.extended) for _ in range(40_000)]
    avg = sum(len(p) + len(r) + 31 for p, r in zip(prefixes, rests, strict=False)) / len(prefixes)
    est_lines = max(1, int(job.target_bytes / avg))
    per_line = 86_400 / est_lines
    est_blocks = max(1, est_lines // BLOCK_LINES)
    produced = 0
    block = 0
    while produced < job.target_bytes:
        base = block * BLOCK_LINES
        t0 = job.day + int(base * per_line)
        t1 = job.day + int((base + BLOCK_LINES) * per_line) + 1
        stamps = [_ts(t) for t in range(t0, t1 + 1)]
        idx = [job.day + int((base + i) * per_line) - t0 for i in range(BLOCK_LINES)]
        ps = rng.choices(prefixes, k=BLOCK_LINES)
        rs = rng.choices(rests, k=BLOCK_LINES)
        lines = [f"{p} [{stamps[j]}] {r}" for p, j, r in zip(ps, idx, rs, strict=True)]
        sizes = list(accumulate(len(line) + 1 for line in lines))
        if produced + sizes[-1] > job.target_bytes:  # last block: stop at the target size
            lines = lines[: bisect_left(sizes, job.target_bytes - produced) + 1]
        yield block, est_blocks, lines
        produced += sizes[len(lines) - 1]
        block += 1


def write_log_file(job: LogJob) -> tuple[int, int, list[PlantedAt]]:
    """Write one log file; return (bytes, lines, where the keys went)."""
    rng = random.Random(job.seed ^ 0x5EED)
    planted: list[PlantedAt] = []
    by_block: dict[int, list[Plant]] = {}
    pending = [p for p in job.plants if p.where is not None]
    last = [p for p in job.plants if p.where is None]
    tmp = job.path + ".tmp"
    lines_written = 0
    size = 0
    last_ts = _ts(job.day)
    with open(tmp, "wb", buffering=0) as out:
        for block, est_blocks, lines in iter_log_blocks(job):
            if block == 0:
                for p in pending:
                    at = min(int((p.where or 0.0) * est_blocks), est_blocks - 1)
                    by_block.setdefault(at, []).append(p)
            for p in by_block.pop(block, []):
                if p.offset >= len(lines):  # a short last block: plant at the end instead
                    by_block.setdefault(-1, []).append(p)
                    continue
                ts = lines[p.offset].split("[", 1)[1].split("]", 1)[0]
                lines[p.offset], col = key_line(rng, job, p, ts)
                planted.append(PlantedAt(p.key_id, lines_written + p.offset + 1, col, p.context))
            data = ("\n".join(lines) + "\n").encode()
            out.write(data)
            size += len(data)
            lines_written += len(lines)
            last_ts = lines[-1].split("[", 1)[1].split("]", 1)[0]
        leftover = [p for ps in by_block.values() for p in ps]  # file ended early (never expected)
        for i, p in enumerate(leftover + last):
            line, col = key_line(rng, job, p, last_ts)
            # the file's last line has no trailing newline: a key at the end of the data
            data = line.encode() + (b"\n" if i < len(leftover) + len(last) - 1 else b"")
            out.write(data)
            size += len(data)
            lines_written += 1
            planted.append(PlantedAt(p.key_id, lines_written, col, p.context))
    os.replace(tmp, job.path)
    return size, lines_written, planted


def new_keys(n: int) -> list[str]:
    """Random keys in the alphabets the spec says real keys may use."""
    makers: list[Callable[[], str]] = [
        lambda: "".join(secrets.choice(BASE62) for _ in range(48)),
        lambda: secrets.token_hex(20),
        lambda: (
            "".join(secrets.choice(BASE62) for _ in range(12))
            + "_"
            + "".join(secrets.choice(BASE64URL) for _ in range(40))
        ),
        lambda: "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(32)),
        lambda: "".join(secrets.choice(BASE62) for _ in range(48)),
    ]
    return [PREFIX + makers[i % len(makers)]() for i in range(n)]


def key_record(key: str) -> dict[str, object]:
    return {
        "sha256": hashlib.sha256(key.encode()).hexdigest(),  # = cmscan's fingerprint
        "sha1": hashlib.sha1(key.encode()).hexdigest(),  # = detect-secrets' hashed_secret
        "masked": mask(key),
        "length": len(key),
    }


def build_logs(
    root: Path,
    files: int = LOG_FILES,
    file_bytes: int = LOG_FILE_BYTES,
    keys: int = LOG_KEYS,
    seed: int = 1,
    jobs: int = 2,
    force: bool = False,
) -> dict[str, object]:
    """Generate root/logs/*.log and root/logs-manifest.json."""
    dest = root / "logs"
    manifest_path = root / "logs-manifest.json"
    info = read_json(manifest_path)
    params = {"files": files, "file_bytes": file_bytes, "keys": keys, "seed": seed}
    if not force and info is not None and info.get("params") == params and dest.is_dir():
        names = info.get("files", [])
        if isinstance(names, list) and all((root / str(f)).is_file() for f in names):
            log(f"logs/ exists ({human(int(str(info['bytes'])))} in {len(names)} files), skipping")
            return info
    shutil.rmtree(dest, ignore_errors=True)
    manifest_path.unlink(missing_ok=True)
    dest.mkdir(parents=True)
    rng = random.Random(seed)
    key_list = new_keys(keys)
    contexts = ["query", "bearer", "referer", "x-api-key"]
    job_list = [
        LogJob(
            path=str(dest / f"access-2026-11-{i + 1:02d}.log"),
            target_bytes=file_bytes,
            seed=seed * 1000 + i,
            extended=i % 2 == 1,
            day=LOG_DAY0 + i * 86_400,
        )
        for i in range(files)
    ]
    spread = rng.sample(range(files), min(keys, files)) if files else []
    for k, key in enumerate(key_list):
        if k == keys - 1 and keys > 1:
            job = job_list[-1]  # the last key: last line of the last file, no newline after it
            job.plants.append(Plant(k, None, 0, key, "x-api-key"))
            continue
        job = job_list[spread[k % len(spread)]]
        ctx = contexts[k % len(contexts)]
        if ctx == "bearer" and not job.extended:
            ctx = "query"
        job.plants.append(Plant(k, rng.uniform(0.02, 0.95), rng.randrange(BLOCK_LINES), key, ctx))
    log(f"generating {files} log files of ~{human(file_bytes)} with {keys} planted keys …")
    t0 = time.monotonic()
    records: list[dict[str, object]] = [{} for _ in key_list]
    total = 0
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        for job, (size, nlines, planted) in zip(
            job_list, pool.map(write_log_file, job_list), strict=True
        ):
            total += size
            rel = str(Path(job.path).relative_to(root))
            log(f"  {rel}: {human(size)}, {nlines} lines")
            for p in planted:
                rec = {
                    "file": rel,
                    "line": p.line,
                    "column": p.column,
                    "context": p.context,
                }
                rec.update(key_record(key_list[p.key_id]))
                records[p.key_id] = rec
    del key_list
    log(f"logs generated in {time.monotonic() - t0:.1f} s")
    info = {
        "params": params,
        "files": [str(Path(j.path).relative_to(root)) for j in job_list],
        "bytes": total,
        "keys": records,
        "note": "keys are stored as hashes only: sha256 = cmscan fingerprint, "
        "sha1 = detect-secrets hashed_secret",
    }
    write_json(manifest_path, info)
    return info


def build_big_file(root: Path, size_bytes: int, seed: int = 7) -> dict[str, object]:
    """One large log file (for the RSS-stays-flat check) with one key near its end."""
    big = root / "big"
    big.mkdir(parents=True, exist_ok=True)
    name = f"big-{size_bytes // 1_000_000}MB.log"
    path = big / name
    manifest_path = big / (name + ".json")
    info = read_json(manifest_path)
    if info is not None and path.is_file() and info.get("target_bytes") == size_bytes:
        return info
    key = new_keys(1)[0]
    job = LogJob(
        path=str(path),
        target_bytes=size_bytes,
        seed=seed,
        extended=True,
        day=LOG_DAY0,
        plants=[Plant(0, 0.999, BLOCK_LINES - 1, key, "bearer")],
    )
    log(f"generating {path} (~{human(size_bytes)}) …")
    t0 = time.monotonic()
    size, nlines, planted = write_log_file(job)
    log(f"  {human(size)}, {nlines} lines in {time.monotonic() - t0:.1f} s")
    rec: dict[str, object] = {"file": name}
    if planted:
        rec.update({"line": planted[0].line, "column": planted[0].column})
    rec.update(key_record(key))
    info = {
        "target_bytes": size_bytes,
        "bytes": size,
        "lines": nlines,
        "path": str(path),
        "keys": [rec],
    }
    write_json(manifest_path, info)
    return info


def parse_size(text: str) -> int:
    units = {"K": 10**3, "M": 10**6, "G": 10**9}
    text = text.strip().upper().removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help="corpus directory (default %(default)s)",
    )
    ap.add_argument(
        "--only",
        choices=["src", "codemirror", "logs"],
        action="append",
        help="build only these",
    )
    ap.add_argument("--force", action="store_true", help="rebuild even if present")
    ap.add_argument("--log-files", type=int, default=LOG_FILES)
    ap.add_argument("--log-file-size", type=parse_size, default=LOG_FILE_BYTES, help="e.g. 150M")
    ap.add_argument("--keys", type=int, default=LOG_KEYS, help="keys planted in logs/")
    ap.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the log content (keys are always random)",
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument(
        "--big-file",
        type=parse_size,
        action="append",
        default=[],
        help="also make one big log, e.g. 5G",
    )
    args = ap.parse_args(argv)
    root: Path = args.dir.resolve()
    repo = Path(__file__).resolve().parent.parent
    if root == repo or repo in root.parents:
        ap.error(f"--dir must be outside the repository ({repo})")
    root.mkdir(parents=True, exist_ok=True)
    only = set(args.only or ["src", "codemirror", "logs"])
    summary: dict[str, object] = {}
    if "src" in only:
        summary["src"] = build_src(root, args.force)
    if "codemirror" in only:
        summary["codemirror"] = build_codemirror(root, args.force)
    if "logs" in only:
        summary["logs"] = build_logs(
            root,
            args.log_files,
            args.log_file_size,
            args.keys,
            args.seed,
            args.jobs,
            args.force,
        )
    for size in args.big_file:
        summary[f"big-{size}"] = build_big_file(root, size)
    print(f"corpora in {root}:")
    for name, info in summary.items():
        if isinstance(info, dict):
            files = info.get("files")
            nfiles = len(files) if isinstance(files, list) else files
            print(f"  {name:12s} {human(int(str(info.get('bytes', 0)))):>10s}  {nfiles} files")
    if "logs" in summary:
        print(f"  planted keys: {root / 'logs-manifest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
