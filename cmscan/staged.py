"""``cmscan staged``: what the next commit will hold, read from the index, not the work tree.

``git diff --cached --raw`` names every path whose staged content differs from ``HEAD`` (all
paths when there is no ``HEAD`` yet); the staged blobs are scanned through one
``cat-file --batch``, so line numbers are those of the content as it will be committed. A
renamed file counts as new at its new path (``--no-renames``): whatever it holds goes into
the commit there. Deleted paths bring nothing in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cmscan.catfile import Unreadable, scan_objects
from cmscan.detector import Detector, Rules
from cmscan.errors import UsageError
from cmscan.gitdiff import raw_entries
from cmscan.gitrepo import Repository
from cmscan.model import Finding, ScanResult, Skipped
from cmscan.walk import Excludes


@dataclass(frozen=True)
class StagedOptions:
    rules: Rules = field(default_factory=Rules)
    excludes: tuple[str, ...] = ()


def scan_staged(repo: Repository, options: StagedOptions) -> ScanResult:
    if repo.work_tree is None:
        raise UsageError(f"{repo.git_dir} is a bare repository: it has no index to scan")
    paths_of = _staged_blobs(repo, options.excludes)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    files = size = 0
    for item in scan_objects(repo, list(paths_of), Detector(options.rules)):
        if isinstance(item, Unreadable):
            skipped.extend(Skipped(path, item.reason) for path in paths_of[item.oid])
            continue
        blob = item.header.oid
        for path in paths_of[blob]:
            files += 1
            size += item.header.size
            findings.extend(Finding.of_hit(hit, path, "staged", blob=blob) for hit in item.hits)
    return ScanResult(
        findings=tuple(sorted(findings, key=lambda finding: finding.sort_key)),
        files=files,
        bytes=size,
        skipped=tuple(skipped),
    )


def _staged_blobs(repo: Repository, patterns: tuple[str, ...]) -> dict[str, list[str]]:
    """Each staged blob that differs from HEAD, with the paths it is staged at."""
    excludes = Excludes(patterns) if patterns else None
    command = [
        "diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--no-ext-diff",
        "--no-textconv", "--ignore-submodules=all",
    ]  # fmt: skip
    paths_of: dict[str, list[str]] = {}
    with repo.start(command) as process:
        for entry in raw_entries(process.stdout):
            if isinstance(entry, tuple):
                blob, path = entry
                if excludes is None or not excludes.excluded(path, False):
                    paths_of.setdefault(blob, []).append(path)
        code, message = process.finish()
    if code != 0:
        raise UsageError(f"cannot read the index: {message}")
    return paths_of
