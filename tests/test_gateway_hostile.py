"""A hostile or broken gateway: huge answers, a slow drip, keys echoed back, bad URLs.
cmscan stays bounded in time and memory and sends the key nowhere else."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from cmscan.gateway import Gateway
from cmscan.gatewayconfig import GatewaySettings
from cmscan.keys import Key
from cmscan.standin import Behaviour, StandIn
from tests.keygen import make_key
from tests.runner import cmscan_executable

# Linux carries a process's peak RSS across exec, so a child forked straight from pytest
# would report pytest's own size: a small interpreter in between starts the count afresh.
_MEASURE = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stdout)
_, status, usage = os.wait4(process.pid, 0)
sys.stdout.flush()
print(f"\\npeak-rss-kib={usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _verify_process(
    base_url: str, key: str, *extra: str, timeout: float = 2.0
) -> tuple[int, str, float, int]:
    """``cmscan verify`` as a real process: exit code, all output, seconds, peak RSS (KiB)."""
    started = time.monotonic()
    command = [*cmscan_executable(), "verify", "--base-url", base_url]
    command += ["--verify-timeout", str(timeout), "-v", *extra]
    process = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        input=f"{key}\n".encode(),
        capture_output=True,
        check=False,
    )
    output, _, peak = process.stdout.decode().rpartition("\npeak-rss-kib=")
    return process.returncode, output, time.monotonic() - started, int(peak)


def test_a_huge_answer_is_cut_off_in_bounded_memory() -> None:
    key = make_key()
    with StandIn() as server:
        server.add(key, Behaviour(huge_body=512 << 20))
        code, output, seconds, peak_kib = _verify_process(server.base_url, key)
    assert code == 0 and "UNKNOWN" in output.upper() and "larger than 1,048,576 bytes" in output
    assert seconds < 10
    assert peak_kib < 60_000  # 28 MB measured; the 512 MB answer was never held
    assert key not in output


def test_a_slow_drip_meets_the_deadline() -> None:
    key = make_key()
    with StandIn() as server:
        server.add(key, Behaviour(drip=0.2))  # about 20 s for the whole answer
        started = time.monotonic()
        verdict = Gateway(GatewaySettings(base_url=server.base_url, timeout=1.0)).verify(Key(key))
        assert time.monotonic() - started < 3
    assert verdict.status == "unknown" and "longer than the timeout" in (verdict.reason or "")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_gateway_that_echoes_the_key_is_not_repeated(fmt: str) -> None:
    key = make_key()
    with StandIn() as server:
        server.add(key, Behaviour(echo_key=True))
        code, output, _, _ = _verify_process(server.base_url, key, "--format", fmt)
    assert code == 0 and "INVALID" in output.upper()
    assert key not in output and key[3:] not in output


def test_odd_headers_do_not_steer_the_client() -> None:
    key = make_key()
    with StandIn() as server, StandIn() as elsewhere:
        hostile = {
            "Location": f"{elsewhere.base_url}/credits",
            "Retry-After": "soon",
            "Set-Cookie": "session=1",
        }
        server.add(key, Behaviour(fail_first=1, fail_status=503, extra_headers=hostile))
        verdict = Gateway(GatewaySettings(base_url=server.base_url, timeout=2.0)).verify(Key(key))
        assert verdict.status == "active"  # retried once with backoff, then answered
        assert elsewhere.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/v1\r\nX-Injected: 1",
        "http://127.0.0.1:9/v1 HTTP/1.1\r\nHost: evil.example",
        "http://127.0.0.1:9/v1\nAuthorization: Bearer x",
        "https://api.crossmodel.ai\t/v1",
    ],
)
def test_header_injection_in_the_base_url_is_refused(url: str, tmp_path: Path) -> None:
    key = make_key()
    code, output, _, _ = _verify_process(url, key)
    assert code == 2 and "Traceback" not in output
    assert key not in output
