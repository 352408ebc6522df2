"""Verification against a real HTTP stand-in on loopback: every behaviour, exact request counts."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.errors import UsageError
from cmscan.gateway import Gateway, check_base_url
from cmscan.gatewayconfig import GatewaySettings, RetryPolicy
from cmscan.keys import Key
from cmscan.model import Verdict
from cmscan.standin import ACCOUNT_DISABLED, INACTIVE, INVALID, Behaviour, StandIn
from tests.keygen import make_key
from tests.runner import cmscan_executable


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


class Sleeps:
    """Records backoff delays instead of sleeping, so retry tests take no time."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _verify(
    server: StandIn, key: str, sleeps: Sleeps | None = None, timeout: float = 5.0
) -> Verdict:
    settings = GatewaySettings(base_url=server.base_url, timeout=timeout)
    return Gateway(settings, sleep=sleeps or Sleeps()).verify(Key(key))


@pytest.mark.parametrize(
    ("behaviour", "status"),
    [
        (Behaviour(status=INACTIVE), "inactive"),
        (Behaviour(status=INVALID), "invalid"),
        (Behaviour(status=ACCOUNT_DISABLED), "account_disabled"),
        (Behaviour(status=INACTIVE, no_code_401=True), "invalid"),
        (Behaviour(malformed=True), "unknown"),
    ],
)
def test_statuses_and_one_request_each(standin: StandIn, behaviour: Behaviour, status: str) -> None:
    key = make_key()
    standin.add(key, behaviour)
    verdict = _verify(standin, key)
    assert verdict.status == status
    assert verdict.balance_usd is None
    assert standin.requests_for(key) == 1


def test_active_key_has_balance_and_spend(standin: StandIn) -> None:
    key = make_key()
    standin.add(
        key, Behaviour(balance_micro=12_340_000, spend_micro=(1_500_000, 2_000_000, 9_000_000))
    )
    verdict = _verify(standin, key)
    assert (verdict.status, verdict.balance_usd) == ("active", 12.34)
    assert verdict.usage is not None
    assert (verdict.usage.today_usd, verdict.usage.week_usd, verdict.usage.month_usd) == (
        1.5,
        2.0,
        9.0,
    )
    assert standin.requests_for(key, "/v1/credits") == 1
    assert standin.requests_for(key, "/v1/usage") == 1
    assert {r.user_agent for r in standin.requests} == {"cmscan/0.1.0"}


def test_unknown_key_to_the_gateway_is_invalid(standin: StandIn) -> None:
    key = make_key()  # never registered: the stand-in answers invalid_api_key
    assert _verify(standin, key).status == "invalid"


def test_usage_failure_keeps_the_key_active(standin: StandIn) -> None:
    key = make_key()
    standin.add(key, Behaviour(usage_status=404))
    verdict = _verify(standin, key)
    assert verdict.status == "active" and verdict.usage is None
    assert verdict.reason is not None and "usage unavailable" in verdict.reason


def test_429_is_retried_honouring_retry_after(standin: StandIn) -> None:
    key = make_key()
    standin.add(key, Behaviour(fail_first=2, fail_status=429, retry_after="3"))
    sleeps = Sleeps()
    verdict = _verify(standin, key, sleeps)
    assert verdict.status == "active"
    assert standin.requests_for(key, "/v1/credits") == 3
    assert len(sleeps.delays) == 2 and all(delay >= 3 for delay in sleeps.delays)


@pytest.mark.parametrize("fail_status", [500, 502, 503])
def test_server_errors_are_retried_with_backoff_then_unknown(
    standin: StandIn, fail_status: int
) -> None:
    key = make_key()
    standin.add(key, Behaviour(fail_first=100, fail_status=fail_status))
    sleeps = Sleeps()
    verdict = _verify(standin, key, sleeps)
    assert verdict.status == "unknown"
    assert verdict.reason is not None and f"HTTP {fail_status}" in verdict.reason
    assert standin.requests_for(key) == RetryPolicy().attempts
    # exponential with jitter: 0.5, 1, 2 s each within ±50%
    for attempt, delay in enumerate(sleeps.delays):
        assert 0.25 * 2**attempt <= delay <= 0.75 * 2**attempt


def test_transient_error_then_success(standin: StandIn) -> None:
    key = make_key()
    standin.add(key, Behaviour(fail_first=1, fail_status=503))
    assert _verify(standin, key).status == "active"
    assert standin.requests_for(key, "/v1/credits") == 2


