"""``cmscan demo``: a scan and a live verification that never leave this machine.

Three keys are made up on the spot (so no key is stored anywhere), put into a sample
frontend bundle held in memory, scanned like stdin, and verified against a gateway
stand-in (:mod:`cmscan.standin`) on 127.0.0.1 that knows one as live with money being
spent, one as disabled, and none of the third.
"""

from __future__ import annotations

import dataclasses
import io
import secrets
import string

from cmscan import __version__
from cmscan.gateway import Gateway
from cmscan.gatewayconfig import GatewaySettings
from cmscan.model import Report
from cmscan.report import Format, render
from cmscan.scanner import ScanOptions, scan_paths
from cmscan.standin import INACTIVE, Behaviour, StandIn

_ALPHABET = string.ascii_letters + string.digits
SAMPLE_PATH = "web/dist/assets/app.js"


def made_up_key() -> str:
    """A random key-shaped string, made here so that no key is stored anywhere."""
    return "cm-" + "".join(secrets.choice(_ALPHABET) for _ in range(48))


def run_demo(format: Format) -> tuple[str, str]:
    """The rendered report, and the stand-in's address."""
    live, disabled, stranger = (made_up_key() for _ in range(3))
    bundle = (
        f"/* {SAMPLE_PATH} (sample) */\n"
        f'const client = new CrossModel({{apiKey: "{live}"}});\n'
        f"// old key, kept for reference: {disabled}\n"
        f'fetch("/v1/chat", {{headers: {{Authorization: "Bearer {stranger}"}}}});\n'
    ).encode()
    with StandIn() as gateway:
        gateway.add(
            live,
            Behaviour(balance_micro=42_500_000, spend_micro=(3_200_000, 18_750_000, 40_100_000)),
        )
        gateway.add(disabled, Behaviour(status=INACTIVE))
        scanned = scan_paths(["-"], ScanOptions(), stdin=io.BytesIO(bundle))
        # shown as the bundle it stands for, so the advice is the frontend's
        result = dataclasses.replace(
            scanned,
            findings=tuple(
                dataclasses.replace(finding, path=SAMPLE_PATH, source="file")
                for finding in scanned.findings
            ),
        )
        verdicts = Gateway(GatewaySettings(base_url=gateway.base_url)).verify_all(result.keys)
        base_url = gateway.base_url
    return render(Report(result, __version__, verdicts), format), base_url
