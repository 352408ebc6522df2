"""What the owner of a leaked key should do, in order, for its status and where it leaked."""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Iterable

from cmscan.model import Finding, Status

CONSOLE = "the CrossModel console's API Keys page"


class Place(enum.Enum):
    """Where a key leaked, as far as the cleanup is concerned; the worst exposure first."""

    FRONTEND = "frontend bundle"
    MOBILE = "mobile app"
    GIT = "git history"
    LOG = "log"
    CONFIG = "config file"
    SOURCE = "source file"
    STDIN = "stdin"


_FRONTEND_EXTENSIONS = frozenset(
    {".js", ".mjs", ".cjs", ".jsx", ".css", ".html", ".htm", ".map", ".vue", ".svelte", ".wasm"}
)
_BUILD_DIRS = frozenset(
    {"dist", "build", "public", "static", "www", "out", ".next", "assets", "bundle", "bundles"}
)
_MOBILE_EXTENSIONS = frozenset({".apk", ".aab", ".ipa", ".dex", ".xcarchive", ".appx"})
_CONFIG_EXTENSIONS = frozenset(
    {
        ".env",
        ".yaml",
        ".yml",
        ".json",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".properties",
        ".plist",
        ".xml",
        ".tfvars",
        ".npmrc",
        ".netrc",
    }
)
_LOG_EXTENSIONS = frozenset({".log", ".out", ".err", ".trace", ".jsonl"})
_LOG_DIRS = frozenset({"log", "logs"})
_COMPRESSED = frozenset({".gz", ".bz2", ".xz", ".zst"})


def place_of(finding: Finding) -> Place:
    if finding.source == "stdin":
        return Place.STDIN
    if finding.source == "git":
        return Place.GIT
    path = (finding.path or "").lower()
    parts = path.replace("!", "/").split("/")
    name = parts[-1]
    stem, extension = posixpath.splitext(name)
    if extension in _COMPRESSED:  # access.log.2.gz -> judge by what is inside
        stem, extension = posixpath.splitext(stem)
    if any(part.endswith(tuple(_MOBILE_EXTENSIONS)) for part in parts):
        return Place.MOBILE
    if extension in _LOG_EXTENSIONS or (extension[1:].isdigit() and ".log" in name):
        return Place.LOG
    if any(part in _LOG_DIRS for part in parts[:-1]):
        return Place.LOG
    if extension in _FRONTEND_EXTENSIONS and (
        extension in {".html", ".htm", ".map"}
        or stem.endswith(".min")
        or any(part in _BUILD_DIRS for part in parts[:-1])
    ):
        return Place.FRONTEND
    if (
        name.startswith(".env")
        or extension in _CONFIG_EXTENSIONS
        or name in {"dockerfile", "docker-compose.yml", "compose.yaml", ".npmrc", ".netrc"}
    ):
        return Place.CONFIG
    return Place.SOURCE


_FIRST_STEP: dict[Status, str] = {
    "unverified": (
        f"Treat the key as live: disable it now on {CONSOLE} (it was not checked; run with "
        "--verify to ask the gateway)."
    ),
    "active": (
        f"URGENT: the key is live and anyone who has it can spend your balance. Disable it "
        f"now on {CONSOLE}."
    ),
    "inactive": f"The key is already disabled; delete it on {CONSOLE} so it cannot be re-enabled.",
    "invalid": (
        "The gateway does not accept this key (deleted, or never valid); nothing can be spent "
        "with it, but clean up where it leaked."
    ),
    "account_disabled": (
        f"The account that owns the key is disabled; delete the key on {CONSOLE} before the "
        "account is re-enabled."
    ),
    "unknown": (
        f"Verification could not decide; treat the key as live and disable it now on {CONSOLE}."
    ),
}

_REPLACE = (
    "Create a replacement key on the API Keys page (it is shown only once) and keep it in a "
    "server-side secret store or the CROSSMODEL_API_KEY environment variable, never in code."
)
_DELETE = "Delete the leaked key on the API Keys page once nothing uses it."

_CLEANUP: dict[Place, str] = {
    Place.FRONTEND: (
        "The key has shipped to every browser that loaded this bundle: move the CrossModel call "
        "behind your own server and rebuild and redeploy the bundle without the key."
    ),
    Place.MOBILE: (
        "The key ships inside the app to every device that installed it and can be extracted: "
        "move the CrossModel call behind your own server and release a build without it."
    ),
    Place.GIT: (
        "Rewriting git history does not un-leak the key (clones, forks and caches keep it): "
        "rotate first, then remove it from the code and, if you must, from history."
    ),
    Place.LOG: (
        "Purge or redact the log files (cmscan redact) and wherever they were shipped, and stop "
        "logging request headers and keys."
    ),
    Place.CONFIG: (
        "Remove the key from the config file, read it from the environment or a secret store "
        "instead, and make sure the file is not committed or deployed with the key."
    ),
    Place.SOURCE: (
        "Remove the key from the source and read it from the CROSSMODEL_API_KEY environment "
        "variable on a server; if this code runs in a browser or app, move the call behind "
        "your server."
    ),
    Place.STDIN: "Find where the scanned text came from and remove the key there.",
}

_CHECK_USAGE = "Check usage and balance on the console for spend you do not recognise."

_NO_ROTATION: frozenset[Status] = frozenset({"invalid"})


def advise(status: Status, places: Iterable[Place]) -> list[str]:
    """The steps, in order, for a key with ``status`` found in ``places``."""
    steps = [_FIRST_STEP[status]]
    if status not in _NO_ROTATION:
        steps.append(_REPLACE)
        if status not in {"inactive", "account_disabled"}:
            steps.append(_DELETE)
    order = list(Place)
    steps.extend(_CLEANUP[place] for place in sorted(set(places), key=order.index))
    if status not in _NO_ROTATION:
        steps.append(_CHECK_USAGE)
    return steps
