"""Which commits a push sends: the range ``cmscan history --pre-push`` scans.

Two callers, two ways of being told:

- **pre-commit** (the ``cmscan-push`` hook) reads git's pre-push input itself and exposes
  the first ref with something to push as environment variables: ``PRE_COMMIT_FROM_REF``
  (the remote's commit, or the parent of the first commit no remote-tracking ref of the
  remote has) and ``PRE_COMMIT_TO_REF`` (the local commit). When the push holds the
  branch's root commit there is no ``FROM``: only ``PRE_COMMIT_LOCAL_BRANCH`` and
  ``PRE_COMMIT_REMOTE_NAME``. pre-commit passes hooks no other ref of a multi-ref push.
- **A plain git pre-push hook** gets one stdin line per ref,
  ``<local ref> SP <local oid> SP <remote ref> SP <remote oid>``, with an all-zero oid for
  a ref the remote does not have yet (local side: a deletion, which sends nothing).

Either way the range is "the pushed tips, minus what the remote is known to have": the
remote's old commits that exist here, and the remote-tracking refs of the remote pushed
to (never of other remotes: a commit on a private remote is new to a public one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cmscan.errors import UsageError
from cmscan.gitrepo import Repository, read_records


@dataclass(frozen=True)
class PushedRef:
    """One line of git's pre-push hook input."""

    local_ref: str
    local_oid: str
    remote_ref: str
    remote_oid: str

    @property
    def deletes(self) -> bool:
        return _is_zero(self.local_oid)

    @property
    def creates(self) -> bool:
        return _is_zero(self.remote_oid)


@dataclass(frozen=True)
class PushRange:
    """What to scan: ``git rev-list`` arguments, or the whole history."""

    revisions: tuple[str, ...] | None
    """``None``: no pushed range was given (``pre-commit run`` outside a push), so
    everything is scanned; ``()``: nothing is pushed (deletions only)."""
    description: str
    """Which commits, in words, for the diagnostics line."""


def parse_hook_input(data: bytes) -> tuple[PushedRef, ...]:
    """git's pre-push stdin; :class:`UsageError` naming the line number if it is not that."""
    refs: list[PushedRef] = []
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not raw.strip():
            continue
        fields = raw.rsplit(maxsplit=3)
        if len(fields) != 4 or not all(_is_oid(oid) for oid in (fields[1], fields[3])):
            raise UsageError(
                f"--pre-push: line {number} of the input is not "
                "'<local ref> <local oid> <remote ref> <remote oid>' (git's pre-push hook input)"
            )
        refs.append(PushedRef(*fields))
    return tuple(refs)


def from_pre_commit(
    environ: Mapping[str, str], remote: str | None, remotes: Sequence[str]
) -> PushRange | None:
    """The range pre-commit gives its pre-push hooks; ``None`` when not run by pre-commit.

    ``remote`` overrides ``PRE_COMMIT_REMOTE_NAME``; ``remotes`` are the repository's
    configured remote names."""
    if environ.get("PRE_COMMIT") != "1":
        return None
    remote = remote or environ.get("PRE_COMMIT_REMOTE_NAME")
    exclude = _remote_tracking(remote, remotes)
    source, target = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if source and target:
        described = f"{_short(source)}..{_short(target)}{_less(exclude, remote)}"
        return PushRange((target, "--not", source, *exclude), described)
    local = environ.get("PRE_COMMIT_LOCAL_BRANCH")
    if local and remote:  # the push holds the branch's root commit: all of it may be new
        return PushRange((local, "--not", *exclude), f"{local}{_less(exclude, remote)}")
    return PushRange(None, "all history (no pushed range: pre-commit was not run by a push)")


def from_hook_input(
    refs: Sequence[PushedRef],
    remote: str | None,
    remotes: Sequence[str],
    has_commit: Callable[[str], bool],
) -> PushRange:
    """The range of a plain git pre-push hook's input lines, pushed to ``remote``."""
    pushed = [ref for ref in refs if not ref.deletes]
    if not pushed:
        return PushRange((), "nothing (the push only deletes)")
    tips = dict.fromkeys(ref.local_oid for ref in pushed)
    known = dict.fromkeys(
        ref.remote_oid for ref in pushed if not ref.creates and has_commit(ref.remote_oid)
    )
    exclude = _remote_tracking(remote, remotes)
    names = ", ".join(dict.fromkeys(ref.local_ref for ref in pushed))
    return PushRange((*tips, "--not", *known, *exclude), f"{names}{_less(exclude, remote)}")


def pushed_range(
    repo: Repository,
    environ: Mapping[str, str],
    read_input: Callable[[], bytes],
    remote: str | None,
) -> PushRange:
    """pre-commit's range if it runs us, else the range of git's hook input (read only
    then: pre-commit has consumed it already)."""
    remotes = configured_remotes(repo)
    given = from_pre_commit(environ, remote, remotes)
    if given is not None:
        return given
    refs = parse_hook_input(read_input())
    return from_hook_input(refs, remote, remotes, lambda oid: has_commit(repo, oid))


def configured_remotes(repo: Repository) -> tuple[str, ...]:
    with repo.start(["remote"]) as process:
        names = [line.decode("utf-8", "replace") for line in read_records(process.stdout, b"\n")]
        process.finish()
    return tuple(name for name in names if name)


def has_commit(repo: Repository, oid: str) -> bool:
    """Whether this repository has the commit ``oid`` (a remote's commit may not be here)."""
    with repo.start(["cat-file", "-e", f"{oid}^{{commit}}"]) as process:
        code, _ = process.finish()
    return code == 0


def _remote_tracking(remote: str | None, remotes: Sequence[str]) -> tuple[str, ...]:
    """``--remotes=NAME`` for a configured remote (a URL pushed to has no tracking refs)."""
    return (f"--remotes={remote}",) if remote and remote in remotes else ()


def _less(exclude: tuple[str, ...], remote: str | None) -> str:
    return f", less what {remote} has" if exclude else ""


def _short(oid: str) -> str:
    return oid[:12] if _is_oid(oid) else oid


def _is_oid(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _is_zero(oid: str) -> bool:
    return set(oid) == {"0"}