@pytest.mark.parametrize("status", [400, 402, 403, 404])
def test_other_errors_are_never_retried(standin: StandIn, status: int) -> None:
    key = make_key()
    standin.add(key, Behaviour(fail_first=100, fail_status=status))
    verdict = _verify(standin, key)
    assert verdict.status == "unknown"
    assert standin.requests_for(key) == 1


def test_retry_after_beyond_the_cap_gives_up(standin: StandIn) -> None:
    key = make_key()
    standin.add(key, Behaviour(fail_first=100, fail_status=429, retry_after="3600"))
    sleeps = Sleeps()
    verdict = _verify(standin, key, sleeps)
    assert verdict.status == "unknown" and sleeps.delays == []
    assert standin.requests_for(key) == 1


def test_redirect_is_never_followed(standin: StandIn) -> None:
    key = make_key()
    with StandIn() as elsewhere:
        standin.add(key, Behaviour(redirect_to=elsewhere.base_url))
        elsewhere.add(key)
        verdict = _verify(standin, key)
        assert verdict.status == "unknown"
        assert verdict.reason is not None and "redirect" in verdict.reason
        assert elsewhere.requests == []
    assert standin.requests_for(key) == 1


def test_slow_answer_times_out(standin: StandIn) -> None:
    key = make_key()
    standin.add(key, Behaviour(delay=2.0))
    verdict = _verify(standin, key, timeout=0.3)
    assert verdict.status == "unknown"
    assert verdict.reason is not None and "timed out" in verdict.reason


def test_connection_refused_is_unknown() -> None:
    with StandIn() as server:
        base = server.base_url
    settings = GatewaySettings(base_url=base, timeout=1.0)
    verdict = Gateway(settings, sleep=Sleeps()).verify(Key(make_key()))
    assert verdict.status == "unknown" and "refused" in (verdict.reason or "")


def test_concurrency_is_bounded_and_each_key_sent_once() -> None:
    keys = [make_key() for _ in range(24)]
    with StandIn(latency=0.05) as server:
        for key in keys:
            server.add(key, Behaviour(status=INACTIVE))
        settings = GatewaySettings(base_url=server.base_url, concurrency=3)
        verdicts = Gateway(settings).verify_all([Key(k) for k in keys + keys])
        assert len(verdicts) == 24
        assert server.max_in_flight <= 3
        assert all(server.requests_for(key) == 1 for key in keys)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.crossmodel.ai/v1",
        "http://10.0.0.1/v1",
        "ftp://127.0.0.1/v1",
        "https://user:pw@api.crossmodel.ai/v1",
        "https:///v1",
    ],
)
def test_unsafe_base_urls_are_refused(url: str) -> None:
    with pytest.raises(UsageError):
        check_base_url(url)


