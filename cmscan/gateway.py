"""Ask the CrossModel gateway whether keys are live: ``GET /credits``, then ``/usage``.

The only code that sends a key anywhere, and only when the user asked (``--verify``). Each
unique key is sent to ``/credits`` once (plus retries), and to ``/usage`` once more if it is
active. Redirects are never followed (the key must not travel to another host), TLS is
verified, the base URL must be ``https://`` (``http://`` only to a loopback address), every
request has a deadline, and answers are read up to a size limit. A request that fails in
any way makes that key ``unknown`` with the reason; it never stops the scan.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import random
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cmscan import __version__
from cmscan.errors import UsageError
from cmscan.gatewayconfig import GatewaySettings
from cmscan.keys import Key
from cmscan.model import Status, Usage, Verdict

MAX_ANSWER_BYTES = 1 << 20
"""A larger answer is not a gateway's answer: the key becomes ``unknown``."""
RETRY_STATUSES = frozenset({429, 500, 502, 503})
_READ_BLOCK = 64 << 10

_KNOWN_401_CODES: dict[str | None, Status] = {
    "api_key_inactive": "inactive",
    "invalid_api_key": "invalid",
    "user_inactive": "account_disabled",
}


def check_base_url(url: str) -> str:
    """The base URL without a trailing slash; :class:`UsageError` unless it is safe to use."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        # urllib would send these into the request line or headers (header injection)
        raise UsageError("the base URL must not contain spaces or control characters")
    parsed = urllib.parse.urlsplit(url)
    if parsed.username is not None or parsed.password is not None:
        raise UsageError("the base URL must not contain credentials")
    if parsed.query or parsed.fragment:
        raise UsageError("the base URL must not have a query or fragment")
    host = parsed.hostname or ""
    if parsed.scheme == "https" and host:
        return url.rstrip("/")
    if parsed.scheme == "http" and _is_loopback(host):
        return url.rstrip("/")
    raise UsageError(
        f"refusing base URL {url!r}: keys are only sent over https:// "
        "(or http:// to a loopback address)"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Refused(Exception):
    """The answer cannot be used (a redirect, too large, too slow): the key is unknown."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


@dataclass
class _Answer:
    status: int
    body: bytes
    retry_after: float | None = None


