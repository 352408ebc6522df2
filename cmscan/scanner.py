"""``cmscan scan``: files, directories and stdin in, findings and totals out.

Files are enumerated first (:mod:`cmscan.walk`), then scanned one by one with a single
reused buffer (:mod:`cmscan.stream`). When there is enough work to pay for it, batches of
files go to one worker process per CPU; each worker has its own buffer, so memory stays
flat however large the tree or its files are.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from cmscan.detector import Detector, Rules
from cmscan.formats import (
    SNIFF,
    ArchiveLimits,
    Peeked,
    archive_kind,
    compression_of,
    utf16_of,
)
from cmscan.model import STDIN_PATH, Finding, ScanResult, Skipped, Source
from cmscan.parallel import available_cpus, batches, map_in_processes
from cmscan.stream import DEFAULT_BUFFER, StreamScan, new_buffer, scan_stream
from cmscan.walk import NOT_REGULAR, Excludes, FileTask, os_error_reason, walk

DEFAULT_LIMITS = ArchiveLimits()
PARALLEL_MIN_BYTES = 48 << 20
"""Below this much data, starting worker processes costs more than it saves."""
_BATCHES_PER_WORKER = 8
_MAX_BATCH_FILES = 512


class Progress(Protocol):
    def advance(self, files: int, size: int) -> None:
        """``files`` more files are done and ``size`` more bytes were read."""


@dataclass(frozen=True)
class ScanOptions:
    rules: Rules = field(default_factory=Rules)
    excludes: tuple[str, ...] = ()
    buffer_size: int = DEFAULT_BUFFER
    workers: int = 0
    """Worker processes; 0 means one per available CPU, 1 means scan in this process."""
    parallel_min_bytes: int = PARALLEL_MIN_BYTES
    limits: ArchiveLimits = DEFAULT_LIMITS
    """Caps on archives: nesting depth, bytes decompressed, expansion ratio."""


@dataclass(frozen=True)
class _Outcome:
    """What scanning one file gave: its findings, or why it was skipped."""

    findings: tuple[Finding, ...] = ()
    size: int = 0
    skipped: Skipped | None = None
    notes: tuple[Skipped, ...] = ()
    """Problems inside a file that was scanned (a cut-short gzip, an archive member)."""


def scan_paths(
    paths: Sequence[str],
    options: ScanOptions,
    stdin: BinaryIO | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan files, directories and (for ``-``) ``stdin``; unreadable items become skipped."""
    excludes = Excludes(options.excludes) if options.excludes else None
    tasks: dict[tuple[int, int], FileTask] = {}
    skipped: list[Skipped] = []
    outcomes: list[_Outcome] = []
    for path in paths:
        if path == STDIN_PATH:
            continue
        for item in walk(path, excludes):
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                tasks.setdefault(item.identity, item)
    if STDIN_PATH in paths and stdin is not None:
        outcomes.append(_scan_stdin(stdin, options, progress))
    outcomes.extend(_scan_tasks(list(tasks.values()), options, progress))
    return _combine(outcomes, skipped)


def _combine(outcomes: Iterable[_Outcome], skipped: list[Skipped]) -> ScanResult:
    findings: list[Finding] = []
    files = size = 0
    for outcome in outcomes:
        if outcome.skipped is not None:
            skipped.append(outcome.skipped)
            continue
        files += 1
        size += outcome.size
        findings.extend(outcome.findings)
        skipped.extend(outcome.notes)
    return ScanResult(
        findings=tuple(sorted(findings, key=lambda finding: finding.sort_key)),
        files=files,
        bytes=size,
        skipped=tuple(sorted(set(skipped), key=lambda item: (item.path, item.reason))),
    )


def _scan_stdin(stdin: BinaryIO, options: ScanOptions, progress: Progress | None) -> _Outcome:
    on_read = (lambda count: progress.advance(0, count)) if progress is not None else None
    scan = scan_stream(
        stdin, Detector(options.rules), new_buffer(options.buffer_size), None, on_read
    )
    if progress is not None:
        progress.advance(1, 0)
    return _outcome(scan, STDIN_PATH, "stdin")


def _scan_tasks(
    tasks: list[FileTask], options: ScanOptions, progress: Progress | None
) -> Iterable[_Outcome]:
    workers = options.workers or available_cpus()
    total = sum(task.size for task in tasks)
    if workers > 1 and len(tasks) > 1 and total >= options.parallel_min_bytes:
        return _scan_parallel(tasks, options, workers, total, progress)
    return _scan_batch(tasks, options, progress)


def _scan_batch(
    tasks: Sequence[FileTask], options: ScanOptions, progress: Progress | None = None
) -> list[_Outcome]:
    detector = Detector(options.rules)
    buffer = new_buffer(options.buffer_size)
    on_read = (lambda count: progress.advance(0, count)) if progress is not None else None
    outcomes = []
    for task in tasks:
        outcomes.append(scan_file(task, detector, buffer, on_read, options.limits))
        if progress is not None:
            progress.advance(1, 0)
    return outcomes


