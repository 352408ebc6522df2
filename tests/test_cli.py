"""The CLI through click's CliRunner and as a real subprocess: reports, exit codes, leaks."""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmscan import __version__
from cmscan.cli import cli, main
from tests.keygen import BASE62, make_key
from tests.runner import cmscan_executable

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CMSCAN_UPDATE_GOLDEN") == "1"


def run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A small tree with two keys in four places (seeded, so reports are reproducible)."""
    rng = random.Random(4242)
    first, second = make_key(48, BASE62, rng), make_key(40, BASE62, rng)
    (tmp_path / "web" / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "logs").mkdir()
    (tmp_path / "web" / "dist" / "assets" / "app.js").write_text(
        'const client=new Api({key:"' + first + '"});\n'
    )
    (tmp_path / ".env").write_text(f"# local\nCROSSMODEL_API_KEY={first}\n")
    (tmp_path / "logs" / "access.log").write_text(
        '10.0.0.1 - - "GET / HTTP/1.1" 200\n'
        f'10.0.0.2 - - "GET /v1/models HTTP/1.1" 200 auth="Bearer {second}"\n'
    )
    (tmp_path / "cache.bin").write_bytes(b"\x00\x01\x02" + first.encode() + b"\x00")
    (tmp_path / "README.md").write_text("Set CROSSMODEL_API_KEY=cm-YOUR_KEY first.\n")
    monkeypatch.chdir(tmp_path)
    return [first, second]


def check_golden(name: str, text: str) -> None:
    text = text.replace(__version__, "<version>")
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text()


def test_text_report_golden(project: list[str]) -> None:
    code, out, err = run("scan", ".")
    assert code == 1
    check_golden("scan.txt", out)
    assert err == ""


def test_json_report_golden(project: list[str]) -> None:
    code, out, _ = run("scan", "--format", "json", ".")
    assert code == 1
    check_golden("scan.json", out)


def test_json_report_fields(project: list[str]) -> None:
    _, out, _ = run("scan", "--format", "json")
    report = json.loads(out)
    assert set(report) == {"cmscan_version", "findings", "summary"}
    assert report["cmscan_version"] == __version__
    required = {
        "fingerprint", "key", "path", "line", "column", "source", "commit", "author", "date",
        "status", "balance_usd", "advice",
    }  # fmt: skip
    for finding in report["findings"]:
        assert required <= set(finding)
        assert len(finding["fingerprint"]) == 64 and finding["status"] == "unverified"
        assert finding["key"].startswith("cm-") and "\u2026" in finding["key"]
        assert finding["advice"] and all(isinstance(step, str) for step in finding["advice"])
    summary = report["summary"]
    assert summary["findings"] == 4 and summary["keys"] == 2
    assert summary["by_status"] == {"unverified": 2}
    assert summary["files"] == 5 and summary["skipped"] == []
    by_path = {f["path"]: f for f in report["findings"]}
    assert (by_path["cache.bin"]["line"], by_path["cache.bin"]["column"]) == (None, None)
    assert (by_path[".env"]["line"], by_path[".env"]["column"]) == (2, 20)


def test_advice_depends_on_where_the_key_leaked(project: list[str]) -> None:
    _, out, _ = run("scan", "--format", "json")
    advice = {f["path"]: " ".join(f["advice"]) for f in json.loads(out)["findings"]}
    assert "every browser" in advice["web/dist/assets/app.js"]
    assert "behind your own server" in advice["web/dist/assets/app.js"]
    assert "stop logging request headers" in advice["logs/access.log"]
    assert "config file" in advice[".env"]
    for steps in advice.values():
        assert "disable it now" in steps and "CROSSMODEL_API_KEY" in steps


@pytest.mark.parametrize(
    "args, expected",
    [
        ((), 1),
        (("--fail-on", "any"), 1),
        (("--fail-on", "active"), 0),
        (("--fail-on", "none"), 0),
    ],
)
def test_exit_codes_follow_fail_on(
    project: list[str], args: tuple[str, ...], expected: int
) -> None:
    assert run("scan", *args, ".")[0] == expected


def test_clean_tree_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("cm-tooltip-autocomplete-disabled\n")
    code, out, _ = run("scan", str(tmp_path))
    assert code == 0
    assert out.startswith("No CrossModel keys found.")


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "/nonexistent/path"),
        ("scan", "--format", "xml", "."),
        ("scan", "--fail-on", "sometimes", "."),
        ("scan", "--no-such-option"),
        ("frobnicate",),
    ],
)
def test_usage_errors_exit_two(args: tuple[str, ...]) -> None:
    assert main(list(args)) == 2


def test_unexpected_errors_exit_three_without_the_key(
    project: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import cmscan.scanner

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"bad thing near {project[0]}")

    monkeypatch.setattr(cmscan.scanner, "scan_paths", explode)
    assert main(["scan", "."]) == 3
    captured = capsys.readouterr()
    assert "RuntimeError" in captured.err
    assert project[0] not in captured.err + captured.out
    assert project[0][:7] in captured.err  # the masked form is there instead


def test_output_file_gets_the_report_and_stdout_stays_empty(project: list[str]) -> None:
    code, out, _ = run("scan", "--format", "json", "--output", "report.json", ".")
    assert code == 1 and out == ""
    assert json.loads(Path("report.json").read_text())["summary"]["keys"] == 2
    assert not [p for p in Path().iterdir() if p.name.startswith(".cmscan-")]


def test_output_to_an_unwritable_place_is_a_usage_error(project: list[str]) -> None:
    assert run("scan", "--output", "no/such/dir/report.txt", ".")[0] == 2


def test_stdin_dash(project: list[str]) -> None:
    key = make_key()
    code, out, _ = run("scan", "--format", "json", "-", input=f"hello\n  {key}\n".encode())
    assert code == 1
    (finding,) = json.loads(out)["findings"]
    assert (finding["path"], finding["line"], finding["column"], finding["source"]) == (
        "-",
        2,
        3,
        "stdin",
    )


def test_excludes_on_the_command_line(project: list[str]) -> None:
    _, out, _ = run("scan", "--format", "json", "--exclude", "web/", "--exclude", "*.bin")
    assert sorted(f["path"] for f in json.loads(out)["findings"]) == [".env", "logs/access.log"]


def test_verbose_and_quiet(project: list[str]) -> None:
    _, _, err = run("scan", "-v", ".")
    assert "scanned 5 files" in err
    _, _, err = run("scan", "-q", ".")
    assert err == ""


@pytest.mark.parametrize("format_", ["text", "json"])
@pytest.mark.parametrize("extra", [(), ("-v",), ("--output", "out.txt")])
def test_no_full_key_in_any_output(
    project: list[str], format_: str, extra: tuple[str, ...]
) -> None:
    code, out, err = run("scan", "--format", format_, *extra, ".")
    assert code == 1
    written = Path("out.txt").read_text() if Path("out.txt").exists() else ""
    for key in project:
        for text in (out, err, written):
            assert key not in text
            assert key[3:] not in text


def test_no_full_key_in_error_messages(capsys: pytest.CaptureFixture[str]) -> None:
    key = make_key()
    assert main(["scan", key]) == 2
    assert main(["scan", "--format", key]) == 2
    captured = capsys.readouterr()
    assert key not in captured.out + captured.err


def test_real_subprocess_scan_and_stdin(project: list[str]) -> None:
    command = cmscan_executable()
    completed = subprocess.run(
        [*command, "scan", "--format", "json", "-"],
        input=f"x {project[1]}\n".encode(),
        capture_output=True,
        check=False,
    )
    assert completed.returncode == 1
    assert json.loads(completed.stdout)["summary"]["keys"] == 1
    assert project[1].encode() not in completed.stdout + completed.stderr
    version = subprocess.run([*command, "--version"], capture_output=True, text=True, check=True)
    assert __version__ in version.stdout


def test_output_to_a_fifo_or_device_is_written_not_replaced(
    project: list[str], tmp_path: Path
) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, _ = run("scan", "--format", "json", "--output", str(fifo), ".")
    reader.join(timeout=10)
    assert code == 1
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a FIFO, not replaced by a file
    assert json.loads(received[0])["summary"]["keys"] >= 1


def test_output_through_a_symlink_replaces_the_target(project: list[str], tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    run("scan", "--format", "json", "--output", str(link), ".")
    assert link.is_symlink() and json.loads(real.read_text())["findings"]