class Gateway:
    """Verifies keys against one base URL; safe to use from several threads."""

    def __init__(
        self,
        settings: GatewaySettings,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._base = check_base_url(settings.base_url)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        host = urllib.parse.urlsplit(self._base).hostname or ""
        if _is_loopback(host):
            handlers.append(urllib.request.ProxyHandler({}))  # never via a proxy to loopback
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context()))
        self._opener = urllib.request.build_opener(*handlers)

    def verify_all(self, keys: Iterable[Key]) -> dict[str, Verdict]:
        """A verdict for each distinct key, at most ``concurrency`` requests in flight."""
        unique = list({key.fingerprint: key for key in keys}.values())
        if not unique:
            return {}
        workers = max(1, min(self._settings.concurrency, len(unique)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cmscan-verify") as pool:
            verdicts = list(pool.map(self.verify, unique))
        return {key.fingerprint: verdict for key, verdict in zip(unique, verdicts, strict=True)}

    def verify(self, key: Key) -> Verdict:
        """The verdict on one key; whatever goes wrong makes it ``unknown``, never raises."""
        try:
            return self._verify(key)
        except Exception as error:  # a verification must never stop the scan
            return Verdict("unknown", reason=f"unexpected error ({type(error).__name__})")

    def _verify(self, key: Key) -> Verdict:
        try:
            answer = self._request(key, "credits")
        except _Refused as refused:
            return Verdict("unknown", reason=str(refused))
        if answer.status == 200:
            try:
                balance = _balance(answer.body)
            except ValueError as error:
                return Verdict("unknown", reason=f"unparseable /credits answer: {error}")
            usage, note = self._usage(key)
            return Verdict("active", balance_usd=balance, usage=usage, reason=note)
        if answer.status == 401:
            code = _error_code(answer.body)
            if code in _KNOWN_401_CODES:
                return Verdict(_KNOWN_401_CODES[code])
            return Verdict("invalid", reason=_why_401(code))
        return Verdict("unknown", reason=_describe_failure(answer))

    def _usage(self, key: Key) -> tuple[Usage | None, str | None]:
        try:
            answer = self._request(key, "usage")
        except _Refused as refused:
            return None, f"usage unavailable: {refused}"
        if answer.status != 200:
            return None, f"usage unavailable: {_describe_failure(answer)}"
        try:
            return _parse_usage(answer.body), None
        except ValueError as error:
            return None, f"usage unavailable: unparseable answer ({error})"

    def _request(self, key: Key, endpoint: str) -> _Answer:
        """One GET, retried for 429/500/502/503 and connection errors; :class:`_Refused`
        when no usable answer came."""
        policy = self._settings.retry
        last = ""
        for attempt in range(1, policy.attempts + 1):
            try:
                answer = self._get(key, endpoint)
            except _Refused:
                raise
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                last = _network_reason(error)
                if isinstance(getattr(error, "reason", error), ssl.SSLCertVerificationError):
                    raise _Refused(last) from None  # an untrusted certificate stays untrusted
                retry_after = None
            else:
                if answer.status not in RETRY_STATUSES:
                    return answer
                last = _describe_failure(answer)
                retry_after = answer.retry_after
            if attempt == policy.attempts:
                break
            delay = self._backoff(attempt)
            if retry_after is not None:
                if retry_after > policy.max_retry_after:
                    raise _Refused(
                        f"{last}; Retry-After {retry_after:.0f} s is longer than "
                        f"{policy.max_retry_after:.0f} s"
                    )
                delay = max(delay, retry_after)
            self._sleep(delay)
        raise _Refused(f"{last} (after {policy.attempts} attempts)")

    def _backoff(self, attempt: int) -> float:
        with self._rng_lock:
            jitter = self._rng.uniform(0.5, 1.5)
        return self._settings.retry.base_delay * 2 ** (attempt - 1) * jitter

    def _get(self, key: Key, endpoint: str) -> _Answer:
        request = urllib.request.Request(
            f"{self._base}/{endpoint}",
            headers={
                "Authorization": f"Bearer {key.reveal()}",
                "Accept": "application/json",
                "User-Agent": f"cmscan/{__version__}",
            },
            method="GET",
        )
        deadline = time.monotonic() + self._settings.timeout
        try:
            response = self._opener.open(request, timeout=self._settings.timeout)
        except urllib.error.HTTPError as error:
            with error:
                if 300 <= error.code < 400:
                    raise _Refused(
                        f"the gateway answered with a redirect (HTTP {error.code}); "
                        "not followed, so the key went nowhere else"
                    ) from None
                body = _read(error, deadline)
                return _Answer(error.code, body, _retry_after(error.headers.get("Retry-After")))
        with response:
            return _Answer(response.status, _read(response, deadline))


def _read(stream: Any, deadline: float) -> bytes:
    """The answer's body, up to :data:`MAX_ANSWER_BYTES`, before ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise _Refused("the answer took longer than the timeout")
        try:
            # read1: whatever one receive brings, so a server that drips its answer a
            # byte at a time still meets the deadline
            chunk = stream.read1(_READ_BLOCK)
        except OSError as error:
            raise _Refused(f"reading the answer failed: {_network_reason(error)}") from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise _Refused(f"the answer is larger than {MAX_ANSWER_BYTES:,} bytes")
        chunks.append(chunk)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError("not JSON") from error


def _balance(body: bytes) -> float:
    data = _json(body)
    micro = data.get("balance_micro") if isinstance(data, dict) else None
    if not isinstance(micro, int) or isinstance(micro, bool):
        raise ValueError("no balance_micro")
    return micro / 1_000_000


def _parse_usage(body: bytes) -> Usage:
    data = _json(body)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    spent: list[float] = []
    for window in ("daily", "weekly", "monthly"):
        entry = data.get(window)
        cost = entry.get("cost_micro") if isinstance(entry, dict) else None
        if not isinstance(cost, int) or isinstance(cost, bool):
            raise ValueError(f"no {window}.cost_micro")
        spent.append(cost / 1_000_000)
    requests = data["daily"].get("request_count")
    return Usage(
        today_usd=spent[0],
        week_usd=spent[1],
        month_usd=spent[2],
        requests_today=requests if isinstance(requests, int) else None,
    )


def _error_code(body: bytes) -> str | None:
    try:
        data = _json(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _why_401(code: str | None) -> str:
    return f"HTTP 401 with code {code!r}" if code else "HTTP 401 without an error code"


def _describe_failure(answer: _Answer) -> str:
    if answer.status == 429:
        return "rate limited (HTTP 429)"
    return f"HTTP {answer.status}"


def _network_reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS error: the certificate is not trusted ({reason.verify_message})"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({type(reason).__name__})"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return f"network error ({reason.strerror})"
    return f"network error ({type(reason).__name__})"
