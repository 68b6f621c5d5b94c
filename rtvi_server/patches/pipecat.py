"""pipecat (1.14): the SmallWebRTC client's audio reader and bot track, Silero's reset
rule, the events a worker's observer proxy queues.

pipecat's ``SmallWebRTCTransport`` keeps its client in ``_client``; the client
reads the peer's audio in ``read_audio_frame`` (a task per frame, a resampler)
and, once the peer connects, makes the bot's audio track in
``_handle_client_connected`` (a track that sends silence while the bot is
quiet). The WebRTC link replaces the reader and swaps the track right after it
is made. Silero's model-reset rule lives in private constants of
``pipecat.audio.vad.silero``; the batched analyzer reads them here so its
decisions stay pipecat's. A ``PipelineWorker`` reports to its observers through
the ``WorkerObserver`` in ``_observer``, which keeps them in ``_observers``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple

from rtvi_server.patches.selfcheck import PatchReport, has_names, installed_version

TESTED = "==1.14.*"
_CLIENT_FIELDS = ("_audio_output_track", "_in_sample_rate", "_out_sample_rate")


class SileroResetRule(NamedTuple):
    interval_secs: float
    max_confidence: float
    low_confidence_windows: int


# pipecat 1.14's values, used if its private constants move.
_RESET_RULE_1_14 = SileroResetRule(2.0, 0.1, 5)


@functools.cache  # the installed code does not change under a running process
def report() -> PatchReport:
    try:
        from pipecat.transports.smallwebrtc.transport import (
            SmallWebRTCClient,
            SmallWebRTCTransport,
        )
    except ImportError:
        return PatchReport("pipecat-ai", "not installed", TESTED, ("smallwebrtc",))
    missing = has_names(SmallWebRTCTransport.__init__, "_client")
    missing += has_names(SmallWebRTCClient.__init__, *_CLIENT_FIELDS)
    for method in ("read_audio_frame", "_handle_client_connected"):
        if not callable(getattr(SmallWebRTCClient, method, None)):
            missing.append(f"SmallWebRTCClient.{method}")
    if _silero_constants() is None:
        missing.append("pipecat.audio.vad.silero._MODEL_RESET_*")
    missing += _missing_hooks()
    missing += _missing_worker_fields()
    return PatchReport("pipecat-ai", installed_version("pipecat-ai"), TESTED, tuple(missing))


def _missing_hooks() -> list[str]:
    from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn
    from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
    from pipecat.services.tts_service import TTSService
    from pipecat.utils.base_object import BaseObject

    hooks = [
        (LocalSmartTurnAnalyzerV3, "_predict_endpoint"),
        (BaseSmartTurn, "_model_executor"),  # the thread a turn's inference runs on
        (BaseObject, "_register_event_handler"),
        (BaseObject, "_call_event_handler"),
        (TTSService, "_stream_audio_frames_from_iterator"),
    ]
    return [f"{cls.__name__}.{name}" for cls, name in hooks if not hasattr(cls, name)]


def _missing_worker_fields() -> list[str]:
    from pipecat.pipeline.worker import PipelineWorker
    from pipecat.pipeline.worker_observer import WorkerObserver

    missing = has_names(PipelineWorker.__init__, "_observer")
    return missing + has_names(WorkerObserver.__init__, "_observers")


# -- the hooks pipecat leaves to subclasses (protected by convention) ----------


def register_event(owner: Any, name: str) -> None:
    """Declare an event ``owner`` emits, so ``@owner.event_handler(name)`` can attach."""
    owner._register_event_handler(name)


async def emit_event(owner: Any, name: str, *args: Any) -> None:
    """Call the handlers attached to ``owner``'s event ``name``."""
    await owner._call_event_handler(name, *args)


def turn_analyzer_of(strategy: Any) -> Any | None:
    """The turn analyzer a ``TurnAnalyzerUserTurnStopStrategy`` feeds (None for others)."""
    return getattr(strategy, "_turn_analyzer", None)


def smart_turn_prediction(analyzer: Any, audio: Any) -> dict[str, Any]:
    """pipecat's Smart Turn v3 prediction for 16 kHz float audio (``prediction``,
    ``probability``), from an analyzer that holds the model."""
    result: dict[str, Any] = analyzer._predict_endpoint(audio)
    return result


def stream_tts_audio(
    tts: Any, chunks: AsyncIterator[bytes], *, sample_rate: int, context_id: str
) -> AsyncIterator[Any]:
    """pipecat's TTS helper turning PCM chunks into audio frames at the output rate."""
    frames: AsyncIterator[Any] = tts._stream_audio_frames_from_iterator(
        chunks, in_sample_rate=sample_rate, context_id=context_id
    )
    return frames


