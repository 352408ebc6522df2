"""``cmscan redact``: rewrite files with every key replaced by its masked form.

Each file is read twice and written at most once. The first pass finds the keys with the
scanner's detector, exactly as ``cmscan scan`` does (same grammar, same buffer overlap),
and writes nothing; a file without keys is never touched (same bytes, same mtime). The
second pass copies the file into a temporary file in the same directory, replacing each
key's span with the masked key, then the temporary file gets the original's owner, mode
and times, is flushed to disk, and is renamed over the original; the directory is flushed
too. On any error or interrupt the temporary file is removed and the original stays as it
was. The temporary file only ever holds redacted content, so even a killed process leaves
no full key in it.

Every byte outside the keys' spans is copied unchanged and in order. The masked form
(``cm-Q7fL…k2Zp``) is shorter than a key and holds ``…`` (UTF-8), so files change length.
A key written with escapes is replaced by the masked key escaped the same way
(``cm-Q7fL\\u2026k2Zp`` in JSON or JavaScript, ``cm-Q7fL%E2%80%A6k2Zp`` in a URL), so the
file stays valid in its syntax. A key on a line marked ``cmscan:ignore`` is not reported
by ``scan`` and is not masked either. A key written in base64 cannot be masked without
breaking the encoded text around it: a file holding one is refused.

gzip, bzip2 and xz files (recognised by content) are decompressed as streams, redacted and
compressed again in the same format: the decompressed content is byte-identical except the
keys; the compressed bytes differ. A gzip file keeps its first member's mtime, name and OS
fields (multi-member files become one member), a bzip2 file its block size, an xz file its
integrity check. A stream that is corrupt, cut short or followed by other bytes is refused:
rewriting it would lose data.

Refused (never rewritten, the reason is reported): archives (zip, tar, compressed tar),
binary content (a length change would corrupt it), UTF-16 text, files inside a git work
tree unless ``force`` (rewriting the file leaves the key in the history), files with more
than one hard link (the other names would keep the key), files whose owner cannot be kept,
and files that change while being redacted (still being written to). A file named on the
command line through a symbolic link is redacted at its target; the link stays a link.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, Protocol

from cmscan.compressed import DecompressingReader
from cmscan.detector import Detector, Rules, is_binary
from cmscan.errors import CmscanError
from cmscan.formats import SNIFF, archive_kind, compression_of, utf16_of
from cmscan.gitrepo import work_tree_of
from cmscan.keys import Key, scrub
from cmscan.model import Skipped
from cmscan.stream import DEFAULT_BUFFER, Readable, fill, fills, matches, new_buffer
from cmscan.walk import (
    LINK_OUT_OF_TREE,
    NOT_REGULAR,
    Excludes,
    FileTask,
    display_path,
    os_error_reason,
    walk,
)

Status = Literal["redacted", "planned", "clean", "refused", "failed", "ignored"]
"""What happened to a file: ``redacted`` (keys masked), ``planned`` (dry run: would be),
``clean`` (no keys, untouched), ``refused`` (holds keys, left as it was, see the reason),
``failed`` (could not be read), ``ignored`` (not a regular file, or a symbolic link inside
a directory pointing out of it: not followed, as ``scan`` does not follow it)."""

TEMP_PREFIX = ".cmscan-redact-"
TEMP_SUFFIX = ".tmp"
_HEADER = 4096
"""Bytes read to recognise a file and parse a gzip header (with its file name)."""
_IGNORED = frozenset({NOT_REGULAR, LINK_OUT_OF_TREE, "broken symbolic link", "symbolic link loop"})


@dataclass(frozen=True)
class Replacement:
    """One key in a file's content (decompressed content for a compressed file)."""

    offset: int
    length: int
    """Bytes the key takes as written (more than the key when escaped)."""
    line: int
    key: Key
    encoding: str | None = None

    @property
    def data(self) -> bytes:
        text = self.key.masked_as(self.encoding)
        assert text is not None, "only rewritable encodings are replaced"
        return text.encode("utf-8")


@dataclass(frozen=True)
class Outcome:
    """What redact did (or, in a dry run, would do) to one file."""

    path: str
    status: Status
    replacements: tuple[Replacement, ...] = ()
    reason: str | None = None
    keys: int = 0
    """Keys in the file: masked (``redacted``, ``planned``) or left in it (``refused``)."""


