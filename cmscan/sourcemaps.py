"""Source maps: a key in ``sourcesContent`` is also reported at its original file and line.

A bundle's ``.map`` file often ships the original sources verbatim. cmscan finds the key
in the map like in any file (line 1, some column); for a map that holds a key, this module
then reads the map's JSON and reports each key again where the developer wrote it, e.g.
``dist/app.js.map!webpack://app/src/llm.ts`` line 12, so the owner knows which source file
to fix. Only maps that hold a key are parsed, and only up to :data:`MAX_MAP_BYTES`.
"""

from __future__ import annotations

import io
import json
from typing import Any

from cmscan.detector import Detector
from cmscan.formats import SEPARATOR
from cmscan.model import Finding, Skipped
from cmscan.stream import scan_stream

MAX_MAP_BYTES = 64 << 20


def original_findings(
    fs_path: str, shown: str, detector: Detector, buffer: bytearray
) -> tuple[list[Finding], Skipped | None]:
    """Findings at the original sources of the map at ``fs_path`` (reported as ``shown``)."""
    try:
        with open(fs_path, "rb") as file:
            data = file.read(MAX_MAP_BYTES + 1)
    except OSError as error:
        return [], Skipped(shown, f"source map not read again: {error.strerror}")
    if len(data) > MAX_MAP_BYTES:
        return [], Skipped(shown, "source map too large to map keys to their sources")
    try:
        document: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return [], None  # not a JSON source map: the finding at the map stands alone
    if not isinstance(document, dict):
        return [], None
    sources = document.get("sources")
    contents = document.get("sourcesContent")
    root = document.get("sourceRoot") or ""
    if not isinstance(sources, list) or not isinstance(contents, list):
        return [], None
    findings: list[Finding] = []
    for name, content in zip(sources, contents, strict=False):
        if not isinstance(name, str) or not isinstance(content, str) or "cm" not in content:
            continue
        raw = io.BytesIO(content.encode("utf-8", "surrogatepass"))
        origin = f"{shown}{SEPARATOR}{root if isinstance(root, str) else ''}{name}"
        scan = scan_stream(raw, detector, buffer)
        findings.extend(Finding.of_hit(hit, origin, "file") for hit in scan.hits)
    return findings, None
