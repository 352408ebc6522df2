"""A git repository as cmscan sees it: where it is, and how to run git plumbing in it.

Discovery and every bulk stream go through the ``git`` executable directly (``rev-parse``,
``cat-file``, ``diff-tree``): one process per stream, no per-object round trips, and no
GitPython import on the pre-commit path, which must start fast. GitPython is used only to
read the metadata of the few commits that hold a key (:mod:`cmscan.gitmeta`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from cmscan.errors import ScanError, UsageError

_STDERR_KEPT = 4096
_GIT = "git"  # found on PATH by exec; a missing git is reported by open_repository


def work_tree_of(path: str) -> str | None:
    """The top of the git work tree holding ``path``: the nearest directory, from ``path``
    up, with a ``.git`` directory or file in it. No git process: the config lookup and
    ``redact`` ask this for every run and every directory."""
    directory = os.path.realpath(path)
    while True:
        if os.path.lexists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


class GitError(ScanError):
    """A git command failed in a way that stops the scan."""


@dataclass(frozen=True)
class Repository:
    git_dir: str
    work_tree: str | None
    """``None`` for a bare repository."""
    shallow: bool

    def start(self, args: Sequence[str], lines: Iterable[bytes] | None = None) -> Process:
        """A git plumbing process in this repository, fed ``lines`` on stdin if given."""
        command = [_GIT, "--git-dir", self.git_dir, *args]
        return Process(command, lines, self.work_tree or self.git_dir)

    def shallow_commits(self) -> frozenset[str]:
        """Commits whose parents this clone does not have (git treats them as roots)."""
        try:
            with open(os.path.join(self.git_dir, "shallow"), encoding="ascii") as file:
                return frozenset(line.strip() for line in file if line.strip())
        except OSError:
            return frozenset()


def open_repository(path: str) -> Repository:
    """The repository at or above ``path``; :class:`UsageError` when there is none."""
    if not os.path.isdir(path):
        raise UsageError(f"not a directory: {path}")
    try:
        process = subprocess.run(
            [
                _GIT,
                "rev-parse",
                "--absolute-git-dir",
                "--is-bare-repository",
                "--is-shallow-repository",
                "--show-toplevel",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=path,
        )
    except FileNotFoundError:
        raise UsageError("git is not installed (or not on PATH)") from None
    except OSError as error:
        raise UsageError(f"cannot run git in {path}: {error.strerror}") from None
    lines = process.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 3:
        # A bare repository has no top level: rev-parse fails on --show-toplevel but still
        # prints the rest when it is one; anything else is not a repository at all.
        raise UsageError(f"not a git repository: {path} ({_last_line(process.stderr)})")
    git_dir, bare, shallow = lines[:3]
    work_tree = lines[3] if bare != "true" and len(lines) > 3 else None
    return Repository(git_dir=git_dir, work_tree=work_tree, shallow=shallow == "true")


class Process:
    """A long-lived git process fed from a thread and read by the caller, never deadlocking.

    Lines are written to stdin by a background thread (so a full stdout pipe can never
    block the writer and the reader on each other); stderr is drained by another thread
    and its last few KB are kept for error messages.
    """

    def __init__(self, command: Sequence[str], lines: Iterable[bytes] | None, cwd: str) -> None:
        self._popen = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if lines is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            bufsize=0,
        )
        assert self._popen.stdout is not None and self._popen.stderr is not None
        self.stdout: IO[bytes] = self._popen.stdout
        _widen_pipe(self.stdout.fileno())
        self._stderr = bytearray()
        self._result: tuple[int, str] | None = None
        self._threads = [threading.Thread(target=self._drain, daemon=True)]
        if lines is not None:
            self._threads.append(threading.Thread(target=self._feed, args=(lines,), daemon=True))
        for thread in self._threads:
            thread.start()

    def _feed(self, lines: Iterable[bytes]) -> None:
        stdin = self._popen.stdin
        assert stdin is not None
        try:
            pending: list[bytes] = []
            for line in lines:
                pending.append(line)
                if len(pending) >= 1024:
                    stdin.write(b"\n".join(pending) + b"\n")
                    pending.clear()
            if pending:
                stdin.write(b"\n".join(pending) + b"\n")
        except (BrokenPipeError, ValueError):  # git stopped early: its exit status says why
            pass
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _drain(self) -> None:
        stderr = self._popen.stderr
        assert stderr is not None
        for chunk in iter(lambda: stderr.read(4096), b""):
            self._stderr += chunk
            del self._stderr[: max(len(self._stderr) - _STDERR_KEPT, 0)]

    def finish(self) -> tuple[int, str]:
        """Wait for git to exit (closing our end first): its status and last stderr line."""
        if self._result is None:
            self.stdout.close()
            code = self._popen.wait()
            for thread in self._threads:
                thread.join()
            self._result = code, _last_line(bytes(self._stderr))
        return self._result

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._popen.poll() is None:
            self._popen.kill()
        self.finish()


def _widen_pipe(fd: int) -> None:
    """Ask for a 1 MiB pipe: fewer context switches when git streams gigabytes."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no message"


def read_records(stream: IO[bytes], separator: bytes, block: int = 1 << 20) -> Iterator[bytes]:
    """Records of a pipe split on ``separator`` (newline, or NUL for ``-z`` output), read in
    large blocks rather than byte by byte."""
    rest = b""
    while True:
        data = stream.read(block)
        if not data:
            break
        records = (rest + data).split(separator)
        rest = records.pop()
        yield from records
    if rest:
        yield rest


def decode_path(raw: bytes) -> str:
    """A path as git stores it (bytes), shown as text; undecodable bytes escaped."""
    return raw.decode("utf-8", "backslashreplace")