# -- the worker's observer proxy -------------------------------------------


def skip_unread_observer_events(
    worker: Any,
    *,
    reads_processed: Callable[[Any], bool],
    observes_audio: Callable[[Any], bool],
) -> bool:
    """Stop ``worker``'s observer proxy queueing events none of its observers reads.

    pipecat's ``WorkerObserver`` puts every frame each processor handles, and every
    push, on each observer's queue, then wakes the observer's task: for an audio
    frame on its way to the STT that is a queue put and a task switch per hop, only
    for observers that return at once. Here a processed frame is queued only if
    some observer ``reads_processed``, and an audio frame's push only if some
    observer ``observes_audio``; the observers are asked again when pipecat's
    ``add_observer`` or ``remove_observer`` changes them. Returns whether it applied.
    """
    from pipecat.frames.frames import AudioRawFrame

    proxy = getattr(worker, "_observer", None)
    observers = getattr(proxy, "_observers", None)
    if proxy is None or not isinstance(observers, list):
        return False
    push, process = proxy.on_push_frame, proxy.on_process_frame
    add, remove = proxy.add_observer, proxy.remove_observer
    # What the observers want, asked at the first event (once the pipeline has
    # started and a group's members are set) and again after pipecat's
    # add_observer / remove_observer: no per-frame work beyond reading it.
    wants: dict[str, bool] = {}

    def want(what: str) -> bool:
        if not wants:
            wants["audio"] = any(map(observes_audio, observers))
            wants["processed"] = any(map(reads_processed, observers))
        return wants[what]

    def add_observer(observer: Any) -> None:
        add(observer)
        wants.clear()

    async def remove_observer(observer: Any) -> None:
        await remove(observer)
        wants.clear()

    async def on_push_frame(data: Any) -> None:
        if isinstance(data.frame, AudioRawFrame) and not want("audio"):
            return
        await push(data)

    async def on_process_frame(data: Any) -> None:
        if want("processed"):
            await process(data)

    proxy.on_push_frame = on_push_frame
    proxy.on_process_frame = on_process_frame
    proxy.add_observer = add_observer
    proxy.remove_observer = remove_observer
    return True


def idle_frames_of(observer: Any) -> tuple[type, ...] | None:
    """The frames that keep a pipecat worker's pipeline from idling, for its idle
    observer (None for any other observer)."""
    from pipecat.pipeline.worker import IdleFrameObserver

    if not isinstance(observer, IdleFrameObserver):
        return None
    frames = getattr(observer, "_idle_timeout_frames", None)
    return frames if isinstance(frames, tuple) else None


# -- SmallWebRTC ------------------------------------------------------------


def _client(transport: Any) -> Any | None:
    client = getattr(transport, "_client", None)
    if client is None or not all(hasattr(client, f) for f in _CLIENT_FIELDS):
        return None
    return client


def replace_audio_reader(transport: Any, reader: Callable[[int], AsyncIterator[Any]]) -> bool:
    """pipecat reads the peer's audio from ``reader(pipeline_rate)`` instead."""
    client = _client(transport)
    if client is None:
        return False
    client.read_audio_frame = lambda: reader(client._in_sample_rate)
    return True


def after_peer_connects(
    transport: Any, hook: Callable[[Callable[[Callable[[int], Any]], Any]], Awaitable[None]]
) -> bool:
    """Run ``hook(swap_track)`` right after pipecat has set the peer up.

    ``swap_track(make)`` replaces the bot's audio track with ``make(out_rate)``
    and returns the new track (``None`` when the bot sends no audio).
    """
    client = _client(transport)
    if client is None:
        return False
    set_up = client._handle_client_connected

    def swap_track(make: Callable[[int], Any]) -> Any:
        if client._audio_output_track is None:
            return None
        track = make(client._out_sample_rate)
        client._audio_output_track = track
        return track

    async def then_hook() -> None:
        await set_up()
        await hook(swap_track)

    client._handle_client_connected = then_hook
    return True


def _silero_constants() -> SileroResetRule | None:
    try:
        from pipecat.audio.vad import silero
    except ImportError:
        return None
    try:
        return SileroResetRule(
            float(silero._MODEL_RESET_INTERVAL_SECS),
            float(silero._MODEL_RESET_MAX_CONFIDENCE),
            int(silero._MODEL_RESET_LOW_CONFIDENCE_WINDOWS),
        )
    except AttributeError:
        return None


def silero_reset_rule() -> SileroResetRule:
    """When Silero's recurrent state is reset: pipecat's rule, as installed."""
    return _silero_constants() or _RESET_RULE_1_14