@dataclass(frozen=True)
class RedactOptions:
    dry_run: bool = False
    force: bool = False
    """Rewrite files inside a git work tree too."""
    excludes: tuple[str, ...] = ()
    rules: Rules = field(default_factory=Rules)
    buffer_size: int = DEFAULT_BUFFER


@dataclass(frozen=True)
class Tally:
    """Totals over a run, for the summary line and the exit code."""

    files: int = 0
    changed: int = 0
    masked: int = 0
    refused: int = 0
    left: int = 0
    failed: int = 0

    def add(self, outcome: Outcome) -> Tally:
        status = outcome.status
        return Tally(
            files=self.files + (status != "ignored"),
            changed=self.changed + (status in ("redacted", "planned")),
            masked=self.masked + (outcome.keys if status in ("redacted", "planned") else 0),
            refused=self.refused + (status == "refused"),
            left=self.left + (outcome.keys if status == "refused" else 0),
            failed=self.failed + (status == "failed"),
        )

    def keys_remain(self, dry_run: bool) -> bool:
        """Whether keys may still be in the files: the exit code is 1 then."""
        return bool(self.refused or self.failed or (dry_run and self.masked))

    def summary(self, dry_run: bool) -> str:
        keys, files = _count(self.masked, "key"), _count(self.changed, "file")
        parts = [f"{keys} in {files} would be masked" if dry_run else f"masked {keys} in {files}"]
        clean = self.files - self.changed - self.refused - self.failed
        if clean:
            parts.append(f"{_count(clean, 'file')} without keys")
        if self.refused:
            left = _count(self.left, "key")
            parts.append(f"{_count(self.refused, 'file')} not redacted ({left} left)")
        if self.failed:
            parts.append(f"{_count(self.failed, 'file')} could not be read")
        text = "; ".join(parts)
        return f"dry run: {text}; nothing was written" if dry_run else text


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def describe(outcome: Outcome, verbose: bool = False) -> list[str]:
    """The report lines for one file (masked keys only); none for a file without keys."""
    path, status = outcome.path, outcome.status
    if status == "planned" or (status == "redacted" and verbose):
        lines = [] if status == "planned" else [f"{path}: masked {_count(outcome.keys, 'key')}"]
        for item in outcome.replacements:
            how = f" ({item.encoding})" if item.encoding else ""
            lines.append(f"{path}:{item.line}: {item.key.masked}{how}")
        return lines
    if status == "redacted":
        return [f"{path}: masked {_count(outcome.keys, 'key')}"]
    if status == "refused":
        return [f"{path}: not redacted, {_count(outcome.keys, 'key')} left: {outcome.reason}"]
    if status == "failed":
        return [f"{path}: not redacted: {outcome.reason}"]
    return []


def redact_paths(paths: Sequence[str], options: RedactOptions) -> Iterator[Outcome]:
    """Redact every regular file the paths stand for (directories recursively, as ``scan``
    walks them), one outcome per file as it is done."""
    excludes = Excludes(options.excludes) if options.excludes else None
    redactor = Redactor(options)
    seen: set[tuple[int, int]] = set()
    for path in paths:
        for item in walk(path, excludes):
            if isinstance(item, Skipped):
                status: Status = "ignored" if item.reason in _IGNORED else "failed"
                shown = item.path
                if item.path != display_path(path):  # inside a directory argument
                    shown = display_path(os.path.join(path, item.path))
                yield Outcome(shown, status, reason=item.reason)
                continue
            if item.identity in seen:
                continue
            seen.add(item.identity)
            yield redactor.redact(item)


class _NotRedacted(CmscanError):
    """Why a file holding keys is left as it was (caught per file, never leaves here)."""


