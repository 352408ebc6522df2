"""--format github: workflow annotations, escaped so that hostile paths stay one annotation."""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.keys import Key
from cmscan.model import Finding, Report, ScanResult, Skipped, Verdict
from cmscan.report import Format, render
from cmscan.report.github_format import Annotation, escape_data, escape_property
from cmscan.standin import ACCOUNT_DISABLED, INACTIVE, INVALID, Behaviour, StandIn
from tests.keygen import BASE62, make_key
from tests.runner import cmscan_executable

# -- how the runner reads workflow commands (actions/runner ActionCommand.TryParseV2)


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    data: str


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def parse_command(line: str) -> Command | None:
    """A workflow command as the runner parses one output line; ``None`` if not one."""
    line = line.strip()
    if not line.startswith("::"):
        return None
    end = line.find("::", 2)
    if end < 0:
        return None
    info, data = line[2:end], line[end + 2 :]
    name, _, rest = info.partition(" ")
    properties: dict[str, str] = {}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        properties[key] = _unescape_property(value)
    return Command(name, properties, _unescape_data(data))


def commands(output: str) -> Iterator[Command]:
    """The commands in a step's output, honouring ``::stop-commands::TOKEN`` … ``::TOKEN::``."""
    stopped: str | None = None
    for line in output.splitlines():
        if stopped is not None:
            if line.strip() == f"::{stopped}::":
                stopped = None
            continue
        command = parse_command(line)
        if command is None:
            continue
        if command.name == "stop-commands":
            stopped = command.data
            continue
        yield command


ANNOTATIONS = {"error", "warning", "notice"}

# -- escaping


def test_escaping_follows_the_runner() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a,b:c%d\ne\rf") == "a%2Cb%3Ac%25d%0Ae%0Df"
    hostile = "x,line=1::error file=evil::%0A\n::add-mask::y"
    line = Annotation("error", hostile, hostile, file=hostile, line=3, col=4).command()
    assert "\n" not in line and "\r" not in line
    parsed = parse_command(line)
    assert parsed is not None
    assert parsed.name == "error"
    assert parsed.properties == {"file": hostile, "line": "3", "col": "4", "title": hostile}
    assert parsed.data == hostile


def test_unknown_parts_are_left_out() -> None:
    assert Annotation("warning", "t", "m").command() == "::warning title=t::m"
    assert Annotation("error", "t", "m", file="a.js").command() == "::error file=a.js,title=t::m"
    # a column without a line means nothing
    assert Annotation("error", "t", "m", file="a.js", col=3).command() == (
        "::error file=a.js,title=t::m"
    )


# -- a canonical in-memory report


def _keys() -> list[str]:
    rng = random.Random(6)
    return [make_key(40, BASE62, rng) for _ in range(4)]


def _report() -> tuple[Report, list[str]]:
    keys = _keys()
    live, dead, unknown, gone = (Key(key) for key in keys)
    findings = (
        Finding(dead, "config/.env", 2, 20, "file", offset=30, context="KEY=" + dead.masked),
        Finding(live, "web/dist/app.js", 1, 48, "file", offset=47),
        Finding(live, "app.apk!assets/config.json", 3, 9, "archive", offset=80),
        Finding(unknown, "cache.bin", None, None, "file", offset=1234),
        Finding(gone, None, 1, 5, "git", offset=4, commit="ab" * 20, author="Ada", date="d"),
    )
    verdicts = {
        live.fingerprint: Verdict("active", balance_usd=12.34),
        dead.fingerprint: Verdict("inactive"),
        unknown.fingerprint: Verdict("unknown", reason="timed out"),
        gone.fingerprint: Verdict("invalid"),
    }
    skipped = (Skipped("logs/old.gz", "corrupt gzip stream"),)
    return Report(ScanResult(findings, 5, 500, skipped), "0.0.0", verdicts), keys


def test_one_annotation_per_place_most_urgent_first() -> None:
    report, keys = _report()
    out = render(report, Format.GITHUB)
    assert not any(key in out for key in keys)
    lines = out.splitlines()
    assert len(lines) == 6  # five places and one "not scanned" warning
    parsed = [parse_command(line) for line in lines]
    assert all(command is not None for command in parsed)
    levels = [(c.name, c.properties.get("file"), c.properties.get("line")) for c in parsed if c]
    assert levels == [
        ("error", "web/dist/app.js", "1"),  # active first
        ("error", "app.apk", None),  # a member's line is not a line of the outer file
        ("error", "cache.bin", None),  # unknown; binary: no line
        ("warning", "config/.env", "2"),  # inactive
        ("notice", None, None),  # invalid, in a commit message: no file
        ("warning", None, None),  # what was not scanned
    ]
    first = parsed[0]
    assert first is not None
    assert first.properties["col"] == "48"
    assert first.properties["title"] == (
        f"Leaked CrossModel API key {Key(keys[0]).masked} (active, balance $12.34)"
    )
    assert first.data.startswith(
        f"CrossModel API key {Key(keys[0]).masked} (active, balance $12.34) in "
        "web/dist/app.js, line 1, column 48.\nWhat to do:\n1. URGENT"
    )
    member = parsed[1]
    assert member is not None and "assets/config.json in app.apk, line 3" in member.data
    assert parsed[2] is not None and "Verification: timed out." in parsed[2].data
    assert parsed[2] is not None and "byte 1234 (binary content)" in parsed[2].data
    message = parsed[4]
    assert message is not None and "the message of commit abababababab by Ada" in message.data
    skipped = parsed[5]
    assert skipped is not None
    assert skipped.properties == {"title": "cmscan: not scanned"}
    assert skipped.data == "1 path could not be scanned:\nlogs/old.gz: corrupt gzip stream"


