"""Each provider's REST API, for the two things we ask of it: place a call, hang up.

Base URLs come from the settings (``TWILIO_API_BASE_URL`` ...), so tests and
self-hosted gateways point them anywhere. A provider's answer text never reaches
a client or a log line (it may echo credentials); only its status is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from loguru import logger

from rtvi_server.sessions.api import APIError
from rtvi_server.sessions.telephony.calls import CallStart, Provider
from rtvi_server.settings import TelephonySettings

TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass(frozen=True)
class Dial:
    """An outbound call: who, from which number, and where its audio goes."""

    provider: Provider
    to: str
    from_: str
    #: Twilio and Telnyx: the media WebSocket; Plivo: the answer URL that returns it.
    stream_url: str
    answer_url: str | None = None
    twiml: str | None = None


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    auth: aiohttp.BasicAuth | None = None
    headers: dict[str, str] | None = None
    form: dict[str, str] | None = None
    json: dict[str, Any] | None = None


def _not_configured(provider: Provider, names: str) -> APIError:
    return APIError(400, f"{provider} calls need {names} set on the server", field="provider")


class ProviderAPI:
    """The REST calls of the three providers, with the server's credentials."""

    def __init__(self, settings: TelephonySettings) -> None:
        self._s = settings

    def configured(self, provider: Provider) -> bool:
        s = self._s
        if provider == "twilio":
            return bool(s.twilio_account_sid and s.twilio_auth_token)
        if provider == "telnyx":
            return bool(s.telnyx_api_key)
        return bool(s.plivo_auth_id and s.plivo_auth_token)

    def _twilio(self, path: str, form: dict[str, str]) -> _Request:
        s = self._s
        if not (s.twilio_account_sid and s.twilio_auth_token):
            raise _not_configured("twilio", "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        base = s.twilio_api_base_url.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{s.twilio_account_sid}/{path}"
        auth = aiohttp.BasicAuth(s.twilio_account_sid, s.twilio_auth_token)
        return _Request("POST", url, auth=auth, form=form)

    def _telnyx(self, path: str, body: dict[str, Any]) -> _Request:
        s = self._s
        if not s.telnyx_api_key:
            raise _not_configured("telnyx", "TELNYX_API_KEY")
        url = f"{s.telnyx_api_base_url.rstrip('/')}/v2/{path}"
        headers = {"Authorization": f"Bearer {s.telnyx_api_key}"}
        return _Request("POST", url, headers=headers, json=body)

    def _plivo(self, method: str, path: str, body: dict[str, Any] | None) -> _Request:
        s = self._s
        if not (s.plivo_auth_id and s.plivo_auth_token):
            raise _not_configured("plivo", "PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN")
        url = f"{s.plivo_api_base_url.rstrip('/')}/v1/Account/{s.plivo_auth_id}/{path}"
        auth = aiohttp.BasicAuth(s.plivo_auth_id, s.plivo_auth_token)
        return _Request(method, url, auth=auth, json=body)

    def _hang_up_request(self, call: CallStart) -> _Request:
        if call.provider == "twilio":
            return self._twilio(f"Calls/{call.call_id}.json", {"Status": "completed"})
        if call.provider == "telnyx":
            return self._telnyx(f"calls/{call.call_id}/actions/hangup", {})
        return self._plivo("DELETE", f"Call/{call.call_id}/", None)

    def _dial_request(self, dial: Dial) -> _Request:
        if dial.provider == "twilio":
            form = {"To": dial.to, "From": dial.from_, "Twiml": dial.twiml or ""}
            return self._twilio("Calls.json", form)
        if dial.provider == "telnyx":
            if not self._s.telnyx_connection_id:
                raise _not_configured("telnyx", "TELNYX_CONNECTION_ID")
            body = {
                "connection_id": self._s.telnyx_connection_id,
                "to": dial.to,
                "from": dial.from_,
                "stream_url": dial.stream_url,
                "stream_track": "inbound_track",
                "stream_bidirectional_mode": "rtp",
                "stream_bidirectional_codec": "PCMU",
            }
            return self._telnyx("calls", body)
        body = {"from": dial.from_, "to": dial.to, "answer_url": dial.answer_url or ""}
        return self._plivo("POST", "Call/", {**body, "answer_method": "POST"})

    async def _send(self, request: _Request) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.request(
                request.method,
                request.url,
                auth=request.auth,
                headers=request.headers,
                data=request.form,
                json=request.json,
            ) as response,
        ):
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            return response.status, body

    async def hang_up(self, call: CallStart) -> bool:
        """End a call the bot is done with; False (logged) if the provider refused."""
        try:
            status, _ = await self._send(self._hang_up_request(call))
        except (APIError, aiohttp.ClientError, TimeoutError) as exc:
            logger.warning(
                f"{call.provider} call {call.call_id}: hang-up failed ({type(exc).__name__})"
            )
            return False
        if status >= 300 and status != 404:  # 404: the call was already over
            logger.warning(f"{call.provider} call {call.call_id}: hang-up answered {status}")
        return status < 300

    async def dial(self, dial: Dial) -> str:
        """Place an outbound call; the provider's id for it."""
        request = self._dial_request(dial)
        try:
            status, body = await self._send(request)
        except (aiohttp.ClientError, TimeoutError):
            raise APIError(502, f"{dial.provider} could not be reached", field="provider") from None
        if status >= 300 or not isinstance(body, dict):
            logger.warning(f"{dial.provider} refused an outbound call: status {status}")
            raise APIError(502, f"{dial.provider} refused the call ({status})", field="provider")
        return _call_id(dial.provider, body)


def _call_id(provider: Provider, body: dict[str, Any]) -> str:
    if provider == "twilio":
        found = body.get("sid")
    elif provider == "telnyx":
        data = body.get("data")
        found = data.get("call_control_id") if isinstance(data, dict) else None
    else:
        found = body.get("request_uuid")
        found = found[0] if isinstance(found, list) and found else found
    return found if isinstance(found, str) else ""