class Redactor:
    """Redacts files one at a time with one reused buffer; remembers git work trees."""

    def __init__(self, options: RedactOptions) -> None:
        self.options = options
        self._detector = Detector(options.rules)
        self._buffer = new_buffer(options.buffer_size)
        self._work_trees: dict[str, str | None] = {}

    def redact(self, task: FileTask) -> Outcome:
        shown = display_path(task.fs_path)
        target = os.path.realpath(task.fs_path)  # through a link named on the command line
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            return Outcome(shown, "failed", reason=os_error_reason(error))
        found: _Found | None = None
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                return Outcome(shown, "ignored", reason=NOT_REGULAR)
            head = os.pread(fd, _HEADER, 0)
            compression = compression_of(head)
            kind = archive_kind(head[:SNIFF])
            if kind is not None:
                return self._container(task, target, shown, f"{kind} archive: {_REPACK}")
            if compression is None and utf16_of(head[:SNIFF]) is not None:
                return self._container(task, target, shown, "UTF-16 text is not rewritten")
            found = self._find(fd, compression)
            if found.refusal is not None:
                return self._container(task, target, shown, found.refusal)
            replacements = found.replacements
            if not replacements:
                return Outcome(shown, "clean")
            self._check(target, before, replacements)
            if self.options.dry_run:
                return Outcome(shown, "planned", replacements, keys=len(replacements))
            _rewrite(fd, target, before, head, compression, replacements, found.size, self._buffer)
            return Outcome(shown, "redacted", replacements, keys=len(replacements))
        except _NotRedacted as refusal:
            if found is None:  # the first pass itself could not finish (corrupt stream)
                return Outcome(shown, "failed", reason=str(refusal))
            return Outcome(shown, "refused", reason=str(refusal), keys=len(found.replacements))
        except OSError as error:
            reason = "read or write error: " + os_error_reason(error)
            if found is None:
                return Outcome(shown, "failed", reason=reason)
            return Outcome(shown, "refused", reason=reason, keys=len(found.replacements))
        finally:
            os.close(fd)

    def _find(self, fd: int, compression: str | None) -> _Found:
        with open(fd, "rb", buffering=0, closefd=False) as raw:
            reader = _content(raw, compression)
            found = find_replacements(reader, self._detector, self._buffer)
            _intact(reader)
            return found

    def _container(self, task: FileTask, target: str, shown: str, reason: str) -> Outcome:
        """A file redact does not rewrite: only its keys (found as ``scan`` finds them)
        matter; without any, it is simply clean."""
        from cmscan.scanner import scan_file

        checked = FileTask(shown, target, task.size, task.identity)
        scanned = scan_file(checked, self._detector, self._buffer)
        if scanned.skipped is not None:
            return Outcome(shown, "failed", reason=scanned.skipped.reason)
        if not scanned.findings:
            return Outcome(shown, "clean")
        return Outcome(shown, "refused", reason=reason, keys=len(scanned.findings))

    def _check(self, target: str, before: os.stat_result, found: Sequence[Replacement]) -> None:
        """Raise :class:`_NotRedacted` if this file must not be rewritten."""
        unreadable = sorted(
            {str(item.encoding) for item in found if item.key.masked_as(item.encoding) is None}
        )
        if unreadable:
            raise _NotRedacted(f"holds keys written in {', '.join(unreadable)}: {_ENCODED}")
        if before.st_nlink > 1:
            raise _NotRedacted(
                f"it has {before.st_nlink} hard links: the other names would keep the key"
            )
        if not os.access(target, os.W_OK):
            raise _NotRedacted("you may not write to it")
        if not self.options.force:
            tree = self._work_tree(os.path.dirname(target))
            if tree is not None:
                raise _NotRedacted(
                    f"inside the git work tree {display_path(tree)}; if it was ever committed, "
                    "the history keeps the key whatever this file says (rotate the key; "
                    "cmscan history finds it); --force rewrites the file anyway"
                )

    def _work_tree(self, directory: str) -> str | None:
        """:func:`cmscan.gitrepo.work_tree_of`, remembered per directory."""
        if directory not in self._work_trees:
            self._work_trees[directory] = work_tree_of(directory)
        return self._work_trees[directory]


_REPACK = "archive members are not rewritten (repack it by hand, or delete it)"
_ENCODED = "masking them would break the encoded data"


@dataclass(frozen=True)
class _Found:
    replacements: tuple[Replacement, ...]
    size: int
    """Bytes of content (decompressed for a compressed file)."""
    refusal: str | None = None
    """Why the content is not rewritten (binary, a tar inside a compressed file)."""


