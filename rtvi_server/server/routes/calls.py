"""``POST /calls``: the operator's backend places an outbound phone call to a bot.

The session starts first (same checks and cap as ``/start``), then the provider's
REST API dials with the call's audio pointed at the session's media WebSocket
(Twilio: inline TwiML; Telnyx: ``stream_url``; Plivo: an answer URL here that
returns the stream markup). When the callee answers, the provider connects and
the bot runs; if the provider refuses the call, the session is ended again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from rtvi_server.server.bodies import read_json
from rtvi_server.server.deps import backend_of, settings_of
from rtvi_server.server.openapi import answers, body
from rtvi_server.server.routes.telephony import public_base, stream_url
from rtvi_server.sessions import start_payload
from rtvi_server.sessions.api import APIError
from rtvi_server.sessions.telephony import (
    Dial,
    Provider,
    ProviderAPI,
    connect_markup,
    payload_for_number,
)
from rtvi_server.sessions.validation import parse_model

PHONE = r"^[^\s<>\"'&]{3,128}$"


class PlaceCall(BaseModel):
    """An outbound call: through which provider, to whom, from which of our numbers,
    and (optionally) the start payload of its bot (default: the mapping for ``from``)."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    provider: Provider
    to: str = Field(pattern=PHONE, description="The number (or SIP URI) to call.")
    from_: str = Field(alias="from", pattern=PHONE, description="One of the operator's numbers.")
    bot: dict[str, Any] | None = Field(
        None, description="The bot's start payload (bot_profile, services, config ...)."
    )


class PlacedCall(BaseModel):
    """The call placed: its session, and the provider's id for the call."""

    session_id: str
    provider: Provider
    call_id: str
    to: str


def calls_router() -> APIRouter:
    router = APIRouter(tags=["telephony"])

    async def place_call(request: Request) -> JSONResponse:
        settings = settings_of(request)
        raw = await read_json(request, max_bytes=settings.max_body_bytes, empty={})
        call = parse_model(PlaceCall, raw)
        if call.bot is not None:
            payload: dict[str, Any] | None = {**call.bot, "transport": call.provider}
        else:
            payload = payload_for_number(settings.telephony.numbers, call.from_, call.provider)
        if payload is None:
            raise APIError(400, "no bot is mapped to this number: name one in bot", field="bot")
        backend = backend_of(request)
        answer = await backend.start(start_payload(payload))
        url = stream_url(request, settings, answer)
        base = public_base(request, settings)
        dial = Dial(
            provider=call.provider,
            to=call.to,
            from_=call.from_,
            stream_url=url,
            answer_url=f"{base}/telephony/plivo/calls/{answer.session_id}",
            twiml=connect_markup("twilio", url, {"session_id": answer.session_id}),
        )
        try:
            call_id = await ProviderAPI(settings.telephony).dial(dial)
        except APIError:
            await backend.delete(answer.session_id)
            raise
        placed = PlacedCall(
            session_id=answer.session_id, provider=call.provider, call_id=call_id, to=call.to
        )
        return JSONResponse(placed.model_dump(), status_code=201)

    router.add_api_route(
        "/calls",
        place_call,
        methods=["POST"],
        summary="Place an outbound phone call to a bot",
        openapi_extra=body(PlaceCall),
        responses=answers(PlacedCall, 400, 401, 413, 429, 502, 503, ok_status=201),
    )
    return router
