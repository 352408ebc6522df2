"""Author, date and tag name of the few commits and tags that a finding points at (GitPython).

Only objects that hold or introduced a key are looked up, so this costs nothing on a clean
history. An object GitPython cannot read gets no metadata; the finding keeps its commit id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cmscan.gitrepo import Repository


@dataclass(frozen=True)
class ObjectInfo:
    author: str | None
    """``Name <email>`` of a commit's author or a tag's tagger."""
    date: str | None
    """ISO 8601 with the author's own UTC offset."""
    time: int
    """Committer (or tagger) time in seconds since the epoch: orders candidate commits."""
    target: str | None = None
    """For a tag: the commit it points at."""
    tag: str | None = None


def read_info(repo: Repository, oids: Iterable[str]) -> dict[str, ObjectInfo]:
    wanted = sorted(set(oids))
    if not wanted:
        return {}
    import git  # GitPython: imported here, where it is needed, to keep startup fast

    info: dict[str, ObjectInfo] = {}
    repository = git.Repo(repo.git_dir)
    try:
        for oid in wanted:
            try:
                obj = repository.rev_parse(oid)
                info[oid] = _describe(obj)
            except (ValueError, git.GitError, AttributeError, TypeError):
                continue
    finally:
        repository.close()
    return info


def _describe(obj: object) -> ObjectInfo:
    import git
    from git.objects.util import from_timestamp

    if isinstance(obj, git.Commit):
        return ObjectInfo(
            author=_person(obj.author),
            date=obj.authored_datetime.isoformat(),
            time=obj.committed_date,
        )
    if isinstance(obj, git.TagObject):
        target = obj.object
        return ObjectInfo(
            author=_person(obj.tagger) if obj.tagger else None,
            date=(
                from_timestamp(obj.tagged_date, obj.tagger_tz_offset).isoformat()
                if obj.tagged_date
                else None
            ),
            time=obj.tagged_date or 0,
            target=target.hexsha if isinstance(target, git.Commit) else None,
            tag=obj.tag,
        )
    raise ValueError("not a commit or tag")


def _person(actor: object) -> str:
    name = getattr(actor, "name", None) or ""
    email = getattr(actor, "email", None)
    return f"{name} <{email}>" if email else name
