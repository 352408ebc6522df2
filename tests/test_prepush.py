"""cmscan history --pre-push: which commits a push sends, from pre-commit or a git hook."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmscan.cli import cli
from cmscan.errors import UsageError
from cmscan.gitrepo import open_repository
from cmscan.history import HistoryOptions, scan_history
from cmscan.keys import fingerprint
from cmscan.prepush import (
    PushedRef,
    from_hook_input,
    from_pre_commit,
    parse_hook_input,
)
from tests.gitutil import GitRepo
from tests.keygen import make_key
from tests.runner import cmscan_executable

ZERO = "0" * 40
PRE_COMMIT_VARIABLES = (
    "PRE_COMMIT",
    "PRE_COMMIT_FROM_REF",
    "PRE_COMMIT_TO_REF",
    "PRE_COMMIT_REMOTE_NAME",
    "PRE_COMMIT_LOCAL_BRANCH",
)
A, B, C = "a" * 40, "b" * 40, "c" * 40


def masked(key: str) -> str:
    return f"{key[:7]}…{key[-4:]}"


# -- the hook input and pre-commit's variables


def test_parse_hook_input() -> None:
    data = f"refs/heads/main {A} refs/heads/main {B}\n\nHEAD~1 {C} refs/heads/x {ZERO}\n"
    assert parse_hook_input(data.encode()) == (
        PushedRef("refs/heads/main", A, "refs/heads/main", B),
        PushedRef("HEAD~1", C, "refs/heads/x", ZERO),
    )
    assert parse_hook_input(b"") == ()


def test_parse_hook_input_rejects_other_text_by_line_number() -> None:
    key = make_key()
    with pytest.raises(UsageError) as raised:
        parse_hook_input(f"refs/heads/main {A} refs/heads/main {B}\nKEY={key}\n".encode())
    assert "line 2" in str(raised.value)
    assert key not in str(raised.value)


def test_pre_commit_range_excludes_the_remote_it_names() -> None:
    env = {
        "PRE_COMMIT": "1",
        "PRE_COMMIT_FROM_REF": A,
        "PRE_COMMIT_TO_REF": B,
        "PRE_COMMIT_REMOTE_NAME": "origin",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
    }
    pushed = from_pre_commit(env, None, ("origin", "mirror"))
    assert pushed is not None
    assert pushed.revisions == (B, "--not", A, "--remotes=origin")
    # a URL pushed to is no configured remote: it has no remote-tracking refs to exclude
    url = {**env, "PRE_COMMIT_REMOTE_NAME": "https://example.com/x.git"}
    assert from_pre_commit(url, None, ("origin",)).revisions == (B, "--not", A)  # type: ignore[union-attr]
    # --remote wins over pre-commit's variable
    assert from_pre_commit(env, "mirror", ("origin", "mirror")).revisions == (  # type: ignore[union-attr]
        B,
        "--not",
        A,
        "--remotes=mirror",
    )


def test_pre_commit_first_push_of_a_root_names_only_the_branch() -> None:
    """With the branch's root commit in the push, pre-commit sets no FROM/TO refs."""
    env = {
        "PRE_COMMIT": "1",
        "PRE_COMMIT_REMOTE_NAME": "origin",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
    }
    pushed = from_pre_commit(env, None, ("origin",))
    assert pushed is not None
    assert pushed.revisions == ("refs/heads/main", "--not", "--remotes=origin")


def test_pre_commit_without_a_push_means_all_history() -> None:
    assert from_pre_commit({}, None, ()) is None  # not run by pre-commit at all
    pushed = from_pre_commit({"PRE_COMMIT": "1"}, None, ("origin",))
    assert pushed is not None and pushed.revisions is None


def test_hook_input_ranges() -> None:
    def here(oid: str) -> bool:
        return oid != C  # C: the remote has a commit this clone never fetched

    update = PushedRef("refs/heads/main", A, "refs/heads/main", B)
    new_branch = PushedRef("refs/heads/x", A, "refs/heads/x", ZERO)
    unfetched = PushedRef("refs/heads/y", B, "refs/heads/y", C)
    delete = PushedRef("(delete)", ZERO, "refs/heads/z", A)
    assert from_hook_input([update], "origin", ("origin",), here).revisions == (
        A,
        "--not",
        B,
        "--remotes=origin",
    )
    assert from_hook_input([new_branch], None, (), here).revisions == (A, "--not")
    assert from_hook_input([unfetched, delete], None, (), here).revisions == (B, "--not")
    assert from_hook_input([delete], "origin", ("origin",), here).revisions == ()


