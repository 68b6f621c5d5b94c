"""``RTVIProcessor``: the RTVI endpoint inside a pipecat pipeline.

It sits right after the transport's input, reads RTVI messages that the
transport hands over as :class:`InputTransportMessageFrame`, and answers through
:class:`OutputTransportMessageUrgentFrame` that travel down to the transport's
output. Requests are served one at a time, in arrival order, on a task of the
processor's own, so a slow handler never stalls audio frames and replies never
overtake each other (spec 13, case 30).

Safety rules it keeps: every request with an id gets exactly one reply with
that id (also when a handler raises or hangs past ``handler_timeout_secs``);
``update-config`` is checked whole before any handler runs and is applied all or
nothing; option values and action arguments are type-checked against what the
bot declared; server-only options are refused from clients.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from loguru import logger
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    EndWorkerFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InputTransportMessageFrame,
    InputTransportStartAudioStreamingFrame,
    LLMConfigureOutputFrame,
    LLMMessagesAppendFrame,
    OutputTransportMessageUrgentFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.frameworks.rtvi.frames import RTVIClientMessageFrame, RTVISendTextFrame

from rtvi_server._version import __version__
from rtvi_server.patches import pipecat as pipecat_patches
from rtvi_server.processor.config_requests import (
    CONFIG_REQUEST_TYPES,
    DEFAULT_HANDLER_TIMEOUT_SECS,
    ConfigRequests,
    OperatorRequest,
    as_config,
)
from rtvi_server.processor.errors import client_error_text
from rtvi_server.protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    EMPTY_CONFIG,
    ActionRequest,
    AppendToContext,
    ClientInfo,
    ClientMessage,
    ClientReady,
    Config,
    ConfigError,
    DescribeActions,
    DescribeConfig,
    DisconnectBot,
    Dtmf,
    Envelope,
    Generation,
    GetConfig,
    Ignored,
    JSONValue,
    LLMFunctionCallResult,
    ProtocolError,
    RawAudio,
    Registry,
    Request,
    RequestFailedError,
    RTVIAction,
    RTVIService,
    SendText,
    UpdateConfig,
    decode,
    detect_client,
    merge_config,
    outbound,
    parse_request,
)
from rtvi_server.protocol.limits import RateLimit, RequestBudget
from rtvi_server.protocol.outbound import OutboundMessage

FunctionResultCallback = Callable[[Any], Awaitable[None]]

#: Events held between ``client-ready`` and ``bot-ready`` at most (then dropped).
MAX_HELD = 256


def rate_limit_from_env() -> RateLimit:
    """The server's request limit per session (``RTVI_REQUEST_RATE``,
    ``RTVI_REQUEST_BURST``, ``RTVI_MAX_PENDING_REQUESTS``), else the defaults."""
    default = RateLimit()
    env = os.environ
    try:
        return RateLimit(
            rate=float(env.get("RTVI_REQUEST_RATE") or default.rate),
            burst=int(env.get("RTVI_REQUEST_BURST") or default.burst),
            max_pending=int(env.get("RTVI_MAX_PENDING_REQUESTS") or default.max_pending),
        )
    except ValueError:
        logger.warning("ignoring a request-limit setting that is not a number")
        return default


class RTVIProcessor(ConfigRequests, FrameProcessor):
    """Serves RTVI requests of both client generations from one registry.

    Args:
        config: the trusted start-time config (spec 9.2), merged over the
            defaults the registered options declare. A list in wire form or a
            :class:`~rtvi_server.protocol.Config`.
        handler_timeout_secs: how long an option or action handler may run
            before its request is answered with an error.
        max_message_bytes: inbound messages larger than this are refused.
        about: what ``bot-ready`` tells modern clients about this bot.

    Event handlers (``@processor.event_handler(name)``): ``on_client_ready``
    ``(processor, client_info)``, ``on_bot_ready(processor)``,
    ``on_config_updated(processor, config)``, ``on_client_message(processor,
    ClientMessage)``, ``on_disconnect_requested(processor)``.
    """

    def __init__(
        self,
        *,
        config: Config | Sequence[JSONValue] | None = None,
        handler_timeout_secs: float = DEFAULT_HANDLER_TIMEOUT_SECS,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        about: Mapping[str, JSONValue] | None = None,
        rate_limit: RateLimit | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._budget = RequestBudget(rate_limit or rate_limit_from_env())
        self._registry = Registry()
        self._start_config = as_config(config)
        self._config: Config = EMPTY_CONFIG
        self._handler_timeout = handler_timeout_secs
        self._max_message_bytes = max_message_bytes
        self._about: dict[str, JSONValue] = dict(
            about or {"library": "rtvi-server", "library_version": __version__}
        )
        self._client: ClientInfo | None = None
        self._initial_config_applied = False
        self._applying_initial_config = False
        self._after_bot_ready: list[Callable[[], Awaitable[None]]] = []
        self._bot_ready_sent = False
        self._held_events: list[OutboundMessage] = []
        self._pending_function_calls: dict[str, FunctionResultCallback] = {}
        self._llm_skip_tts = False
        self._queue: asyncio.Queue[Request | ProtocolError | OperatorRequest] | None = None
        self._worker: asyncio.Task[None] | None = None
        for event in (
            "on_client_ready",
            "on_bot_ready",
            "on_config_updated",
            "on_client_message",
            "on_disconnect_requested",
        ):
            pipecat_patches.register_event(self, event)

    # -- registration -------------------------------------------------------

    @property
    def registry(self) -> Registry:
        return self._registry

    def register_service(self, service: RTVIService) -> None:
        """Declare a service and its typed options (duplicate names are refused)."""
        self._registry.register_service(service)

    def register_action(self, action: RTVIAction) -> None:
        """Declare an action clients call as ``service:action``."""
        self._registry.register_action(action)

    def check_start_config(self) -> ConfigError | None:
        """The first problem in the start config against the registry, or ``None``."""
        return self._registry.check_config(self._start_config, from_client=False)

    # -- state --------------------------------------------------------------

    @property
    def config(self) -> Config:
        """The current config: defaults, then the start config, then updates."""
        return self._config

    @property
    def client(self) -> ClientInfo | None:
        """What the client said in its first ``client-ready``; ``None`` before."""
        return self._client

    @property
    def generation(self) -> Generation:
        return self._client.generation if self._client else Generation.CONFIG

    @property
    def client_version(self) -> list[int]:
        """The client's protocol version, ``[0, 0, 0]`` for config-generation clients."""
        return list(self._client.version) if self._client else [0, 0, 0]

    @property
    def applying_initial_config(self) -> bool:
        """True while the config is applied before the first ``bot-ready``.

        ``run_on_config`` handlers use it: only the initial application makes
        the bot speak first (spec 4.6).
        """
        return self._applying_initial_config

    def after_bot_ready(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the first ``bot-ready`` has been sent."""
        self._after_bot_ready.append(callback)

    # -- sending ------------------------------------------------------------

    async def send_message(self, message: OutboundMessage) -> None:
        """Send one RTVI message to the client, ahead of queued media."""
        await self.push_frame(OutputTransportMessageUrgentFrame(message=message))

    async def send_event(self, message: OutboundMessage, *, keep_early: bool = False) -> None:
        """Send an event (not a reply): only replies go out before ``bot-ready``.

        Events from before the client's ``client-ready`` are dropped (nobody is
        listening, and the generation they must be written in is not known yet),
        unless ``keep_early``; events from then until ``bot-ready`` is sent are
        held and follow it, in order.
        """
        if self._bot_ready_sent:
            await self.send_message(message)
        elif (self._client is not None or keep_early) and len(self._held_events) < MAX_HELD:
            self._held_events.append(message)

    async def _release_held_events(self) -> None:
        self._bot_ready_sent = True
        held, self._held_events = self._held_events, []
        for message in held:
            await self.send_message(message)

    async def send_error(self, error: str, *, fatal: bool = False) -> None:
        await self.send_message(outbound.error(error, fatal=fatal))

    async def send_server_message(self, data: JSONValue) -> None:
        await self.send_message(outbound.server_message(data))

    async def send_server_response(self, request: ClientMessage, data: JSONValue) -> None:
        """Answer a modern ``client-message`` sent with ``sendClientRequest``."""
        await self.send_message(outbound.server_response(request.id, request.t, data))

    async def send_error_response(self, request_id: str, error: str) -> None:
        await self.send_message(outbound.error_response(request_id, error))

    async def announce_config(self) -> None:
        """Tell the client about a bot-side config change (unsolicited ``config``)."""
        await self.send_message(outbound.config_message(self._config))

    async def interrupt_bot(self) -> None:
        await self.broadcast_interruption()  # type: ignore[no-untyped-call]

    async def handle_function_call(self, params: Any) -> None:
        """Forward an LLM tool call to the client (``llm-function-call``).

        Register this as the LLM's handler for functions the client implements;
        the client's ``llm-function-call-result`` completes the call.
        """
        self._pending_function_calls[params.tool_call_id] = params.result_callback
        data: dict[str, JSONValue] = {
            "function_name": params.function_name,
            "tool_call_id": params.tool_call_id,
            "args": dict(params.arguments),
        }
        await self.send_message(outbound.message("llm-function-call", data))

    # -- frames -------------------------------------------------------------

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputTransportMessageFrame):
            await self._accept(frame.message)
            return
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            await self._start()
            return
        if isinstance(frame, ErrorFrame):
            logger.warning(f"{self}: pipeline error: {frame.error}")
            await self.send_error(client_error_text(frame), fatal=bool(frame.fatal))
        elif isinstance(frame, LLMConfigureOutputFrame):
            self._llm_skip_tts = frame.skip_tts
        elif isinstance(frame, EndFrame | CancelFrame):
            await self.push_frame(frame, direction)
            await self._stop_worker()
            return
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()  # type: ignore[no-untyped-call]
        await self._stop_worker()

    async def _start(self) -> None:
        problem = self.check_start_config()
        if problem is not None:
            logger.error(f"{self}: start config rejected: {problem}")
            await self.send_error(f"start config rejected: {problem}", fatal=True)
            await self.push_frame(EndWorkerFrame(reason="invalid start config"))
            return
        defaults = self._registry.default_config()
        start = self._registry.prepare_config(
            self._start_config, current=defaults, from_client=False
        )
        assert not isinstance(start, ConfigError)  # checked just above
        self._config = merge_config(defaults, start)
        if self._worker is None:
            self._queue = asyncio.Queue()
            self._worker = self.create_task(self._serve(self._queue), name="rtvi-requests")

    async def _stop_worker(self) -> None:
        if self._worker is not None:
            await self.cancel_task(self._worker)
            self._worker = None

    async def _accept(self, raw: object) -> None:
        decoded = decode(raw, max_bytes=self._max_message_bytes)
        if isinstance(decoded, Ignored):
            logger.debug(f"{self}: ignoring transport message ({decoded.reason})")
            return
        item = parse_request(decoded) if isinstance(decoded, Envelope) else decoded
        if self._queue is None:
            logger.warning(f"{self}: RTVI message before the pipeline started; dropped")
            return
        refusal = self._budget.refusal(time.monotonic(), self._queue.qsize())
        if refusal is not None:
            # Answered at once (possibly before earlier requests' replies): it is not served.
            request_id = getattr(item, "id", None)
            if isinstance(request_id, str):
                await self.send_error_response(request_id, refusal)
            return
        self._queue.put_nowait(item)

    # -- serving ------------------------------------------------------------

    async def request_from_operator(
        self, type_: str, data: JSONValue, timeout: float = 30.0
    ) -> OutboundMessage:
        """Serve a config-surface request from the operator's backend (the HTTP
        routes), in order with the client's own, and return the reply the data channel
        would carry. Raises ``LookupError`` before the bot's pipeline runs."""
        item = self.operator_request(type_, data)
        if not isinstance(item, OperatorRequest):
            return item
        if self._queue is None:
            raise LookupError("the bot is not running yet")
        self._queue.put_nowait(item)
        return await asyncio.wait_for(item.reply, timeout)

    async def _serve(self, queue: asyncio.Queue[Request | ProtocolError | OperatorRequest]) -> None:
        while True:
            item = await queue.get()
            try:
                if isinstance(item, OperatorRequest):
                    await self._serve_operator(item)
                    continue
                await self._serve_one(item)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug of ours must not end the session
                logger.exception(f"{self}: failed to serve {item!r}")
                request_id = getattr(item, "id", None)
                if isinstance(request_id, str):
                    await self.send_error_response(request_id, "internal error")

    async def _serve_one(self, item: Request | ProtocolError) -> None:
        if isinstance(item, ProtocolError):
            logger.warning(f"{self}: {item.reason}")
            if item.id is not None:
                await self.send_error_response(item.id, item.reason)
            else:
                await self.send_error(item.reason)
            return
        try:
            await self._dispatch(item)
        except RequestFailedError as exc:
            await self.send_error_response(item.id, str(exc))

    async def _dispatch(self, request: Request) -> None:
        match request:
            case ClientReady():
                await self._on_client_ready(request)
            case (
                DescribeConfig()
                | GetConfig()
                | UpdateConfig()
                | DescribeActions()
                | ActionRequest()
            ):
                await self.send_message(await self._config_reply(request))
            case DisconnectBot():
                await pipecat_patches.emit_event(self, "on_disconnect_requested")
                await self.push_frame(EndWorkerFrame(reason="disconnect-bot"))
            case LLMFunctionCallResult():
                await self._on_function_call_result(request)
            case ClientMessage() if request.t in CONFIG_REQUEST_TYPES:
                await self._serve_config_client_message(request)
            case ClientMessage():
                await self.push_frame(RTVIClientMessageFrame(request.id, request.t, request.d))
                await pipecat_patches.emit_event(self, "on_client_message", request)
            case SendText():
                await self._on_send_text(request)
            case AppendToContext():
                if request.run_immediately:
                    await self.interrupt_bot()
                message: Any = {"role": request.role, "content": request.content}
                frame = LLMMessagesAppendFrame([message], run_llm=request.run_immediately)
                await self.push_frame(frame)
            case RawAudio():
                for chunk in request.chunks:
                    await self.push_frame(
                        InputAudioRawFrame(chunk, request.sample_rate, request.num_channels)
                    )
            case Dtmf():
                for button in request.buttons:
                    await self.push_frame(InputDTMFFrame(button=KeypadEntry(button)))

    async def _on_client_ready(self, request: ClientReady) -> None:
        first = self._client is None
        if self._client is None:
            self._client = detect_client(request.data)
            logger.debug(f"{self}: client ready: {self._client}")
            if self._client.warning:
                await self.send_error_response(request.id, self._client.warning)
            await self.push_frame(InputTransportStartAudioStreamingFrame(), FrameDirection.UPSTREAM)
            await pipecat_patches.emit_event(self, "on_client_ready", self._client)
        if not self._initial_config_applied:
            self._initial_config_applied = True
            await self._apply_initial_config()
        client = self._client
        if client.generation is Generation.CONFIG:
            ready = outbound.bot_ready_config(request.id, client.bot_ready_version, self._config)
        else:
            ready = outbound.bot_ready_modern(
                request.id, client.bot_ready_version, self._about, self._capabilities()
            )
        await self.send_message(ready)
        if first:
            await self._release_held_events()
            await pipecat_patches.emit_event(self, "on_bot_ready")
            callbacks, self._after_bot_ready = self._after_bot_ready, []
            for callback in callbacks:
                await self._run_guarded("after bot-ready callback", callback)

    def _capabilities(self) -> dict[str, JSONValue] | None:
        """What the pipeline's transports send and receive, and whether metrics are on,
        as pipecat's worker derives them (None outside a worker)."""
        worker = getattr(self, "pipeline_worker", None)
        capabilities = getattr(worker, "capabilities", None)
        if capabilities is None:
            return None
        dumped: dict[str, JSONValue] = capabilities.model_dump(exclude_none=True)
        return dumped

    async def _on_function_call_result(self, request: LLMFunctionCallResult) -> None:
        callback = self._pending_function_calls.pop(request.tool_call_id, None)
        if callback is None:
            logger.warning(f"{self}: result for unknown tool call {request.tool_call_id!r} ignored")
            return
        where = f"function call {request.function_name}"
        await self._run_guarded(where, callback, request.result)

    async def _on_send_text(self, request: SendText) -> None:
        if request.run_immediately:
            await self.interrupt_bot()
        restore_skip = self._llm_skip_tts
        toggle = restore_skip != (not request.audio_response)
        if toggle:
            await self.push_frame(LLMConfigureOutputFrame(skip_tts=not request.audio_response))
        message: Any = {"role": "user", "content": request.content}
        await self.push_frame(LLMMessagesAppendFrame([message], run_llm=request.run_immediately))
        await self.push_frame(RTVISendTextFrame(msg_id=request.id, text=request.content))
        if toggle:
            await self.push_frame(LLMConfigureOutputFrame(skip_tts=restore_skip))