@pytest.mark.parametrize(
    "url", ["https://api.crossmodel.ai/v1/", "http://127.0.0.1:8080/v1", "http://[::1]:9/v1"]
)
def test_safe_base_urls(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


# -- through the command line


def _project(tmp_path: Path, *keys: str) -> Path:
    root = tmp_path / "project"
    (root / "web").mkdir(parents=True)
    for index, key in enumerate(keys):
        (root / "web" / f"f{index}.js").write_text(f'const k = "{key}";\n')
    return root


def test_scan_verify_json_and_fail_on_active(
    standin: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live, dead = make_key(), make_key()
    standin.add(live, Behaviour(spend_micro=(10_000, 20_000, 30_000)))
    standin.add(dead, Behaviour(status=INACTIVE))
    root = _project(tmp_path, live, dead, live)
    args = ["scan", str(root), "--verify", "--base-url", standin.base_url, "--format", "json"]
    assert main([*args, "--fail-on", "active"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    statuses = [finding["status"] for finding in report["findings"]]
    assert sorted(statuses) == ["active", "active", "inactive"]
    active = next(f for f in report["findings"] if f["status"] == "active")
    assert active["balance_usd"] == 12.34
    assert active["usage"]["today_usd"] == 0.01
    assert report["summary"]["by_status"] == {"active": 1, "inactive": 1}
    assert standin.requests_for(live, "/v1/credits") == 1
    assert live not in out + err and dead not in out + err


def test_fail_on_active_passes_without_live_keys(
    standin: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = make_key()
    standin.add(dead, Behaviour(status=INACTIVE))
    root = _project(tmp_path, dead)
    args = ["scan", str(root), "--verify", "--base-url", standin.base_url, "--fail-on", "active"]
    assert main(args) == 0
    assert "INACTIVE" in capsys.readouterr().out


def test_text_report_puts_active_first_and_says_spend(
    standin: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live, dead = make_key(), make_key()
    standin.add(live, Behaviour(spend_micro=(2_500_000, 2_500_000, 2_500_000)))
    standin.add(dead, Behaviour(status=INACTIVE))
    root = _project(tmp_path, dead, live)
    main(["scan", str(root), "--verify", "--base-url", standin.base_url, "-v"])
    out, err = capsys.readouterr()
    first_block = out.split("\n\n")[0]
    assert "ACTIVE" in first_block and "URGENT" in first_block
    assert "spent today $2.50" in first_block
    assert live not in out + err and dead not in out + err


def test_without_verify_nothing_is_sent(
    standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSMODEL_BASE_URL", standin.base_url)
    root = _project(tmp_path, make_key())
    assert main(["scan", str(root)]) == 1
    assert standin.requests == []


def test_env_base_url_and_bad_url_exit_2(
    standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    standin.add(key)
    root = _project(tmp_path, key)
    monkeypatch.setenv("CROSSMODEL_BASE_URL", standin.base_url)
    assert main(["scan", str(root), "--verify", "-q"]) == 1
    assert standin.requests_for(key, "/v1/credits") == 1
    assert main(["scan", str(root), "--verify", "--base-url", "http://example.com/v1"]) == 2


def test_verify_failures_never_leak_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    with StandIn() as server:
        server.add(key, Behaviour(malformed=True))
        root = _project(tmp_path, key)
        for fmt in ("text", "json"):
            main(
                [
                    "scan",
                    str(root),
                    "--verify",
                    "--base-url",
                    server.base_url,
                    "-v",
                    "--format",
                    fmt,
                ]
            )
    with StandIn() as gone:
        base = gone.base_url
    main(["scan", str(root), "--verify", "--base-url", base, "-v", "--verify-timeout", "1"])
    out, err = capsys.readouterr()
    assert "could not be verified" in err
    assert key not in out + err


# -- cmscan verify


def test_verify_command_input_handling(
    standin: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    live, dead = make_key(), make_key()
    standin.add(live)
    standin.add(dead, Behaviour(status=INACTIVE))
    lines = f"\r\n{live}\r\n  {dead}  \n\n{live}\nnot a key at all\ncm-YOUR_KEY\n{live}x = 1\n"
    process = subprocess.run(
        [*cmscan_executable(), "verify", "--base-url", standin.base_url, "--format", "json"],
        input=lines.encode(),
        capture_output=True,
    )
    assert process.returncode == 1  # a live key (--fail-on active is the default)
    report = json.loads(process.stdout)
    assert [r["status"] for r in report["results"]] == ["active", "inactive"]
    assert [r["line"] for r in report["rejected_lines"]] == [6, 7, 8]
    assert report["duplicates"] == 1
    assert standin.requests_for(live, "/v1/credits") == 1
    assert standin.requests_for(dead) == 1
    assert len(standin.requests) == 3  # credits for both, usage for the live one
    everything = process.stdout.decode() + process.stderr.decode()
    assert live not in everything and dead not in everything


def test_verify_command_text_and_no_live_keys(standin: StandIn) -> None:
    dead = make_key()
    standin.add(dead, Behaviour(status=INACTIVE))
    process = subprocess.run(
        [*cmscan_executable(), "verify", "--base-url", standin.base_url],
        input=f"{dead}\n",
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0
    assert "INACTIVE" in process.stdout and dead not in process.stdout


def test_verify_command_takes_no_key_arguments() -> None:
    process = subprocess.run(
        [*cmscan_executable(), "verify", make_key()], capture_output=True, text=True
    )
    assert process.returncode == 2


def test_demo_runs_offline() -> None:
    process = subprocess.run([*cmscan_executable(), "demo"], capture_output=True, text=True)
    assert process.returncode == 0
    assert "ACTIVE" in process.stdout and "INACTIVE" in process.stdout
    assert "nothing left this machine" in process.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed for a cert")
def test_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    cert, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key_file), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key = make_key()
    with StandIn(tls=(str(cert), str(key_file))) as server:
        server.add(key)
        assert server.base_url.startswith("https://")
        verdict = _verify(server, key)
        assert server.requests == []  # the handshake failed before any header was sent
    assert verdict.status == "unknown"
    assert verdict.reason is not None and "not trusted" in verdict.reason
    assert key not in verdict.reason
