"""Each provider's webhook signature, held to vectors computed with its official SDK
(twilio 9's RequestValidator, plivo 4's signature_v3) and to tampering."""

import base64
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rtvi_server.sessions.telephony.signatures import (
    plivo_signature,
    plivo_valid,
    telnyx_valid,
    twilio_signature,
    twilio_valid,
)

TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_FORM = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]
PLIVO_FORM = [("CallUUID", "abc"), ("From", "+1555"), ("To", "+1666")]


def test_twilio_signature_matches_the_sdk_vector():
    assert twilio_signature("12345", TWILIO_URL, TWILIO_FORM) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    headers = {"x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}
    assert twilio_valid("12345", TWILIO_URL, TWILIO_FORM, headers)


@pytest.mark.parametrize(
    ("token", "url", "form", "headers"),
    [
        ("54321", TWILIO_URL, TWILIO_FORM, None),  # another account's token
        ("12345", TWILIO_URL.replace("foo=1", "foo=2"), TWILIO_FORM, None),
        ("12345", TWILIO_URL, [*TWILIO_FORM[:-1], ("To", "+18005551213")], None),
        ("12345", TWILIO_URL, TWILIO_FORM, {}),  # unsigned
    ],
)
def test_twilio_refuses_what_it_did_not_sign(token, url, form, headers):
    given = {"x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="} if headers is None else headers
    assert not twilio_valid(token, url, form, given)


@pytest.mark.parametrize(
    ("url", "form", "expected"),
    [
        ("https://example.com/answer", PLIVO_FORM, "HVA+WECyLGOOMjYz4lqeI1ds9Ofq6Y2/Kcd3eKEgo3o="),
        (
            "https://example.com/answer?b=2&a=1",
            [("To", "+1666"), ("From", "+1555")],
            "2ily5RZZ5sQV8ZDhH8yRb+PwJMObAe+f736Y1dBi3cU=",
        ),
        ("https://example.com/answer?b=2&a=1", [], "/Xv5qEmJD+lF73wt6sDmWyyrz03fIzzw2NltNwXLXyk="),
    ],
)
def test_plivo_v3_signature_matches_the_sdk_vectors(url, form, expected):
    assert plivo_signature("plivo-token", url, form, "nonce-1") == expected
    headers = {"x-plivo-signature-v3": f"other,{expected}", "x-plivo-signature-v3-nonce": "nonce-1"}
    assert plivo_valid("plivo-token", url, form, headers)
    headers["x-plivo-signature-v3-nonce"] = "nonce-2"
    assert not plivo_valid("plivo-token", url, form, headers)


def _telnyx(body: bytes, stamp: int, key: Ed25519PrivateKey) -> dict[str, str]:
    signature = key.sign(str(stamp).encode() + b"|" + body)
    return {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": str(stamp),
    }


def test_telnyx_checks_the_ed25519_signature_body_and_age():
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(
        key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    body, now = b"To=%2B15550100&From=%2B1555", int(time.time())
    assert telnyx_valid(public, body, _telnyx(body, now, key))
    assert not telnyx_valid(public, body + b"x", _telnyx(body, now, key))
    assert not telnyx_valid(public, body, _telnyx(body, now - 3600, key))  # a replay
    other = Ed25519PrivateKey.generate()
    assert not telnyx_valid(public, body, _telnyx(body, now, other))
    assert not telnyx_valid(public, body, {})
    assert not telnyx_valid("not base64!", body, _telnyx(body, now, key))
