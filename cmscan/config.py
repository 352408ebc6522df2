"""``.cmscan.yaml``: a project's excludes, allowlist, thresholds, limits and defaults.

A config given with ``--config`` is the user's own and may set anything. A config
*discovered* in the scanned tree (which a pull request can change) may tighten the scan but
cannot turn verification on or choose where keys are sent: those two settings are ignored,
with a warning, unless they come from ``--config``, the environment or the command line.

Every key and type is checked; a mistake is a :class:`UsageError` (exit 2) that names the
file and the key.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cmscan.detector import BASE64_LIMIT, MAX_BODY, MIN_BODY, Rules
from cmscan.errors import UsageError
from cmscan.formats import ArchiveLimits
from cmscan.randomness import RandomnessRules

FILENAME = ".cmscan.yaml"
FORMATS = ("text", "json", "sarif", "github")
FAIL_ON = ("any", "active", "none")


@dataclass(frozen=True)
class VerifyConfig:
    enabled: bool | None = None
    base_url: str | None = None
    timeout: float | None = None
    concurrency: int | None = None


@dataclass(frozen=True)
class Config:
    """A loaded config; every field left unset keeps the built-in default."""

    path: str | None = None
    discovered: bool = False
    excludes: tuple[str, ...] = ()
    allowlist: Mapping[str, str] = field(default_factory=dict)
    """Fingerprint -> the reason it is allowed."""
    rules: Rules = field(default_factory=Rules)
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    format: str | None = None
    fail_on: str | None = None
    refused: tuple[str, ...] = ()
    """Settings a discovered config tried to make and may not (for a warning)."""


class _Invalid(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(where, message)
        self.where = where
        self.message = message


Check = Callable[[Any, str], Any]


def _integer(low: int, high: int) -> Check:
    def check(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _Invalid(where, f"expected a whole number from {low:,} to {high:,}")
        return value

    return check


def _number(low: float, high: float) -> Check:
    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(where, f"expected a number from {low} to {high}")
        if not low <= value <= high:
            raise _Invalid(where, f"expected a number from {low} to {high}")
        return float(value)

    return check


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(where, "expected true or false")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Invalid(where, "expected a non-empty string")
    return value


def _choice(*choices: str) -> Check:
    def check(value: Any, where: str) -> str:
        if value not in choices:
            raise _Invalid(where, f"expected one of {', '.join(choices)}")
        return str(value)

    return check


def _list(item: Check) -> Check:
    def check(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise _Invalid(where, "expected a list")
        return [item(element, f"{where}[{index}]") for index, element in enumerate(value)]

    return check


_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def _fingerprint(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _FINGERPRINT.fullmatch(value):
        raise _Invalid(where, "expected a fingerprint: 64 lowercase hex digits (SHA-256)")
    return value


def _section(
    schema: Mapping[str, Check | Mapping[str, Any]], required: tuple[str, ...] = ()
) -> Check:
    def check(value: Any, where: str) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise _Invalid(where, "expected a mapping of settings")
        out: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in schema:
                raise _Invalid(path, f"unknown setting (known: {', '.join(schema)})")
            rule = schema[key]
            out[key] = _section(rule)(item, path) if isinstance(rule, Mapping) else rule(item, path)
        for key in required:
            if key not in out:
                raise _Invalid(f"{where}.{key}" if where else key, "is required")
        return out

    return check


# Randomness thresholds may only be moved the way that rejects more candidates.
_TIGHTER_IS_HIGHER = ("min_distinct", "word_cost", "segment_word_cost", "long_word_cost")
_TIGHTER_IS_LOWER = ("max_share", "max_run", "max_step_share", "max_word_share")
_DEFAULTS = RandomnessRules()


def _threshold(name: str) -> Check:
    default = getattr(_DEFAULTS, name)
    whole = isinstance(default, int)
    higher = name in _TIGHTER_IS_HIGHER

    def check(value: Any, where: str) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(where, "expected a number")
        if whole and not isinstance(value, int):
            raise _Invalid(where, "expected a whole number")
        if (value < default) if higher else (value > default):
            direction = "at least" if higher else "at most"
            raise _Invalid(where, f"may only tighten the detector: {direction} {default}")
        return value

    return check


_SCHEMA: dict[str, Check | Mapping[str, Any]] = {
    "exclude": _list(_text),
    "allowlist": _list(
        _section({"fingerprint": _fingerprint, "reason": _text}, ("fingerprint", "reason"))
    ),
    "detector": {
        "min_body": _integer(MIN_BODY, MAX_BODY),
        "max_body": _integer(MIN_BODY, MAX_BODY),
        "randomness": {
            name: _threshold(name) for name in (*_TIGHTER_IS_HIGHER, *_TIGHTER_IS_LOWER)
        },
    },
    "verify": {
        "enabled": _boolean,
        "base_url": _text,
        "timeout": _number(0.1, 600),
        "concurrency": _integer(1, 64),
    },
    "limits": {
        "archive_depth": _integer(1, 10),
        "archive_bytes": _integer(1 << 20, 1 << 40),
        "archive_ratio": _integer(2, 100_000),
        "nested_zip_bytes": _integer(1 << 10, 1 << 30),
        "base64_bytes": _integer(0, 1 << 40),
    },
    "report": {"format": _choice(*FORMATS), "fail_on": _choice(*FAIL_ON)},
}


def load_config(path: str, discovered: bool = False) -> Config:
    """Read and check a config file; :class:`UsageError` naming the file and key if wrong."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as error:
        raise UsageError(f"cannot read the config {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"{path}: not valid YAML{where}") from None
    try:
        settings = _section(_SCHEMA)(document, "")
        return _build(settings, path, discovered)
    except _Invalid as error:
        raise UsageError(f"{path}: '{error.where}': {error.message}") from None


def discover(root: str | None) -> str | None:
    """The ``.cmscan.yaml`` at the scan root, if there is one."""
    if root is None:
        return None
    candidate = os.path.join(root, FILENAME)
    return candidate if os.path.isfile(candidate) else None


def _build(settings: dict[str, Any], path: str, discovered: bool) -> Config:
    detector = settings.get("detector", {})
    bodies = {k: detector[k] for k in ("min_body", "max_body") if k in detector}
    randomness = dataclasses.replace(_DEFAULTS, **detector.get("randomness", {}))
    limits_in = settings.get("limits", {})
    try:
        rules = Rules(
            **bodies,
            randomness=randomness,
            base64_bytes=limits_in.get("base64_bytes", BASE64_LIMIT),
        )
    except ValueError as error:
        raise _Invalid("detector", str(error)) from None
    limits = ArchiveLimits(
        **{
            target: limits_in[source]
            for source, target in (
                ("archive_depth", "max_depth"),
                ("archive_bytes", "max_total"),
                ("archive_ratio", "max_ratio"),
                ("nested_zip_bytes", "max_nested_in_memory"),
            )
            if source in limits_in
        }
    )
    verify = dict(settings.get("verify", {}))
    refused = []
    if discovered:
        for name in ("enabled", "base_url"):
            if name in verify and (name != "enabled" or verify[name]):
                refused.append(f"verify.{name}")
                del verify[name]
    report = settings.get("report", {})
    return Config(
        path=path,
        discovered=discovered,
        excludes=tuple(settings.get("exclude", ())),
        allowlist={item["fingerprint"]: item["reason"] for item in settings.get("allowlist", ())},
        rules=rules,
        limits=limits,
        verify=VerifyConfig(**verify),
        format=report.get("format"),
        fail_on=report.get("fail_on"),
        refused=tuple(refused),
    )