def _scan_parallel(
    tasks: list[FileTask],
    options: ScanOptions,
    workers: int,
    total: int,
    progress: Progress | None,
) -> list[_Outcome]:
    runs = batches(
        tasks,
        [task.size for task in tasks],
        max(total // (workers * _BATCHES_PER_WORKER), 1),
        _MAX_BATCH_FILES,
    )

    def done(run: list[FileTask], outcomes: list[_Outcome]) -> None:
        if progress is not None:
            progress.advance(len(run), sum(outcome.size for outcome in outcomes))

    scan = functools.partial(_scan_batch, options=options)
    parts = map_in_processes(scan, runs, workers, done)
    return [outcome for part in parts for outcome in part]


def scan_file(
    task: FileTask,
    detector: Detector,
    buffer: bytearray,
    on_read: Callable[[int], None] | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> _Outcome:
    """Scan one file; any OS error makes it skipped with a reason, never raised.

    The first bytes decide how: a zip or tar is walked member by member, a gzip, bzip2
    or xz stream is decompressed on the fly (and walked if it holds a tar), anything
    else is scanned as it is.
    """
    try:
        fd = os.open(task.fs_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        return _Outcome(skipped=Skipped(task.path, os_error_reason(error)))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return _Outcome(skipped=Skipped(task.path, NOT_REGULAR))
        head = os.pread(fd, SNIFF, 0)
        kind = archive_kind(head)
        compression = compression_of(head)
        if kind is not None:
            with open(fd, "rb", closefd=False) as seekable:
                return _archive(seekable, kind, task.path, detector, buffer, limits)
        with open(fd, "rb", buffering=0, closefd=False) as reader:
            encoding = utf16_of(head) if compression is None else None
            if encoding is not None:
                from cmscan.transcode import TranscodingReader

                text = TranscodingReader(reader, encoding)
                scan = scan_stream(text, detector, buffer, None, on_read)
                outcome = _outcome(scan, task.path, "file", encoding)
                if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                    return outcome
                # Recognised only by its NULs: 16-bit numbers (a table of small integers)
                # look the same, and a plain key among them would be lost in decoding.
                os.lseek(fd, 0, os.SEEK_SET)
                raw = scan_stream(reader, detector, buffer)
                return dataclasses.replace(
                    outcome, findings=outcome.findings + _outcome(raw, task.path, "file").findings
                )
            if compression is None:
                if info.st_blocks * 512 < info.st_size - _SPARSE_SLACK:  # holes: jump them
                    scan = scan_stream(
                        _SparseReader(fd, info.st_size), detector, buffer, None, on_read
                    )
                else:
                    scan = scan_stream(
                        reader, detector, buffer, lambda at, size: os.pread(fd, size, at), on_read
                    )
                outcome = _outcome(scan, task.path, "file")
                if scan.hits and not scan.binary and task.path.endswith(".map"):
                    outcome = _with_sources(outcome, task, detector, buffer)
                return outcome
            from cmscan.compressed import DecompressingReader

            decompressed = DecompressingReader(reader, compression)
            peeked = Peeked(decompressed)
            if archive_kind(peeked.head) == "tar":
                outcome = _archive(peeked, "tar", task.path, detector, buffer, limits)
            else:
                from cmscan.transcode import as_text

                text, encoding = as_text(peeked)
                scan = scan_stream(text, detector, buffer, None, on_read)
                outcome = _outcome(scan, task.path, "file", encoding)
            if decompressed.note:
                outcome = dataclasses.replace(
                    outcome, notes=(*outcome.notes, Skipped(task.path, decompressed.note))
                )
            return outcome
    except OSError as error:
        return _Outcome(skipped=Skipped(task.path, "read error: " + os_error_reason(error)))
    finally:
        os.close(fd)


_SPARSE_SLACK = 16 << 20
"""A file this much larger than its allocated blocks is read hole-aware."""


class _SparseReader:
    """A sparse file's bytes, telling the scanner where its holes are (``SEEK_DATA``) so
    that gigabytes of unwritten zeros are jumped over rather than read."""

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self._size = size
        self._at = 0

    def readinto(self, target: memoryview, /) -> int:
        got = os.preadv(self._fd, [target], self._at)
        self._at += got
        return got

    def hole(self) -> int:
        try:
            data = os.lseek(self._fd, self._at, os.SEEK_DATA)
        except OSError as error:  # ENXIO: only a hole is left; EINVAL: no hole support
            data = self._size if error.errno == errno.ENXIO else self._at
        return max(data - self._at, 0)

    def skip(self, count: int) -> None:
        self._at += count


def _with_sources(
    outcome: _Outcome, task: FileTask, detector: Detector, buffer: bytearray
) -> _Outcome:
    """A source map that holds a key: report it at the original sources too."""
    from cmscan.sourcemaps import original_findings

    extra, problem = original_findings(task.fs_path, task.path, detector, buffer)
    notes = (*outcome.notes, problem) if problem is not None else outcome.notes
    return dataclasses.replace(outcome, findings=outcome.findings + tuple(extra), notes=notes)


def _archive(
    source: BinaryIO | Peeked,
    kind: str,
    path: str,
    detector: Detector,
    buffer: bytearray,
    limits: ArchiveLimits,
) -> _Outcome:
    from cmscan.archives import ArchiveScanner

    walker = ArchiveScanner(detector, buffer, limits)
    findings: list[Finding] = []
    notes: list[Skipped] = []
    for item in walker.scan(source, kind, path):
        if isinstance(item, Skipped):
            notes.append(item)
        else:
            findings.append(item)
    return _Outcome(tuple(findings), walker.bytes, notes=tuple(notes))


def _outcome(scan: StreamScan, path: str, source: Source, encoding: str | None = None) -> _Outcome:
    findings = tuple(
        Finding.of_hit(hit, path, source, encoding=hit.encoding or encoding) for hit in scan.hits
    )
    return _Outcome(findings, scan.size)
