"""Which bot answers which number: the operator's mapping, never the caller's say.

``RTVI_TELEPHONY_NUMBERS`` maps a called number (E.164, as providers send it) to
the start payload its calls get (``bot_profile``, ``services``, ``api_keys``,
``config``, ``max_duration``); ``"default"`` answers every other number. With no
mapping at all, every call gets the server's default bot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rtvi_server.sessions.api import APIError, StartPayload
from rtvi_server.sessions.start_request import normalize_start_body
from rtvi_server.sessions.telephony.calls import Provider
from rtvi_server.sessions.validation import parse_model
from rtvi_server.settings import SettingsError

DEFAULT = "default"
_NOISE = re.compile(r"[\s().-]")


def normalize_number(number: str) -> str:
    """``tel:+1 (555) 010-0100`` -> ``+15550100100``; SIP URIs keep their user part."""
    text = number.strip().removeprefix("tel:")
    if text.startswith("sip:"):
        text = text[4:].split("@", 1)[0]
    return _NOISE.sub("", text)


def payload_for_number(
    numbers: Mapping[str, Mapping[str, Any]], called: str, provider: Provider
) -> dict[str, Any] | None:
    """The start payload for a call to ``called`` (``None``: no bot answers it)."""
    if not numbers:
        return {"transport": provider}
    by_number = {normalize_number(k): v for k, v in numbers.items() if k != DEFAULT}
    entry = by_number.get(normalize_number(called), numbers.get(DEFAULT))
    if entry is None:
        return None
    return {**entry, "transport": provider}


def check_numbers(numbers: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse, at startup, a mapping whose payloads a call could not start with."""
    for number, entry in numbers.items():
        try:
            parse_model(StartPayload, normalize_start_body({**entry, "transport": "twilio"}))
        except APIError as exc:
            raise SettingsError(
                f"RTVI_TELEPHONY_NUMBERS[{number!r}]: {exc.message} ({exc.field})"
            ) from None
