"""Signed voice webhooks, as each provider sends them, for tests of the telephony routes."""

from __future__ import annotations

import base64
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rtvi_server.sessions.telephony.signatures import plivo_signature, twilio_signature

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-auth-SENTINEL"
TELNYX_KEY = "telnyx-api-SENTINEL"
PLIVO_ID = "MAPLIVOSENTINEL00000"
PLIVO_TOKEN = "plivo-auth-SENTINEL"


@dataclass
class Signer:
    """The providers' credentials, and requests signed with them."""

    telnyx_private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def telnyx_public(self) -> str:
        raw = self.telnyx_private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def env(self, api_base: str) -> dict[str, str]:
        return {
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_API_BASE_URL": api_base,
            "TELNYX_API_KEY": TELNYX_KEY,
            "TELNYX_PUBLIC_KEY": self.telnyx_public,
            "TELNYX_CONNECTION_ID": "telnyx-connection-1",
            "TELNYX_API_BASE_URL": api_base,
            "PLIVO_AUTH_ID": PLIVO_ID,
            "PLIVO_AUTH_TOKEN": PLIVO_TOKEN,
            "PLIVO_API_BASE_URL": api_base,
        }

    def form(self, provider: str, to: str, caller: str = "+15550199999") -> dict[str, str]:
        if provider == "plivo":
            return {"CallUUID": str(uuid.uuid4()), "From": caller, "To": to, "Direction": "inbound"}
        return {
            "CallSid": "CA" + uuid.uuid4().hex,
            "From": caller,
            "To": to,
            "AccountSid": TWILIO_SID,
        }

    def headers(self, provider: str, url: str, form: dict[str, str], body: bytes) -> dict[str, str]:
        pairs = list(form.items())
        if provider == "twilio":
            return {"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, pairs)}
        if provider == "plivo":
            nonce = uuid.uuid4().hex
            return {
                "X-Plivo-Signature-V3": plivo_signature(PLIVO_TOKEN, url, pairs, nonce),
                "X-Plivo-Signature-V3-Nonce": nonce,
            }
        stamp = str(int(time.time()))
        signature = self.telnyx_private.sign(stamp.encode() + b"|" + body)
        return {
            "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
            "telnyx-timestamp": stamp,
        }

    async def post(
        self,
        http: aiohttp.ClientSession,
        url: str,
        provider: str,
        form: dict[str, str],
        *,
        tamper: bool = False,
    ) -> tuple[int, str]:
        body = urlencode(form).encode()
        headers = self.headers(provider, url, form, body)
        if tamper:  # the signature of another request
            body = urlencode({**form, "To": form["To"] + "9"}).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        async with http.post(url, data=body, headers=headers) as r:
            return r.status, await r.text()


def stream_of(provider: str, markup: str) -> str | None:
    """The media WebSocket URL a webhook answer connects the call to (None: turned away)."""
    root = ET.fromstring(markup)
    if provider == "plivo":
        stream = root.find("Stream")
        return stream.text if stream is not None else None
    stream = root.find("Connect/Stream")
    return stream.get("url") if stream is not None else None


def refusal_of(provider: str, markup: str) -> str | None:
    """The reason a webhook answer turned the call away with (busy, rejected)."""
    root = ET.fromstring(markup)
    element = root.find("Hangup" if provider == "plivo" else "Reject")
    return element.get("reason") if element is not None else None
