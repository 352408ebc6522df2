"""Which commit brought which blob in at which path: ``git diff-tree --stdin -r -m --root``.

The raw ``-z`` output of diff-tree, fed a list of commits, is a commit id followed by one
entry per changed path, and with ``-m`` one such section per parent of a merge. A commit
*introduces* a blob at a path when that path holds the blob after the commit and did not
before it: for an ordinary commit, any added or modified entry; for a merge, only an entry
that differs from **every** parent, i.e. content that neither side had (an "evil merge").
Anything a merge merely carries over from one side was introduced by a commit on that side.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from cmscan.gitrepo import Repository, decode_path, read_records

FIND_OBJECTS_PER_PASS = 1000
"""``--find-object`` options per diff-tree run (each run walks every commit once)."""
_FILE_MODES = frozenset({b"100644", b"100755", b"120000"})


@dataclass(frozen=True)
class Introduction:
    blob: str
    path: str
    commit: str


def introductions(
    repo: Repository,
    commits: Iterable[str],
    parents: Mapping[str, int],
    blobs: Iterable[str] | None = None,
) -> tuple[list[Introduction], str | None]:
    """Every (blob, path, commit) introduction among ``commits``, and an error if git failed.

    ``parents`` gives the parent count of each merge (commits absent from it have at most
    one). ``blobs`` limits the answer to those blobs (``--find-object``); ``None`` means all.
    """
    commit_list = list(commits)
    found: list[Introduction] = []
    error: str | None = None
    passes: list[list[str] | None]
    if blobs is None:
        passes = [None]
    else:
        wanted = sorted(set(blobs))
        passes = [
            wanted[index : index + FIND_OBJECTS_PER_PASS]
            for index in range(0, len(wanted), FIND_OBJECTS_PER_PASS)
        ]
    for chunk in passes:
        options = [f"--find-object={oid}" for oid in chunk or ()]
        command = [
            "diff-tree", "--stdin", "-r", "-m", "--root", "--no-abbrev", "-z", "--no-renames",
            "--no-ext-diff", "--no-textconv", *options,
        ]  # fmt: skip
        lines = (oid.encode("ascii") for oid in commit_list)
        with repo.start(command, lines) as process:
            wanted_set = set(chunk) if chunk is not None else None
            found.extend(_introduced(_sections(process.stdout), parents, wanted_set))
            code, message = process.finish()
        if code != 0:
            error = f"git diff-tree exited with {code}: {message}"
    return found, error


def _introduced(
    sections: Iterator[tuple[str, list[tuple[str, str]]]],
    parents: Mapping[str, int],
    wanted: set[str] | None,
) -> Iterator[Introduction]:
    """Turn per-parent sections into introductions, applying the merge rule."""
    pending_commit: str | None = None
    counts: dict[tuple[str, str], int] = {}

    def flush() -> Iterator[Introduction]:
        if pending_commit is None:
            return
        needed = max(parents.get(pending_commit, 1), 1)
        for (blob, path), seen in counts.items():
            if seen >= needed:
                yield Introduction(blob, path, pending_commit)

    for commit, entries in sections:
        if commit != pending_commit:
            yield from flush()
            pending_commit, counts = commit, {}
        for blob, path in entries:
            if wanted is None or blob in wanted:
                counts[(blob, path)] = counts.get((blob, path), 0) + 1
    yield from flush()


def _sections(stream: IO[bytes]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(commit, [(new blob, path)]) for each section of ``diff-tree -z --stdin`` output."""
    commit: str | None = None
    entries: list[tuple[str, str]] = []
    for item in raw_entries(stream):
        if isinstance(item, str):
            if commit is not None:
                yield commit, entries
            commit, entries = item, []
        else:
            entries.append(item)
    if commit is not None:
        yield commit, entries


def raw_entries(stream: IO[bytes]) -> Iterator[str | tuple[str, str]]:
    """Commit ids (``str``) and (new blob, path) entries of raw ``-z`` diff output.

    Only entries whose new side is a file (regular, executable or symlink) are given:
    deletions and submodule commits bring no blob in.
    """
    tokens = read_records(stream, b"\0")
    for token in tokens:
        if token.startswith(b":"):
            path = next(tokens, None)
            if path is None:
                return
            fields = token[1:].split(b" ")
            if len(fields) >= 5 and fields[1] in _FILE_MODES and fields[4][:1] != b"D":
                yield fields[3].decode("ascii"), decode_path(path)
        elif token:
            yield token.decode("ascii", "replace")
