"""Phone calls in: each provider's voice webhook, and the media WebSocket it points at.

``POST /telephony/twilio`` (and ``/telnyx``, ``/plivo``) is called by the provider
when someone calls one of the operator's numbers. It is checked against the
provider's signature (403 otherwise, and nothing starts), the called number picks
the bot (the operator's ``RTVI_TELEPHONY_NUMBERS``, never the caller), the session
starts like any other (same cap: a full server answers the provider's busy
markup), and the answer is the provider's markup connecting the call's audio to
``/telephony/media/{session_id}/{token}``. Not behind the bearer key: providers
cannot send it; the signature is their credential, the token the socket's.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response
from loguru import logger

from rtvi_server.server.auth import socket_ok, socket_token
from rtvi_server.server.bodies import read_bytes
from rtvi_server.server.deps import backend_of, settings_of
from rtvi_server.sessions import start_payload
from rtvi_server.sessions.api import APIError, StartAnswer
from rtvi_server.sessions.telephony import (
    MEDIA_TYPE,
    Provider,
    connect_markup,
    media_answer,
    payload_for_number,
    reject_markup,
)
from rtvi_server.sessions.telephony.signatures import plivo_valid, telnyx_valid, twilio_valid
from rtvi_server.settings import ServerSettings

#: What the webhook routes document as their body: the provider's form post.
FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
    }
}
MARKUP_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The provider's markup", "content": {MEDIA_TYPE: {}}},
    403: {"description": "Not signed by the provider"},
    413: {"description": "The body is too large"},
}
OPEN_TOKEN = "open"  # the token segment when the server has no key (sockets are open then)
BUSY_STATUSES = (429, 503)


def public_base(request: Request, settings: ServerSettings) -> str:
    """The http(s) base providers reach this server at (``RTVI_TELEPHONY_URL``, or
    the address this request came to)."""
    return (settings.telephony.public_url or str(request.base_url)).rstrip("/")


def stream_url(request: Request, settings: ServerSettings, answer: StartAnswer) -> str:
    """Where the provider opens the call's media WebSocket (a token in the path:
    Twilio allows no query string there)."""
    key = settings.api_key
    token = socket_token(key, answer.session_id) if key else OPEN_TOKEN
    base = public_base(request, settings).replace("http", "ws", 1)
    return f"{base}{answer.ws_path}/{token}"


def signed_url(request: Request, settings: ServerSettings) -> str:
    """The URL the provider signed: the one it was told to call."""
    if settings.telephony.public_url is None:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public_base(request, settings)}{request.url.path}{query}"


def _form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def check_signature(
    provider: Provider, request: Request, settings: ServerSettings, body: bytes
) -> list[tuple[str, str]]:
    """The webhook's form, if the provider signed it; 403 otherwise."""
    t, form, url = settings.telephony, _form(body), signed_url(request, settings)
    headers = request.headers
    if provider == "twilio":
        ok = bool(t.twilio_auth_token) and twilio_valid(
            str(t.twilio_auth_token), url, form, headers
        )
    elif provider == "plivo":
        ok = bool(t.plivo_auth_token) and plivo_valid(str(t.plivo_auth_token), url, form, headers)
    else:
        ok = bool(t.telnyx_public_key) and telnyx_valid(str(t.telnyx_public_key), body, headers)
    if not ok:
        logger.warning(f"{provider} webhook refused: missing or wrong signature")
        raise APIError(403, f"the request is not signed by {provider}", field="signature")
    return form


def called_number(form: list[tuple[str, str]], body: bytes) -> str:
    """The number the caller dialled (form ``To``; Telnyx's JSON ``data.payload.to``)."""
    found = dict(form).get("To")
    if found:
        return found
    try:
        event: Any = json.loads(body)
        return str(event["data"]["payload"]["to"])
    except (ValueError, KeyError, TypeError):
        return ""


def xml(markup: str) -> Response:
    return Response(content=markup, media_type=MEDIA_TYPE)


async def answer_call(request: Request, provider: Provider, called: str) -> Response:
    """Start the bot for ``called`` and connect the call to it (or turn it away)."""
    settings = settings_of(request)
    payload = payload_for_number(settings.telephony.numbers, called, provider)
    if payload is None:
        logger.info(f"{provider} call to an unmapped number refused")
        return xml(reject_markup(provider, "rejected"))
    try:
        answer = await backend_of(request).start(start_payload(payload))
    except APIError as exc:
        busy = exc.status in BUSY_STATUSES
        logger.info(f"{provider} call turned away: {exc.status} {exc.message}")
        return xml(reject_markup(provider, "busy" if busy else "rejected"))
    url = stream_url(request, settings, answer)
    return xml(connect_markup(provider, url, {"session_id": answer.session_id}))


def telephony_router() -> APIRouter:
    router = APIRouter(tags=["telephony"])

    def webhook(provider: Provider) -> Any:
        async def voice(request: Request) -> Response:
            settings = settings_of(request)
            body = await read_bytes(request, max_bytes=settings.max_body_bytes)
            form = check_signature(provider, request, settings, body)
            return await answer_call(request, provider, called_number(form, body))

        return voice

    for provider in ("twilio", "telnyx", "plivo"):
        router.add_api_route(
            f"/telephony/{provider}",
            webhook(provider),
            methods=["POST"],
            summary=f"{provider.capitalize()} voice webhook (signed by {provider})",
            response_class=Response,
            responses=MARKUP_ANSWERS,
            openapi_extra=FORM_BODY,
        )

    @router.post(
        "/telephony/plivo/calls/{session_id}",
        summary="Plivo answer URL of a call placed with POST /calls",
        response_class=Response,
        responses=MARKUP_ANSWERS,
        openapi_extra=FORM_BODY,
    )
    async def plivo_answer(session_id: str, request: Request) -> Response:
        settings = settings_of(request)
        body = await read_bytes(request, max_bytes=settings.max_body_bytes)
        check_signature("plivo", request, settings, body)
        try:
            info = await backend_of(request).get(session_id)
        except APIError:
            return xml(reject_markup("plivo", "rejected"))
        if info.state == "ended" or info.transport != "plivo":
            return xml(reject_markup("plivo", "rejected"))
        answer = media_answer("plivo", session_id)
        return xml(connect_markup("plivo", stream_url(request, settings, answer), {}))

    @router.websocket("/telephony/media/{session_id}/{token}")
    async def media(websocket: WebSocket, session_id: str, token: str) -> None:
        api_key = settings_of(websocket).api_key
        if not socket_ok(api_key, session_id, websocket.headers, token):
            await websocket.close(code=4401)
            return
        await backend_of(websocket).websocket(session_id, websocket)

    return router