def test_empty_report_is_empty() -> None:
    assert render(Report(ScanResult((), 3, 10, ()), "0.0.0"), Format.GITHUB) == ""


# -- through the command line, on real files


HOSTILE_NAMES = [
    "we,ird:name.js",
    "new\nline.js",
    "carriage\rreturn.js",
    "100%25 literal%0A.js",
    "x::error file=evil::owned.js",
    "title=forged,line=99.js",
]


def test_hostile_paths_stay_one_annotation_each(tmp_path: Path) -> None:
    key = make_key()
    root = tmp_path / "tree"
    root.mkdir()
    for name in HOSTILE_NAMES:
        (root / name).write_text(f"\n  token = '{key}'\n")
    process = subprocess.run(
        [*cmscan_executable(), "scan", "--format", "github", str(root)],
        capture_output=True,
        text=True,
    )
    assert process.returncode == 1
    assert key not in process.stdout + process.stderr
    lines = process.stdout.splitlines()
    assert len(lines) == len(HOSTILE_NAMES)
    parsed = [parse_command(line) for line in lines]
    assert sorted(c.properties["file"] for c in parsed if c) == sorted(HOSTILE_NAMES)
    for command in parsed:
        assert command is not None and command.name == "error"
        assert set(command.properties) == {"file", "line", "col", "title"}
        assert (command.properties["line"], command.properties["col"]) == ("2", "12")
        assert command.properties["file"] in command.data


def test_statuses_set_the_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = {status: make_key() for status in ("active", INACTIVE, INVALID, ACCOUNT_DISABLED)}
    for status, key in keys.items():
        (tmp_path / f"{status}.js").write_text(f'k = "{key}"\n')
    with StandIn() as gateway:
        for status, key in keys.items():
            gateway.add(key, Behaviour(status=status))
        code = main(
            ["scan", str(tmp_path), "--format", "github", "--verify", "--base-url",
             gateway.base_url]
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert not any(key in out + err for key in keys.values())
    levels = {c.properties["file"]: c.name for c in map(parse_command, out.splitlines()) if c}
    assert levels == {
        "active.js": "error",
        "inactive.js": "warning",
        "account_disabled.js": "warning",
        "invalid.js": "notice",
    }
    assert out.splitlines()[0].startswith("::error file=active.js,")


def test_archives_binary_and_skipped_files(tmp_path: Path) -> None:
    key = make_key()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("inner/app.js", f"\n\nconst k = '{key}';\n")
    (tmp_path / "bundle.zip").write_bytes(archive.getvalue())
    (tmp_path / "data.bin").write_bytes(b"\x00\x01" + key.encode() + b"\x00")
    (tmp_path / "old.log.gz").write_bytes(gzip.compress(b"hello\n" * 1000)[:40])
    process = subprocess.run(
        [*cmscan_executable(), "scan", "--format", "github", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 1
    assert key not in process.stdout + process.stderr
    parsed = [c for c in map(parse_command, process.stdout.splitlines()) if c]
    by_file = {c.properties.get("file"): c for c in parsed}
    assert set(by_file) == {"bundle.zip", "data.bin", None}
    assert "line" not in by_file["bundle.zip"].properties
    assert "inner/app.js in bundle.zip, line 3, column 12" in by_file["bundle.zip"].data
    assert "line" not in by_file["data.bin"].properties
    assert by_file[None].name == "warning" and "old.log.gz" in by_file[None].data


def test_history_findings_name_the_commit(tmp_path: Path) -> None:
    from tests.gitutil import GitRepo

    key, in_message = make_key(), make_key()
    repo = GitRepo(tmp_path / "repo")
    repo.commit("initial", ("README.md", "hello\n"))
    commit = repo.commit(f"add config\n\nused {in_message} here", ("app.cfg", f"key={key}\n"))
    process = subprocess.run(
        [*cmscan_executable(), "history", "--format", "github", str(repo.path)],
        capture_output=True,
        text=True,
    )
    assert process.returncode == 1
    assert key not in process.stdout and in_message not in process.stdout
    parsed = [c for c in map(parse_command, process.stdout.splitlines()) if c]
    by_file = {c.properties.get("file"): c for c in parsed}
    assert set(by_file) == {"app.cfg", None}
    assert by_file["app.cfg"].properties["line"] == "1"
    assert f"added in commit {commit[:12]} by Ada Lovelace" in by_file["app.cfg"].data
    assert f"the message of commit {commit[:12]} by Ada Lovelace" in by_file[None].data
    assert ", line 3, column 6." in by_file[None].data


def test_json_and_github_agree_on_the_places(tmp_path: Path) -> None:
    keys = [make_key() for _ in range(3)]
    for index, key in enumerate(keys):
        (tmp_path / f"f{index}.txt").write_text(f"{key}\n{keys[0]}\n")
    outputs = {}
    for format_ in ("json", "github"):
        process = subprocess.run(
            [*cmscan_executable(), "scan", "--format", format_, "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        outputs[format_] = process.stdout
    places = {(f["path"], str(f["line"])) for f in json.loads(outputs["json"])["findings"]}
    parsed = [c for c in map(parse_command, outputs["github"].splitlines()) if c]
    assert {(c.properties["file"], c.properties["line"]) for c in parsed} == places
    assert len(parsed) == 6
