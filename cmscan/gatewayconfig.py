"""Verification settings: light enough to import at start-up (the client is not)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BASE_URL = "https://api.crossmodel.ai/v1"
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Tries per request in all (the first and up to three retries)."""
    base_delay: float = 0.5
    """Backoff before retry n is ``base_delay * 2**(n-1)``, with ±50% jitter (0.5, 1, 2 s)."""
    max_retry_after: float = 30.0
    """A longer ``Retry-After`` is not waited for: the key is ``unknown``."""


@dataclass(frozen=True)
class GatewaySettings:
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    retry: RetryPolicy = field(default_factory=RetryPolicy)
