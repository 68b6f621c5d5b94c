"""The config-generation surface of the RTVI processor: config, options and actions.

``describe-config``, ``get-config``, ``update-config`` (checked whole before any
handler runs, applied all or nothing, rolled back if a handler fails),
``describe-actions`` and ``action``, plus the initial application of the
config before the first ``bot-ready``. Every bot handler runs under
:meth:`ConfigRequests._run_guarded`: a timeout and whatever the handler raises
become a :class:`RequestFailedError` whose text this project wrote.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from loguru import logger

from rtvi_server.patches import pipecat as pipecat_patches
from rtvi_server.protocol import (
    EMPTY_CONFIG,
    ActionCallError,
    ActionRequest,
    ClientMessage,
    Config,
    ConfigError,
    DescribeActions,
    DescribeConfig,
    Envelope,
    GetConfig,
    JSONValue,
    OptionValue,
    ProtocolError,
    Registry,
    RequestFailedError,
    UpdateConfig,
    matches_type,
    merge_config,
    outbound,
    parse_config,
    parse_request,
)
from rtvi_server.protocol.outbound import OutboundMessage

DEFAULT_HANDLER_TIMEOUT_SECS: Final = 5.0
"""Well under the 10 s after which JS clients drop a pending request for good."""

ConfigRequest = DescribeConfig | GetConfig | UpdateConfig | DescribeActions | ActionRequest
CONFIG_REQUEST_CLASSES: Final = (
    DescribeConfig,
    GetConfig,
    UpdateConfig,
    DescribeActions,
    ActionRequest,
)


@dataclass
class OperatorRequest:
    """A config-surface request from the operator's backend (HTTP), not the client: its
    reply is handed back through ``reply`` instead of being sent on the transport."""

    request: ConfigRequest
    reply: asyncio.Future[OutboundMessage]


CONFIG_REQUEST_TYPES: Final = frozenset(
    {"describe-config", "get-config", "update-config", "describe-actions", "action"}
)


class ConfigRequests:
    """Mixed into :class:`~rtvi_server.processor.RTVIProcessor`, whose state it uses."""

    _registry: Registry
    _config: Config
    _handler_timeout: float
    _applying_initial_config: bool

    async def send_message(self, message: OutboundMessage) -> None:
        raise NotImplementedError

    async def send_error(self, error: str, *, fatal: bool = False) -> None:
        raise NotImplementedError

    async def interrupt_bot(self) -> None:
        raise NotImplementedError

    async def _apply_initial_config(self) -> None:
        """Run every handler once, in config order, before the first bot-ready.

        A failing handler is reported with a non-fatal ``error`` and the rest
        still run: the values were validated when the session started.
        """
        self._applying_initial_config = True
        try:
            for service, option in self._config.items():
                try:
                    await self._run_option_handler(service, option)
                except RequestFailedError as exc:
                    await self.send_error(str(exc))
        finally:
            self._applying_initial_config = False

    async def _config_reply(self, request: ConfigRequest) -> OutboundMessage:
        """The reply to a config-surface request (raises RequestFailedError)."""
        match request:
            case DescribeConfig():
                services = self._registry.describe_config()
                return outbound.config_available(request.id, services)
            case GetConfig():
                return outbound.config_message(self._config, id=request.id)
            case UpdateConfig():
                return await self._on_update_config(request)
            case DescribeActions():
                return outbound.actions_available(request.id, self._registry.describe_actions())
            case ActionRequest():
                return await self._on_action(request)

    def operator_request(self, type_: str, data: JSONValue) -> OperatorRequest | OutboundMessage:
        """An HTTP config request, parsed: to be queued, or its refusal already."""
        request_id = f"http-{uuid.uuid4().hex[:12]}"
        parsed = parse_request(Envelope(type=type_, id=request_id, data=data))
        if isinstance(parsed, ProtocolError):
            return outbound.error_response(request_id, parsed.reason)
        if not isinstance(parsed, CONFIG_REQUEST_CLASSES):
            return outbound.error_response(request_id, f"{type_} is not a config request")
        return OperatorRequest(parsed, asyncio.get_running_loop().create_future())

    async def _serve_operator(self, item: OperatorRequest) -> None:
        """The operator is trusted as the start payload is: options a client may not
        write, it may."""
        try:
            if isinstance(item.request, UpdateConfig):
                reply = await self._on_update_config(item.request, from_client=False)
            else:
                reply = await self._config_reply(item.request)
        except RequestFailedError as exc:
            reply = outbound.error_response(item.request.id, str(exc))
        if not item.reply.done():
            item.reply.set_result(reply)

    async def _serve_config_client_message(self, request: ClientMessage) -> None:
        """The config surface for modern clients: ``sendClientRequest("get-config")``.

        client-js 1.x cannot send config-generation request types, but it can send
        ``client-message {t, d}``; with ``t`` naming one of them, the request is served
        exactly as the legacy one and answered with ``server-response {t, d}``, where
        ``d`` is what the legacy reply's ``data`` would be.
        """
        data = request.d if isinstance(request.d, dict) else {}
        inner = parse_request(Envelope(type=request.t, id=request.id, data=data))
        if isinstance(inner, ProtocolError):
            raise RequestFailedError(inner.reason)
        assert isinstance(
            inner, DescribeConfig | GetConfig | UpdateConfig | DescribeActions | ActionRequest
        )
        reply = await self._config_reply(inner)
        await self.send_message(outbound.server_response(request.id, request.t, reply.get("data")))

    async def _on_update_config(
        self, request: UpdateConfig, *, from_client: bool = True
    ) -> OutboundMessage:
        prepared = self._registry.prepare_config(
            request.config, current=self._config, from_client=from_client, path="data.config"
        )
        if isinstance(prepared, ConfigError):
            raise RequestFailedError(str(prepared))
        if request.interrupt:
            await self.interrupt_bot()
        applied: list[tuple[str, OptionValue]] = []
        for service, option in prepared.items():
            try:
                await self._run_option_handler(service, option)
            except RequestFailedError:
                await self._roll_back(applied)
                raise
            applied.append((service, option))
        self._config = merge_config(self._config, prepared)
        await pipecat_patches.emit_event(self, "on_config_updated", self._config)
        return outbound.config_message(self._config, id=request.id)

    async def _roll_back(self, applied: list[tuple[str, OptionValue]]) -> None:
        """Re-apply the previous values of options a failed update already changed."""
        for service, option in reversed(applied):
            previous = self._config.get(service, option.name)
            if previous is None:
                logger.warning(f"{self}: {service}.{option.name} had no value to restore")
                continue
            try:
                await self._run_option_handler(service, previous)
            except RequestFailedError as exc:
                logger.error(f"{self}: rollback of {service}.{option.name} failed: {exc}")

    async def _run_option_handler(self, service: str, option: OptionValue) -> None:
        declared = self._registry.services[service].option(option.name)
        if declared is None or declared.handler is None:
            return
        where = f"option {service}.{option.name}"
        await self._run_guarded(where, declared.handler, self, service, option)

    async def _on_action(self, request: ActionRequest) -> OutboundMessage:
        bound = self._registry.bind_action(request.service, request.action, request.arguments)
        if isinstance(bound, ActionCallError):
            raise RequestFailedError(bound.reason)
        action, arguments = bound
        where = f"action {action.key}"
        result = await self._run_guarded(where, action.handler, self, action.service, arguments)
        if result is None:
            raise RequestFailedError(f"{where} returned no result")
        if not matches_type(action.result, result):
            raise RequestFailedError(f"{where} returned a value that is not a {action.result}")
        return outbound.action_response(request.id, result)

    async def _run_guarded(self, where: str, handler: Callable[..., Any], *args: Any) -> Any:
        """Call a bot handler (sync or async) under the timeout.

        Whatever it raises, and a timeout, become :class:`RequestFailedError`
        naming ``where``, so the caller answers the request and goes on.
        """
        try:
            outcome = handler(*args)
            if not inspect.isawaitable(outcome):
                return outcome
            return await asyncio.wait_for(outcome, timeout=self._handler_timeout)
        except TimeoutError:
            raise RequestFailedError(
                f"{where} timed out after {self._handler_timeout:g} s"
            ) from None
        except RequestFailedError as exc:  # the handler's own words for the client
            raise RequestFailedError(f"{where} failed: {exc}") from exc
        except Exception as exc:  # a dependency's text stays in the log
            logger.warning(f"{self}: {where} failed: {exc!r}")
            raise RequestFailedError(f"{where} failed") from exc


def as_config(config: Config | Sequence[JSONValue] | None) -> Config:
    if config is None:
        return EMPTY_CONFIG
    if isinstance(config, Config):
        return config
    parsed = parse_config(list(config))
    if isinstance(parsed, ConfigError):
        raise ValueError(f"invalid config: {parsed}")
    return parsed
