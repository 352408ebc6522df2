""".cmscan.yaml: checked keys and types, what it may set, and who may turn verification on."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.keys import fingerprint
from cmscan.standin import StandIn
from tests.gitutil import GitRepo
from tests.keygen import make_key


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("exclud: [x]\n", "'exclud': unknown setting"),
        ("detector:\n  min_bdy: 30\n", "'detector.min_bdy': unknown setting"),
        ("detector:\n  min_body: thirty\n", "'detector.min_body': expected a whole number"),
        ("detector:\n  min_body: 19\n", "'detector.min_body': expected a whole number from 20"),
        ("detector:\n  min_body: 90\n  max_body: 40\n", "'detector'"),
        ("detector:\n  randomness:\n    min_distinct: 2\n", "may only tighten"),
        ("verify:\n  enabled: yes please\n", "'verify.enabled': expected true or false"),
        ("verify:\n  timeout: true\n", "'verify.timeout': expected a number"),
        ("report:\n  format: xml\n", "'report.format': expected one of text, json"),
        ("exclude: node_modules/\n", "'exclude': expected a list"),
        ("allowlist:\n  - fingerprint: abc\n    reason: x\n", "'allowlist[0].fingerprint'"),
        (f"allowlist:\n  - fingerprint: {'a' * 64}\n", "'allowlist[0].reason': is required"),
        ("- just\n- a list\n", "expected a mapping"),
        ("detector: [\n", "not valid YAML (line 2)"),
    ],
)
def test_mistakes_exit_2_naming_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, named: str
) -> None:
    config = tmp_path / "cmscan.yaml"
    config.write_text(text)
    code, out, err = _run(capsys, "scan", str(tmp_path), "--config", str(config))
    assert code == 2 and out == ""
    assert str(config) in err and named in err


def test_a_discovered_config_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".cmscan.yaml").write_text("colour: blue\n")
    code, _, err = _run(capsys, "scan", str(tmp_path))
    assert code == 2 and ".cmscan.yaml: 'colour': unknown setting" in err


def test_excludes_allowlist_and_report_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    excluded, allowed, reported = make_key(), make_key(), make_key()
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "a.txt").write_text(excluded)
    (tmp_path / "docs.md").write_text(f"revoked example: {allowed}\n")
    (tmp_path / "app.py").write_text(f"KEY = '{reported}'\n")
    (tmp_path / ".cmscan.yaml").write_text(
        "exclude: [fixtures/]\n"
        f"allowlist:\n  - fingerprint: {fingerprint(allowed)}\n    reason: revoked, in the docs\n"
        "report:\n  format: json\n  fail_on: none\n"
    )
    code, out, _ = _run(capsys, "scan", str(tmp_path))
    report = json.loads(out)  # json, from the config
    assert code == 0  # fail_on: none, from the config
    assert [f["path"] for f in report["findings"]] == ["app.py"]
    assert report["summary"]["allowlisted"] == 1
    code, out, _ = _run(capsys, "scan", str(tmp_path), "--format", "text", "--fail-on", "any")
    assert code == 1 and "1 key found" in out  # the command line wins


def test_detector_and_decoder_settings_tighten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short, encoded = make_key(24), make_key(48)
    (tmp_path / "a.txt").write_text(f"{short}\n")
    (tmp_path / "b.yaml").write_text(f"k: {base64.b64encode(encoded.encode()).decode()}\n")
    assert _run(capsys, "scan", str(tmp_path))[0] == 1
    (tmp_path / ".cmscan.yaml").write_text(
        "detector:\n  min_body: 30\nlimits:\n  base64_bytes: 0\n"
    )
    code, out, _ = _run(capsys, "scan", str(tmp_path))
    assert code == 0, out


def test_a_discovered_config_cannot_turn_verification_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], standin: StandIn
) -> None:
    """A pull request could otherwise send every key in the repository to its own server."""
    key = make_key()
    standin.add(key)
    (tmp_path / "app.py").write_text(f"KEY = '{key}'\n")
    (tmp_path / ".cmscan.yaml").write_text(
        f"verify:\n  enabled: true\n  base_url: {standin.base_url}\n  timeout: 5\n"
    )
    code, out, err = _run(capsys, "scan", str(tmp_path), "--format", "json")
    assert code == 1
    assert standin.requests == []
    assert json.loads(out)["findings"][0]["status"] == "unverified"
    assert "ignoring verify.enabled, verify.base_url" in err
    # ... nor point a --verify the user asked for at its own server.
    (tmp_path / ".cmscan.yaml").write_text(f"verify:\n  base_url: {standin.base_url}\n")
    elsewhere = StandIn()
    with elsewhere:
        code, out, err = _run(
            capsys, "scan", str(tmp_path), "--verify", "--base-url", elsewhere.base_url
        )
        assert len(elsewhere.requests) == 1
    assert standin.requests == []


def test_an_explicit_config_may_turn_verification_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], standin: StandIn
) -> None:
    key = make_key()
    standin.add(key)
    (tmp_path / "app.py").write_text(f"KEY = '{key}'\n")
    config = tmp_path / "mine.yaml"
    config.write_text(f"verify:\n  enabled: true\n  base_url: {standin.base_url}\n")
    code, out, err = _run(capsys, "scan", str(tmp_path / "app.py"), "--config", str(config))
    assert code == 1 and "ACTIVE" in out.upper()
    assert standin.requests_for(key, "/v1/credits") == 1
    assert key not in out + err


def test_the_environment_beats_the_config(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = make_key()
    (tmp_path / "app.py").write_text(f"KEY = '{key}'\n")
    config = tmp_path / "mine.yaml"
    config.write_text("verify:\n  enabled: true\n  base_url: https://gateway.invalid/v1\n")
    monkeypatch.setenv("CROSSMODEL_BASE_URL", standin.base_url)
    _run(capsys, "scan", str(tmp_path / "app.py"), "--config", str(config))
    assert standin.requests_for(key, "/v1/credits") == 1


def test_history_and_staged_read_the_work_tree_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("fixture", ("tests/fixture.txt", make_key()))
    repo.commit("config", (".cmscan.yaml", "exclude: [tests/]\n"))
    assert _run(capsys, "history", str(repo.path))[0] == 0
    repo.write("tests/new.txt", make_key())
    repo.git("add", "-A")
    assert _run(capsys, "staged", str(repo.path / "tests"))[0] == 0
