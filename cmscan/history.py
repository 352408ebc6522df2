"""``cmscan history``: every key in every blob and message a repository holds, attributed.

Whole history, in two phases:

1. **Scan.** ``cat-file --batch-all-objects --batch-check`` lists every object the
   repository has (all refs, stashes, notes, reflogs, unreachable objects alike), in pack
   order. Every blob, commit and tag (trees hold only names) is streamed through
   ``cat-file --batch`` (one per worker process, each taking runs of consecutive objects)
   and scanned once, however many commits share it.
2. **Attribute**, only if some blob holds a key: one ``diff-tree --stdin -r -m --root``
   pass over every commit found in phase 1, limited to those blobs with
   ``--find-object``, says which commit brought each blob in at which path
   (:mod:`cmscan.gitdiff`); the earliest one is reported.

A range (``--since REV`` means ``REV..HEAD``) turns this around: the range's commits are
diffed first, and only the blobs they introduced and their messages are scanned.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cmscan.catfile import ObjectScan, Unreadable, scan_objects
from cmscan.detector import Detector, Rules
from cmscan.errors import UsageError
from cmscan.gitdiff import Introduction, introductions
from cmscan.gitmeta import ObjectInfo, read_info
from cmscan.gitrepo import Repository, read_records
from cmscan.model import Finding, ScanResult, Skipped
from cmscan.parallel import available_cpus, batches, map_in_processes
from cmscan.scanner import PARALLEL_MIN_BYTES, Progress
from cmscan.stream import Hit
from cmscan.walk import Excludes

_SCANNED_TYPES = frozenset({b"blob", b"commit", b"tag"})
_RANGE_OPTION = re.compile(r"--not|--remotes=[^-].*")


@dataclass(frozen=True)
class HistoryOptions:
    rules: Rules = field(default_factory=Rules)
    revisions: str | tuple[str, ...] | None = None
    """A ``git rev-list`` range such as ``A..B``, or several rev-list arguments such as
    ``(tip, "--not", "--remotes=origin")`` (what a push sends); ``None`` scans everything
    there is."""
    excludes: tuple[str, ...] = ()
    workers: int = 0
    """Worker processes for the object scan; 0 means one per available CPU."""
    parallel_min_bytes: int = PARALLEL_MIN_BYTES


_RUNS_PER_WORKER = 2


@dataclass
class _Collected:
    """What the object scan found (mutable while the scan runs, then read once)."""

    blob_hits: dict[str, tuple[Hit, ...]] = field(default_factory=dict)
    message_hits: list[ObjectScan] = field(default_factory=list)
    merges: dict[str, int] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    blobs: int = 0
    messages: int = 0
    bytes: int = 0


def scan_history(
    repo: Repository, options: HistoryOptions, progress: Progress | None = None
) -> ScanResult:
    skipped: list[Skipped] = []
    if repo.shallow:
        skipped.append(
            Skipped(
                "(shallow clone)",
                "history before the shallow boundary is not in this clone and was not scanned",
            )
        )
    if options.revisions is None:
        oids, sizes, unreadable = _all_objects(repo)
        skipped.extend(unreadable)
        found = _scan_all(repo, oids, sizes, options, progress)
        commits: Sequence[str] = found.commits
        merges = _with_shallow_roots(repo, found.merges)
        intros: list[Introduction] = []
        if found.blob_hits:
            intros, error = introductions(repo, commits, merges, found.blob_hits)
            if error:
                skipped.append(Skipped("(attribution)", error))
    else:
        commits, merges = _range_commits(repo, options.revisions)
        merges = _with_shallow_roots(repo, merges)
        intros, error = introductions(repo, commits, merges)
        if error:
            skipped.append(Skipped("(attribution)", error))
        blobs = list(dict.fromkeys(intro.blob for intro in intros))
        found = _scan(repo, blobs + list(commits), options.rules, progress)
        wanted = set(found.blob_hits)
        intros = [intro for intro in intros if intro.blob in wanted]
    skipped.extend(found.skipped)
    findings = _findings(repo, found, intros, unattributed=options.revisions is None)
    if options.excludes:
        excludes = Excludes(options.excludes)
        findings = [f for f in findings if f.path is None or not excludes.excluded(f.path, False)]
    return ScanResult(
        findings=tuple(sorted(findings, key=lambda finding: finding.sort_key)),
        files=found.blobs,
        bytes=found.bytes,
        skipped=tuple(sorted(set(skipped), key=lambda item: (item.path, item.reason))),
        messages=found.messages,
        unit="blob",
    )


def _all_objects(repo: Repository) -> tuple[list[str], list[int], list[Skipped]]:
    """Blobs, commits and tags in pack order (fastest to read), their sizes, and what
    cannot be read."""
    command = [
        "cat-file",
        "--batch-all-objects",
        "--unordered",
        "--batch-check=%(objecttype) %(objectname) %(objectsize)",
    ]
    oids: list[str] = []
    sizes: list[int] = []
    unreadable: list[Skipped] = []
    with repo.start(command) as process:
        for line in read_records(process.stdout, b"\n"):
            fields = line.split(b" ")
            if len(fields) == 3 and fields[0] in _SCANNED_TYPES:
                oids.append(fields[1].decode("ascii"))
                sizes.append(int(fields[2]))
            elif fields[-1] == b"missing":  # listed, but its header cannot be read: corrupt
                oid = fields[0].decode("ascii", "replace")
                unreadable.append(Skipped(f"(object {oid})", "unreadable object"))
        code, message = process.finish()
    if code:
        unreadable.append(Skipped("(object list)", f"listing objects failed: {message}"))
    return oids, sizes, unreadable


def _range_commits(
    repo: Repository, revisions: str | tuple[str, ...]
) -> tuple[list[str], dict[str, int]]:
    """The commits of a ``rev-list`` range, and the parent counts of its merges.

    A range given as one string is one argument and never an option; of several
    arguments, only ``--not`` and ``--remotes=PATTERN`` may be options (a range must never
    turn into other git options). No arguments mean no commits."""
    arguments = (revisions,) if isinstance(revisions, str) else revisions
    for argument in arguments:
        allowed = not isinstance(revisions, str) and _RANGE_OPTION.fullmatch(argument)
        if argument.startswith("-") and not allowed:
            raise UsageError(f"not a revision range: {argument}")
    if not arguments:
        return [], {}
    with repo.start(["rev-list", "--parents", *arguments, "--"]) as process:
        lines = list(read_records(process.stdout, b"\n"))
        code, message = process.finish()
    if code != 0:
        raise UsageError(f"bad revision range {' '.join(arguments)!r}: {message}")
    commits: list[str] = []
    merges: dict[str, int] = {}
    for line in lines:
        fields = line.decode("ascii").split()
        if fields:
            commits.append(fields[0])
            if len(fields) > 2:
                merges[fields[0]] = len(fields) - 1
    return commits, merges


def _with_shallow_roots(repo: Repository, merges: dict[str, int]) -> dict[str, int]:
    """Shallow boundary commits are roots to git: they diff against nothing, once."""
    if not repo.shallow:
        return merges
    boundary = repo.shallow_commits()
    return {oid: count for oid, count in merges.items() if oid not in boundary}


def _scan_all(
    repo: Repository,
    oids: list[str],
    sizes: list[int],
    options: HistoryOptions,
    progress: Progress | None,
) -> _Collected:
    """Scan every listed object; with enough data, in runs of consecutive objects spread
    over one worker process (each with its own ``cat-file``) per CPU."""
    total = sum(sizes)
    workers = options.workers or available_cpus()
    if workers <= 1 or total < options.parallel_min_bytes:
        return _scan(repo, oids, options.rules, progress)
    runs = batches(oids, sizes, max(total // (workers * _RUNS_PER_WORKER), 1))

    def done(run: list[str], part: _Collected) -> None:
        if progress is not None:
            progress.advance(part.blobs + part.messages + len(part.skipped), part.bytes)

    scan = functools.partial(_scan, repo, rules=options.rules, progress=None)
    return _merge(map_in_processes(scan, runs, workers, done))


def _merge(parts: list[_Collected]) -> _Collected:
    merged = _Collected()
    for part in parts:
        merged.blob_hits.update(part.blob_hits)
        merged.message_hits.extend(part.message_hits)
        merged.merges.update(part.merges)
        merged.commits.extend(part.commits)
        merged.skipped.extend(part.skipped)
        merged.blobs += part.blobs
        merged.messages += part.messages
        merged.bytes += part.bytes
    return merged


def _scan(
    repo: Repository, oids: Sequence[str], rules: Rules, progress: Progress | None
) -> _Collected:
    found = _Collected()
    for item in scan_objects(repo, oids, Detector(rules)):
        if isinstance(item, Unreadable):
            found.skipped.append(Skipped(f"(object {item.oid})", item.reason))
            if progress is not None:
                progress.advance(1, 0)
            continue
        header = item.header
        found.bytes += header.size
        if progress is not None:
            progress.advance(1, header.size)
        if header.type == "blob":
            found.blobs += 1
            if item.hits:
                found.blob_hits[header.oid] = item.hits
            continue
        found.messages += 1
        if header.type == "commit":
            found.commits.append(header.oid)
            if item.parents > 1:
                found.merges[header.oid] = item.parents
        if item.hits:
            found.message_hits.append(item)
    return found


def _findings(
    repo: Repository, found: _Collected, intros: Iterable[Introduction], unattributed: bool
) -> list[Finding]:
    by_place: dict[tuple[str, str], list[str]] = {}
    for intro in intros:
        by_place.setdefault((intro.blob, intro.path), []).append(intro.commit)
    described = {scan.header.oid for scan in found.message_hits}
    info = read_info(repo, described | {c for commits in by_place.values() for c in commits})
    findings: list[Finding] = []
    attributed: set[str] = set()
    for (blob, path), commits in by_place.items():
        commit = _earliest(commits, info)
        meta = info.get(commit)
        attributed.add(blob)
        for hit in found.blob_hits[blob]:
            findings.append(
                Finding.of_hit(
                    hit,
                    path,
                    "git",
                    commit=commit,
                    author=meta.author if meta else None,
                    date=meta.date if meta else None,
                    blob=blob,
                )
            )
    if unattributed:
        for blob, hits in found.blob_hits.items():
            if blob not in attributed:  # a blob no commit holds (dangling, or lost history)
                findings.extend(Finding.of_hit(hit, None, "git", blob=blob) for hit in hits)
    for scan in found.message_hits:
        findings.extend(_message_findings(scan, info.get(scan.header.oid)))
    return findings


def _earliest(commits: list[str], info: Mapping[str, ObjectInfo]) -> str:
    unknown = 1 << 62
    return min(commits, key=lambda oid: (info[oid].time if oid in info else unknown, oid))


def _message_findings(scan: ObjectScan, meta: ObjectInfo | None) -> list[Finding]:
    """Keys in a commit or tag message: lines and offsets count from the message's start."""
    header = scan.header
    is_tag = header.type == "tag"
    commit = (meta.target if meta else None) if is_tag else header.oid
    findings = []
    start = scan.message_start
    for hit in scan.hits:
        in_message = start is not None and hit.offset >= start
        line = hit.line - scan.message_newlines if in_message and hit.line else None
        column = hit.column if line is not None else None
        offset = hit.offset - start if in_message and start is not None else hit.offset
        findings.append(
            Finding.of_hit(
                hit,
                None,
                "git",
                line=line,
                column=column,
                offset=offset,
                commit=commit,
                author=meta.author if meta else None,
                date=meta.date if meta else None,
                tag=meta.tag if meta and is_tag else None,
            )
        )
    return findings