def find_replacements(reader: Readable, detector: Detector, buffer: bytearray) -> _Found:
    """Every key in what ``reader`` yields, with its span and line: the fills and matches
    of :func:`cmscan.stream.scan_stream`, so it finds exactly the keys ``scan`` reports.
    Binary content stops at the first fill."""
    found: list[Replacement] = []
    newlines = 0  # newlines in the content before buffer[counted]
    counted = 0
    size = 0
    for index, at in enumerate(fills(reader, buffer)):
        if index == 0 and is_binary(buffer, at.end):
            inner = archive_kind(bytes(buffer[:SNIFF]))
            return _Found((), at.end, f"{inner} archive: {_REPACK}" if inner else _BINARY)
        for match in matches(detector, buffer, at, binary=False):
            if found and at.base + match.offset < found[-1].offset + found[-1].length:
                continue  # inside the previous key's span: masked with it
            newlines += buffer.count(b"\n", counted, match.offset)
            counted = match.offset
            key = Key(match.key)
            found.append(
                Replacement(at.base + match.offset, match.length, newlines + 1, key, match.encoding)
            )
        if at.keep is not None:
            if counted < at.keep:
                newlines += buffer.count(b"\n", counted, at.keep)
                counted = at.keep
            counted -= at.keep
        size = at.read
    return _Found(tuple(found), size)


_BINARY = "binary content: a masked key has another length and would corrupt it"


# --- the rewrite ----------------------------------------------------------------------


def _rewrite(
    fd: int,
    target: str,
    before: os.stat_result,
    head: bytes,
    compression: str | None,
    replacements: Sequence[Replacement],
    size: int,
    buffer: bytearray,
) -> None:
    """Write the redacted copy next to ``target`` and rename it over ``target``."""
    import tempfile

    directory = os.path.dirname(target)
    out_fd, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
    try:
        try:
            _keep_owner(out_fd, before)
            with open(out_fd, "wb", buffering=1 << 20, closefd=False) as out:
                sink = _sink(out, compression, head)
                os.lseek(fd, 0, os.SEEK_SET)
                with open(fd, "rb", buffering=0, closefd=False) as raw:
                    reader = _content(raw, compression)
                    _splice(reader, sink, replacements, buffer, size)
                    _intact(reader)
                sink.finish()
            os.fchmod(out_fd, stat.S_IMODE(before.st_mode))
            os.utime(out_fd, ns=(before.st_atime_ns, before.st_mtime_ns))
            os.fsync(out_fd)
        finally:
            os.close(out_fd)
        _unchanged(fd, target, before)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _keep_owner(out_fd: int, before: os.stat_result) -> None:
    mine = os.fstat(out_fd)
    if (mine.st_uid, mine.st_gid) == (before.st_uid, before.st_gid):
        return
    try:
        os.fchown(out_fd, before.st_uid, before.st_gid)
    except PermissionError:
        raise _NotRedacted(
            f"its owner (uid {before.st_uid}, gid {before.st_gid}) could not be kept: "
            "run as that user or as root"
        ) from None


def _unchanged(fd: int, target: str, before: os.stat_result) -> None:
    """Raise unless ``target`` still names the file read, unmodified since the first pass."""
    now = os.fstat(fd)
    try:
        named = os.stat(target)
    except FileNotFoundError:
        named = None
    same = (before.st_size, before.st_mtime_ns, before.st_ctime_ns) == (
        now.st_size,
        now.st_mtime_ns,
        now.st_ctime_ns,
    )
    if not same or named is None or (named.st_dev, named.st_ino) != (now.st_dev, now.st_ino):
        raise _NotRedacted(_CHANGED)


_CHANGED = "it changed while being redacted (is it still being written to?)"


def _fsync_directory(directory: str) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # pragma: no cover - a directory we just renamed in is readable
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(dir_fd)