def test_history_lets_no_other_option_into_rev_list(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("root", ("a.txt", "a\n"))
    repository = open_repository(str(repo.path))
    for arguments in (("HEAD", "--all"), ("--output=x",), ("HEAD", "--not", "--remotes=-x")):
        with pytest.raises(UsageError):
            scan_history(repository, HistoryOptions(revisions=arguments))
    with pytest.raises(UsageError):  # one string is one revision, never an option
        scan_history(repository, HistoryOptions(revisions="--not"))
    empty = scan_history(repository, HistoryOptions(revisions=()))
    assert (empty.findings, empty.files, empty.messages) == ((), 0, 0)


# -- the CLI, told by pre-commit's variables


def _history(repo: GitRepo, env: dict[str, str], *args: str, input: str = "") -> tuple[int, str]:
    """Exit code, and stderr followed by stdout; pre-commit's variables are only ``env``'s."""
    unset: dict[str, str | None] = dict.fromkeys(PRE_COMMIT_VARIABLES)
    result = CliRunner(env={**unset, **env}).invoke(
        cli, ["history", str(repo.path), "--pre-push", *args], input=input
    )
    return result.exit_code, result.stderr + result.stdout


def test_cli_pre_commit_range(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    old, new = make_key(), make_key()
    base = repo.commit("old", ("old.env", f"K={old}\n"))
    repo.commit("new", ("new.env", f"K={new}\n"))
    tip = repo.commit("gone", ("new.env", "K=from-the-environment\n"))
    env = {"PRE_COMMIT": "1", "PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": tip}
    code, output = _history(repo, env, "--format", "json")
    assert code == 1
    report = json.loads(output[output.index("{") :])
    assert {f["fingerprint"] for f in report["findings"]} == {fingerprint(new)}
    assert f"pre-push: scanning {base[:12]}..{tip[:12]}" in output
    assert "before pushing" in output
    assert old not in output and new not in output
    # without a range, pre-commit's "all files" means all history
    code, output = _history(repo, {"PRE_COMMIT": "1"}, "--format", "json")
    report = json.loads(output[output.index("{") :])
    assert code == 1
    assert {f["fingerprint"] for f in report["findings"]} == {fingerprint(old), fingerprint(new)}


def test_cli_hook_input_and_usage_errors(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    key = make_key()
    base = repo.commit("root", ("a.txt", "a\n"))
    tip = repo.commit("key", ("b.env", f"K={key}\n"))
    line = f"refs/heads/main {tip} refs/heads/main {base}\n"
    code, output = _history(repo, {}, input=line)
    assert code == 1 and masked(key) in output and key not in output
    code, output = _history(repo, {}, input=f"refs/heads/main {tip} refs/heads/main {tip}\n")
    assert code == 0
    code, output = _history(repo, {}, input=f"(delete) {ZERO} refs/heads/old {base}\n")
    assert code == 0 and "nothing (the push only deletes)" in output
    code, output = _history(repo, {}, input="not a hook input\n")
    assert code == 2 and "line 1" in output
    for args in (["--since", "HEAD"], ["--range", "a..b"]):
        code, output = _history(repo, {}, *args)
        assert code == 2 and "not several" in output
    result = CliRunner().invoke(cli, ["history", str(repo.path), "--remote", "origin"])
    assert result.exit_code == 2 and "--remote goes with --pre-push" in result.stderr


# -- a real push through a plain git pre-push hook


@pytest.fixture
def pushing(tmp_path: Path) -> GitRepo:
    """A clone whose pre-push hook is cmscan, with an empty bare remote ``origin``."""
    remote = GitRepo(tmp_path / "remote.git", bare=True)
    repo = GitRepo(tmp_path / "work")
    repo.git("remote", "add", "origin", str(remote.path))
    hook = repo.path / ".git" / "hooks" / "pre-push"
    command = shlex.join([*cmscan_executable(), "history", "--pre-push"])
    hook.write_text(f'#!/bin/sh\nexec {command} --remote "$1"\n')
    hook.chmod(0o755)
    return repo


def push(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", "origin", *args],
        cwd=repo.path,
        env={k: v for k, v in repo.env().items() if k not in PRE_COMMIT_VARIABLES},
        capture_output=True,
        text=True,
        check=False,
    )


def remote_head(repo: GitRepo, branch: str) -> str:
    return repo.git("ls-remote", "origin", f"refs/heads/{branch}").split("\t")[0]


def test_plain_hook_blocks_a_key_in_any_pushed_commit(pushing: GitRepo) -> None:
    repo = pushing
    first = repo.commit("clean", ("a.txt", "a\n"))
    assert push(repo, "main").returncode == 0
    key = make_key()
    repo.commit("key", ("settings.env", f"K={key}\n"))
    repo.commit("remove it again", ("settings.env", "K=\n"))
    blocked = push(repo, "main")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0
    assert masked(key) in output and "settings.env" in output and key not in output
    assert remote_head(repo, "main") == first


def test_plain_hook_sees_every_ref_of_a_push(pushing: GitRepo) -> None:
    repo = pushing
    repo.commit("clean", ("a.txt", "a\n"))
    assert push(repo, "main").returncode == 0
    repo.git("branch", "clean-branch")
    repo.git("checkout", "-q", "-b", "leaky")
    key = make_key()
    repo.commit("key", ("b.env", f"K={key}\n"))
    blocked = push(repo, "clean-branch", "leaky")
    assert blocked.returncode != 0 and masked(key) in blocked.stderr + blocked.stdout
    assert remote_head(repo, "leaky") == ""


def test_plain_hook_new_branch_scans_only_what_the_remote_lacks(pushing: GitRepo) -> None:
    repo = pushing
    old = make_key()
    repo.commit("a key already published", ("old.env", f"K={old}\n"))
    assert push(repo, "--no-verify", "main").returncode == 0
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("clean work", ("b.txt", "b\n"))
    passed = push(repo, "feature")
    assert passed.returncode == 0, passed.stderr
    assert masked(old) not in passed.stderr + passed.stdout
    deleted = push(repo, ":feature")  # a deletion sends nothing
    assert deleted.returncode == 0 and remote_head(repo, "feature") == ""
