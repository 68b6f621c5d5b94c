"""Whether a provider really sent a webhook: each provider's signature scheme.

- Twilio: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, URL + each form
  parameter's name and value, sorted by name)).
- Plivo (V3): ``X-Plivo-Signature-V3`` = base64(HMAC-SHA256(auth token,
  URL + "?" + sorted name-value pairs + "." + ``X-Plivo-Signature-V3-Nonce``)),
  possibly several, comma-separated.
- Telnyx: ``telnyx-signature-ed25519`` = Ed25519 over ``timestamp|raw body`` with
  the account's public key; ``telnyx-timestamp`` within five minutes.

Every comparison is constant-time; a missing header is a failed check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TELNYX_TOLERANCE_SECS = 300


def _pairs_joined(form: Iterable[tuple[str, str]]) -> str:
    return "".join(name + value for name, value in sorted(form))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def twilio_signature(auth_token: str, url: str, form: Iterable[tuple[str, str]]) -> str:
    data = url + _pairs_joined(form)
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_valid(
    auth_token: str, url: str, form: Iterable[tuple[str, str]], headers: Mapping[str, str]
) -> bool:
    given = headers.get("x-twilio-signature", "")
    return bool(given) and _same(given, twilio_signature(auth_token, url, form))


def plivo_signature(auth_token: str, url: str, form: Iterable[tuple[str, str]], nonce: str) -> str:
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    pairs_in_url = sorted(parse_qsl(parts.query, keep_blank_values=True))
    query = "&".join(f"{name}={value}" for name, value in pairs_in_url)
    pairs = _pairs_joined(form)
    if query:
        data = f"{base}?{query}" + (f".{pairs}" if pairs else "")
    else:
        data = f"{base}?{pairs}" if pairs else base
    signed = f"{data}.{nonce}"
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def plivo_valid(
    auth_token: str, url: str, form: Iterable[tuple[str, str]], headers: Mapping[str, str]
) -> bool:
    given = headers.get("x-plivo-signature-v3", "")
    nonce = headers.get("x-plivo-signature-v3-nonce", "")
    if not given or not nonce:
        return False
    expected = plivo_signature(auth_token, url, list(form), nonce)
    return any(_same(candidate.strip(), expected) for candidate in given.split(","))


def telnyx_valid(
    public_key: str, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> bool:
    signature = headers.get("telnyx-signature-ed25519", "")
    stamp = headers.get("telnyx-timestamp", "")
    try:
        age = abs((time.time() if now is None else now) - int(stamp))
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        key.verify(base64.b64decode(signature), stamp.encode() + b"|" + body)
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return age <= TELNYX_TOLERANCE_SECS
