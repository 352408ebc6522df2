"""The key grammar's constants, shared by the detector, the decoders and the scrubber."""

from __future__ import annotations

KEY_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
"""The bytes a key body is made of (and that may not come right before ``cm-`` in text)."""
MIN_BODY = 20
MAX_BODY = 200
