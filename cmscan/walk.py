"""Which files a path argument stands for, in a stable order, without following links out.

Files found under a directory are reported by their path relative to it (SPEC: "path is
relative to the scanned root"); a file named on the command line keeps the path given.

A directory is walked recursively in name order. ``.git`` is skipped (``cmscan history``
reads repositories). A symbolic link inside the walk is not followed: a link to a place
inside the scanned tree would only scan the same bytes twice (and could loop), a link to
outside is reported as skipped. A path given on the command line is followed, like
``find -H``. FIFOs, sockets and devices are never opened.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cmscan.model import Skipped

_SKIPPED_DIRS = frozenset({".git"})
NOT_REGULAR = "not a regular file (FIFO, socket or device)"
LINK_OUT_OF_TREE = "symbolic link to outside the scanned tree (not followed)"


@dataclass(frozen=True)
class FileTask:
    """A regular file to scan: ``path`` as reported, ``fs_path`` as opened."""

    path: str
    fs_path: str
    size: int
    identity: tuple[int, int]
    """Device and inode: the same file reached from two arguments is scanned once."""


class Excludes:
    """Gitignore-style patterns, matched against paths relative to the scanned root."""

    def __init__(self, patterns: Sequence[str]) -> None:
        import pathspec  # only scans with excludes pay for the import

        self._spec = pathspec.GitIgnoreSpec.from_lines(patterns)

    def excluded(self, relative: str, is_dir: bool) -> bool:
        return self._spec.match_file(relative + "/" if is_dir else relative)


def os_error_reason(error: OSError) -> str:
    """A short, stable reason for an unreadable path (no key can be in an OS message)."""
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno == errno.ENOENT:
        return "vanished during the scan"
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    return error.strerror or type(error).__name__


def display_path(fs_path: str) -> str:
    """The reported form of a path: normalised, ``/``-separated, undecodable bytes escaped."""
    path = os.path.normpath(fs_path).replace(os.sep, "/")
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def walk(root: str, excludes: Excludes | None = None) -> Iterator[FileTask | Skipped]:
    """Every regular file under ``root`` (or ``root`` itself), and what was skipped."""
    try:
        info = os.stat(root)
    except OSError as error:
        yield Skipped(display_path(root), os_error_reason(error))
        return
    if stat.S_ISDIR(info.st_mode):
        yield from _walk_directory(root, excludes)
    elif stat.S_ISREG(info.st_mode):
        if excludes is None or not excludes.excluded(display_path(root), False):
            yield FileTask(display_path(root), root, info.st_size, (info.st_dev, info.st_ino))
    else:
        yield Skipped(display_path(root), NOT_REGULAR)


def _walk_directory(root: str, excludes: Excludes | None) -> Iterator[FileTask | Skipped]:
    real_root = os.path.realpath(root)
    pending = [""]
    while pending:
        relative_dir = pending.pop()
        directory = os.path.join(root, relative_dir) if relative_dir else root
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            shown = display_path(relative_dir) + "/" if relative_dir else display_path(root)
            yield Skipped(shown, os_error_reason(error))
            continue
        subdirectories = []
        for entry in entries:
            if entry.name in _SKIPPED_DIRS:
                continue
            relative = f"{relative_dir}/{entry.name}" if relative_dir else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if excludes is None or not excludes.excluded(relative, True):
                        subdirectories.append(relative)
                    continue
                if excludes is not None and excludes.excluded(relative, False):
                    continue
                shown = display_path(relative)
                if entry.is_symlink():
                    skipped = _symlink(entry.path, shown, real_root)
                    if skipped is not None:
                        yield skipped
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    yield FileTask(shown, entry.path, info.st_size, (info.st_dev, info.st_ino))
                else:
                    yield Skipped(shown, NOT_REGULAR)
            except OSError as error:
                yield Skipped(display_path(relative), os_error_reason(error))
        pending.extend(reversed(subdirectories))


def _symlink(path: str, shown: str, real_root: str) -> Skipped | None:
    """None for a link into the scanned tree (its target is scanned where it lies)."""
    try:
        os.stat(path)
    except OSError as error:
        reason = "symbolic link loop" if error.errno == errno.ELOOP else "broken symbolic link"
        return Skipped(shown, reason)
    target = os.path.realpath(path)
    if target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    return Skipped(shown, LINK_OUT_OF_TREE)