def _splice(
    reader: Readable,
    sink: _Sink,
    replacements: Sequence[Replacement],
    buffer: bytearray,
    size: int,
) -> None:
    """Copy ``reader`` to ``sink``, each replacement's span written as its masked key."""
    view = memoryview(buffer)
    try:
        position = 0  # content offset of view[0]
        index = 0
        skip = 0  # bytes of a key still to drop at the start of the next fill
        while got := fill(reader, view, 0):
            cursor = min(skip, got)
            skip -= cursor
            while index < len(replacements) and replacements[index].offset < position + got:
                item = replacements[index]
                at = item.offset - position
                if at < cursor:
                    raise _NotRedacted(_CHANGED)
                sink.write(view[cursor:at])
                sink.write(item.data)
                end = at + item.length
                cursor = min(end, got)
                skip = end - cursor
                index += 1
            sink.write(view[cursor:got])
            position += got
        if index < len(replacements) or skip or position != size:
            raise _NotRedacted(_CHANGED)
    finally:
        view.release()


# --- compressed streams -------------------------------------------------------------------


def _content(raw: BinaryIO, compression: str | None) -> Readable:
    """The file's content: as it is, or decompressed (every member, one after the other)."""
    return raw if compression is None else DecompressingReader(raw, compression)


def _intact(reader: Readable) -> None:
    """Raise unless the whole of a compressed file was read: a rewrite would lose the rest."""
    problem = getattr(reader, "problem", None)
    if problem is not None:
        raise _NotRedacted(f"{problem}: a rewrite would lose data")


class _Sink(Protocol):
    def write(self, data: bytes | memoryview, /) -> Any: ...

    def finish(self) -> None: ...


class _Plain:
    def __init__(self, out: BinaryIO) -> None:
        self.write = out.write

    def finish(self) -> None:
        pass


class _Compressing:
    """Compressed output: ``compressor`` is a zlib, bz2 or lzma compressor object."""

    def __init__(self, out: BinaryIO, compressor: Any, trailer: Any = None) -> None:
        self._out = out
        self._compressor = compressor
        self._trailer = trailer

    def write(self, data: bytes | memoryview) -> None:
        if self._trailer is not None:
            self._trailer.update(data)
        self._out.write(self._compressor.compress(data))

    def finish(self) -> None:
        self._out.write(self._compressor.flush())
        if self._trailer is not None:
            self._out.write(self._trailer.bytes())


class _GzipTrailer:
    def __init__(self) -> None:
        self._crc = 0
        self._size = 0

    def update(self, data: bytes | memoryview) -> None:
        import zlib

        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)

    def bytes(self) -> bytes:
        return self._crc.to_bytes(4, "little") + (self._size & 0xFFFFFFFF).to_bytes(4, "little")


def _sink(out: BinaryIO, compression: str | None, head: bytes) -> _Sink:
    if compression is None:
        return _Plain(out)
    if compression == "gzip":
        import zlib

        header, level = gzip_header(head)
        out.write(header)
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 9)
        return _Compressing(out, compressor, _GzipTrailer())
    if compression == "bzip2":
        import bz2

        digit = head[3:4]
        level = int(digit) if digit.isdigit() and digit != b"0" else 9
        return _Compressing(out, bz2.BZ2Compressor(level))
    import lzma

    check = head[7] & 0x0F if len(head) > 7 else lzma.CHECK_CRC64
    if check not in (lzma.CHECK_NONE, lzma.CHECK_CRC32, lzma.CHECK_CRC64, lzma.CHECK_SHA256):
        check = lzma.CHECK_CRC64
    return _Compressing(out, lzma.LZMACompressor(lzma.FORMAT_XZ, check=check))


_FEXTRA, _FNAME = 0x04, 0x08


def gzip_header(head: bytes) -> tuple[bytes, int]:
    """A gzip member header keeping the original first member's mtime, extra flags, OS and
    file name (unless the name holds something key-shaped); and the compression level its
    extra flags suggest (2: best, 4: fastest, else gzip's default 6)."""
    mtime, xfl, os_byte = head[4:8], head[8], head[9]
    name = b""
    flags = head[3]
    position = 10
    if flags & _FEXTRA and len(head) >= 12:
        position += 2 + int.from_bytes(head[10:12], "little")
    if flags & _FNAME:
        end = head.find(b"\0", position)
        if end != -1:
            name = head[position:end]
            text = name.decode("latin-1")
            if scrub(text) != text:
                name = b""
    level = {2: 9, 4: 1}.get(xfl, 6)
    header = b"\x1f\x8b\x08" + bytes([_FNAME if name else 0]) + mtime + bytes([xfl, os_byte])
    return header + (name + b"\0" if name else b""), level
