"""The pre-commit hooks, run by the real pre-commit framework: install, commit, push, try-repo.

Offline: pip in pre-commit's hook virtualenv sees only a wheelhouse built from this venv
(:mod:`tests.hookenv`), and every proxy variable points at a closed loopback port, so any
attempt to reach the network fails. The hook repository is a snapshot of this work tree
tagged ``v<version>``, and the consumer's ``.pre-commit-config.yaml`` is the one the README
tells users to paste, with only the repository URL swapped for the snapshot. The hook
virtualenv is built once per session.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from cmscan import __version__
from cmscan.standin import Behaviour, StandIn
from tests.hookenv import PROJECT, build_wheelhouse, offline_env, snapshot_project
from tests.keygen import make_key

URL = "https://github.com/cmscan/cmscan"
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
_TOP_KEYS = ("repos:", "default_install_hook_types:")


def readme_configs() -> list[str]:
    """The ``.pre-commit-config.yaml`` blocks of the README, as users would paste them."""
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    return [block for block in blocks if URL in block and block.lstrip().startswith(_TOP_KEYS)]


@dataclass(frozen=True)
class Stage:
    env: dict[str, str]
    hook_repo: Path
    config: str
    """The README's config with both hooks, pointing at the snapshot."""
    root: Path


def run(cwd: Path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Stage:
    root = tmp_path_factory.mktemp("precommit")
    (root / "home").mkdir()
    wheelhouse = build_wheelhouse(root / "wheels")
    env = offline_env(root / "home", wheelhouse, root / "pre-commit-home")
    hook_repo = root / "cmscan-hooks"
    snapshot_project(hook_repo, env, f"v{__version__}")
    (full,) = [block for block in readme_configs() if "cmscan-push" in block]
    stage = Stage(env, hook_repo, full.replace(URL, str(hook_repo)), root)
    scratch = new_repo(stage, root / "scratch")
    started = time.monotonic()
    built = run(scratch, env, *PRE_COMMIT, "install-hooks")
    assert built.returncode == 0, built.stdout + built.stderr
    print(f"hook virtualenv built offline in {time.monotonic() - started:.1f} s")
    return stage


def new_repo(stage: Stage, path: Path, config: str | None = None) -> Path:
    """A git repository with the config and pre-commit's git hooks installed."""
    path.mkdir()
    git(stage, path, "init", "-q", "-b", "main")
    (path / ".pre-commit-config.yaml").write_text(config or stage.config)
    installed = run(path, stage.env, *PRE_COMMIT, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return path


@pytest.fixture
def clone(stage: Stage, tmp_path: Path) -> Path:
    """A repository with both hooks installed and an empty bare remote ``origin``."""
    remote = tmp_path / "remote.git"
    assert run(tmp_path, stage.env, "git", "init", "-q", "--bare", str(remote)).returncode == 0
    path = new_repo(stage, tmp_path / "work")
    git(stage, path, "remote", "add", "origin", str(remote))
    return path


def git(stage: Stage, repo: Path, *args: str) -> str:
    done = run(repo, stage.env, "git", *args)
    assert done.returncode == 0, f"git {args}: {done.stdout}{done.stderr}"
    return done.stdout.strip()


def commit(stage: Stage, repo: Path, files: dict[str, str], *options: str) -> str:
    """Write, stage and commit ``files`` through the hook; returns git's output."""
    for name, content in files.items():
        (repo / name).write_text(content)
    git(stage, repo, "add", "-A")
    done = run(repo, stage.env, "git", "commit", "-m", "change", *options)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def push(stage: Stage, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(repo, stage.env, "git", "push", "origin", *args)


def remote_head(stage: Stage, repo: Path, branch: str) -> str:
    return git(stage, repo, "ls-remote", "origin", f"refs/heads/{branch}").split("\t")[0]


def masked(key: str) -> str:
    return f"{key[:7]}…{key[-4:]}"


def assert_blocked_for(output: str, key: str) -> None:
    """The hook failed on this key: shown masked, unverified (nothing was sent), with the
    advice, and never in full."""
    assert "Failed" in output
    assert masked(key) in output
    assert "UNVERIFIED" in output
    assert "what to do:" in output and "API Keys page" in output
    assert key not in output


# -- the README's configuration


def test_readme_configs_are_valid_and_name_this_release(stage: Stage) -> None:
    configs = readme_configs()
    assert len(configs) == 2
    manifest = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    hook_ids = {hook["id"] for hook in manifest}
    assert hook_ids == {"cmscan", "cmscan-push"}
    for number, text in enumerate(configs):
        (config,) = yaml.safe_load(text)["repos"]
        assert (config["repo"], config["rev"]) == (URL, f"v{__version__}")
        assert {hook["id"] for hook in config["hooks"]} <= hook_ids
        path = stage.root / f"readme-config-{number}.yaml"
        path.write_text(text)
        checked = run(stage.root, stage.env, *PRE_COMMIT, "validate-config", str(path))
        assert checked.returncode == 0, checked.stdout + checked.stderr
    checked = run(PROJECT, stage.env, *PRE_COMMIT, "validate-manifest", ".pre-commit-hooks.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- the commit hook


def test_staged_key_blocks_the_commit(stage: Stage, clone: Path) -> None:
    commit(stage, clone, {"README.txt": "hello\n"})
    key = make_key()
    (clone / "settings.env").write_text(f"CROSSMODEL_API_KEY={key}\n")
    git(stage, clone, "add", "settings.env")
    before = git(stage, clone, "rev-parse", "HEAD")
    blocked = run(clone, stage.env, "git", "commit", "-m", "add settings")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert_blocked_for(output, key)
    assert "settings.env:1:20" in output
    assert git(stage, clone, "rev-parse", "HEAD") == before  # nothing was committed


def test_clean_commit_passes(stage: Stage, clone: Path) -> None:
    output = commit(stage, clone, {"app.py": "import os\nKEY = os.environ['X']\n"})
    assert re.search(r"cmscan \(CrossModel API keys in staged changes\)\.+Passed", output)


def test_verify_only_when_the_user_adds_it(stage: Stage, tmp_path: Path) -> None:
    """``args: [--verify]`` is the only way a hook sends a key: here to a loopback stand-in."""
    config = stage.config.replace("- id: cmscan\n", "- id: cmscan\n        args: [--verify]\n")
    assert "--verify" in config
    repo = new_repo(stage, tmp_path / "work", config)
    key = make_key()
    (repo / "a.env").write_text(f"K={key}\n")
    git(stage, repo, "add", "-A")
    with StandIn() as standin:
        standin.add(key, Behaviour())
        env = {**stage.env, "CROSSMODEL_BASE_URL": standin.base_url}
        blocked = run(repo, env, "git", "commit", "-m", "x")
        assert standin.requests_for(key, "/v1/credits") == 1
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1 and "ACTIVE" in output and masked(key) in output
    assert key not in output


# -- the push hook


def test_push_with_a_key_in_a_pushed_commit_is_blocked(stage: Stage, clone: Path) -> None:
    commit(stage, clone, {"a.txt": "a\n"})
    assert push(stage, clone, "main").returncode == 0
    published = remote_head(stage, clone, "main")
    key = make_key()
    commit(stage, clone, {"config.yaml": f"api_key: {key}\n"}, "--no-verify")
    commit(stage, clone, {"config.yaml": "api_key: ${CROSSMODEL_API_KEY}\n"})
    blocked = push(stage, clone, "main")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0
    assert_blocked_for(output, key)
    assert "config.yaml:1:10  commit" in output and "before pushing" in output
    assert remote_head(stage, clone, "main") == published


def test_clean_push_passes(stage: Stage, clone: Path) -> None:
    commit(stage, clone, {"a.txt": "a\n"})
    commit(stage, clone, {"b.txt": "b\n"})
    tip = git(stage, clone, "rev-parse", "HEAD")
    pushed = push(stage, clone, "main")
    output = pushed.stdout + pushed.stderr
    assert pushed.returncode == 0, output
    assert re.search(r"cmscan \(CrossModel API keys in pushed commits\)\.+Passed", output)
    assert remote_head(stage, clone, "main") == tip


def test_first_push_scans_the_whole_branch(stage: Stage, clone: Path) -> None:
    """Pushing a root commit: pre-commit names only the branch (no FROM/TO refs)."""
    key = make_key()
    commit(stage, clone, {"root.env": f"K={key}\n"}, "--no-verify")
    commit(stage, clone, {"root.env": "K=\n"})
    blocked = push(stage, clone, "main")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0
    assert_blocked_for(output, key)
    assert "pre-push: scanning refs/heads/main, less what origin has" in output
    assert remote_head(stage, clone, "main") == ""


def test_new_branch_push_scans_only_what_the_remote_lacks(stage: Stage, clone: Path) -> None:
    published = make_key()
    commit(stage, clone, {"old.env": f"K={published}\n"}, "--no-verify")
    assert push(stage, clone, "--no-verify", "main").returncode == 0  # already on the remote
    git(stage, clone, "checkout", "-q", "-b", "feature")
    commit(stage, clone, {"feature.txt": "work\n"})
    passed = push(stage, clone, "feature")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    git(stage, clone, "checkout", "-q", "-b", "leaky")
    new = make_key()
    commit(stage, clone, {"new.env": f"K={new}\n"}, "--no-verify")
    blocked = push(stage, clone, "leaky")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0
    assert_blocked_for(output, new)
    assert masked(published) not in output and published not in output
    assert "less what origin has" in output


# -- pre-commit try-repo


def test_try_repo_blocks_a_staged_key(stage: Stage, tmp_path: Path) -> None:
    """``pre-commit try-repo`` builds its own hook environment (offline too) and runs the
    hook on what is staged."""
    repo = tmp_path / "tried"
    repo.mkdir()
    git(stage, repo, "init", "-q", "-b", "main")
    key = make_key()
    (repo / "leak.js").write_text(f'fetch(u, {{headers: {{"x-api-key": "{key}"}}}})\n')
    git(stage, repo, "add", "leak.js")
    tried = run(repo, stage.env, *PRE_COMMIT, "try-repo", str(stage.hook_repo), "cmscan")
    output = tried.stdout + tried.stderr
    assert tried.returncode == 1, output
    assert_blocked_for(output, key)
    assert "leak.js:1:" in output
