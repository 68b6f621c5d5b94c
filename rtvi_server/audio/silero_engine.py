"""One Silero VAD model serving every session of a process, in batches.

Unbatched, each session pays a full model call per 32 ms window (about 70 us
here) plus a thread hop. Here, the windows that are pending when the event loop
gets to them are evaluated together in one call with per-stream recurrent state
and context, so the per-window cost falls with the number of live sessions.
Results equal per-stream evaluation (tests check it to 1e-4).
``RTVI_VAD_GATHER_MS`` lets the engine wait that long for more sessions'
windows before a call: fewer, larger calls for that much later VAD decisions.
By default (``auto``) it waits ``AUTO_GATHER_MS`` once ``AUTO_GATHER_STREAMS``
streams are open, and not at all below that, where there is little to gather
and each session's turn latency counts most. A window from a stream that hears
nobody speaking (``quiet``: most windows, most of the time) waits longer, up to
``QUIET_GATHER_MS`` (``RTVI_VAD_QUIET_GATHER_MS``), since no turn ends on it; a
call goes as soon as every open stream has a window waiting, or a window that
may end a turn arrives. A model call costs this machine far more after other
work than back to back (cold caches: about 800 us for one window against 160,
and 1.9 ms for 8 against 3.6 for 32), so one call per round of all sessions
instead of several is most of the VAD's cost saved. For the same reason a quiet
stream may hand in its windows a few at a time (``confidence_run``): the run's
later calls follow the first within the same flush, on warm caches.

The model calls may run on a thread of their own (``RTVI_VAD_THREAD``: ``on``,
``off``, or ``auto``, the default: from ``AUTO_THREAD_STREAMS`` open streams, where
the process may use a second CPU). onnxruntime and torch let go of the GIL while
they compute, so the event loop goes on receiving, decoding and routing every
session's audio meanwhile. One flush is in flight at a time and takes every
stream's state along, so each stream's windows still go through the model one
after another, and a result reaches its session only after the state it left is
stored. With few sessions the loop has the time and the hop is pure cost (at 32
talking sessions on this project's 2-core machine, about 7% more CPU per frame
and no latency gained; at 48 no difference); with many, the model's share of a
talking loop moves to the other core: 64 talking sessions held real time in 4
runs of 8 with the thread and 1 of 9 without it, at the same CPU per frame.

Two backends run the same Silero model: onnxruntime on the CPU (the default:
the ONNX file pipecat ships) and torch (the TorchScript file the silero-vad
package ships), which runs on a CUDA GPU when one is present, where a large
batch costs little more than a small one. ``RTVI_VAD_BACKEND`` picks one for the
process: ``onnx``, ``torch``, or ``auto`` (torch when CUDA is available, else onnx).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.resources
import importlib.util
import itertools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import onnxruntime

SAMPLE_RATE: Final = 16000
WINDOW: Final = 512
CONTEXT: Final = 64
STATE_SHAPE: Final = (2, 128)

Float32Array = npt.NDArray[np.float32]


BACKENDS: Final = ("onnx", "torch", "auto")


def pipecat_model_path() -> Path:
    """The ONNX Silero model pipecat ships (and ``SileroVADAnalyzer`` runs)."""
    return Path(str(importlib.resources.files("pipecat.audio.vad.data") / "silero_vad.onnx"))


def _silero_package_file(name: str) -> Path | None:
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / name
    return path if path.exists() else None


def default_model_path() -> Path:
    """The ONNX model the engine runs: the silero-vad package's export of the same
    weights without the 8 kHz branch (an ``If`` node per call), about a sixth
    cheaper per call; pipecat's own file when that package is absent."""
    return _silero_package_file("silero_vad_op18_ifless.onnx") or pipecat_model_path()


def torchscript_model_path() -> Path:
    """The TorchScript Silero model of the silero-vad package (the same weights)."""
    path = _silero_package_file("silero_vad.jit")
    if path is None:
        raise RuntimeError("the torch VAD backend needs the silero-vad package")
    return path


class SileroBackend(Protocol):
    """One batched step of the 16 kHz Silero model: (B, 576) windows with context,
    (2, B, 128) state in; (B, 1) probabilities and the next state out."""

    name: str

    def run(self, batch: Float32Array, state: Float32Array) -> tuple[Any, Any]: ...


class OnnxSilero:
    name = "onnx"

    def __init__(self, model_path: Path | None = None, *, threads: int = 1) -> None:
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # the export's unused initializers are not news
        self._session = onnxruntime.InferenceSession(
            str(model_path or default_model_path()),
            providers=["CPUExecutionProvider"],
            sess_options=options,
        )
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    def run(self, batch: Float32Array, state: Float32Array) -> tuple[Any, Any]:
        output, new_state = self._session.run(
            None, {"input": batch, "state": state, "sr": self._sr}
        )
        return output, new_state


class TorchSilero:
    """The TorchScript model's 16 kHz network, on ``device`` (CUDA when present)."""

    def __init__(self, device: str | None = None, *, threads: int = 1) -> None:
        import torch

        self._torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.name = f"torch-{self.device}"
        if self.device == "cpu":
            torch.set_num_threads(threads)
        load: Any = torch.jit.load
        scripted = load(str(torchscript_model_path()), map_location=self.device)
        scripted.eval()
        self._model = scripted._model  # the 16 kHz network: (x with context, state)

    def run(self, batch: Float32Array, state: Float32Array) -> tuple[Any, Any]:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, non_blocking=True)
            h = torch.from_numpy(np.ascontiguousarray(state)).to(self.device, non_blocking=True)
            output, new_state = self._model(x, h)
            return output.cpu().numpy(), new_state.cpu().numpy()


def create_backend(kind: str | None = None, *, threads: int = 1) -> SileroBackend:
    """The backend ``kind`` names (default: ``RTVI_VAD_BACKEND``, else onnx)."""
    kind = (kind or os.environ.get("RTVI_VAD_BACKEND") or "onnx").lower()
    if kind not in BACKENDS:
        raise ValueError(f"RTVI_VAD_BACKEND must be one of {', '.join(BACKENDS)}, not {kind!r}")
    if kind == "auto":
        try:
            import torch
        except ImportError:
            return OnnxSilero(threads=threads)
        kind = "torch" if torch.cuda.is_available() else "onnx"
    if kind == "torch":
        return TorchSilero(threads=threads)
    return OnnxSilero(threads=threads)


@dataclass
class _Stream:
    state: Float32Array = field(default_factory=lambda: np.zeros(STATE_SHAPE, np.float32))
    context: Float32Array = field(default_factory=lambda: np.zeros(CONTEXT, np.float32))
    #: Counts resets: a flush in flight when the stream is reset leaves its state be.
    generation: int = 0

    def reset(self) -> None:
        self.state = np.zeros(STATE_SHAPE, np.float32)
        self.context = np.zeros(CONTEXT, np.float32)
        self.generation += 1


#: A stream's recurrent state and its last 64 samples of context.
StreamState = tuple[Float32Array, Float32Array]
_Pending = tuple[int, Float32Array, "asyncio.Future[float]"]


def step_batch(
    backend: SileroBackend,
    stream_ids: Sequence[int],
    windows: Float32Array,
    states: dict[int, StreamState],
) -> Float32Array:
    """One model call for one window per stream; ``states`` advance in place.

    Pure apart from ``states``, so it runs as well on the model's thread as on
    the loop's."""
    contexts = np.stack([states[s][1] for s in stream_ids])
    batch = np.concatenate((contexts, windows), axis=1)
    state = np.stack([states[s][0] for s in stream_ids], axis=1)
    output, new_state = backend.run(batch, state)
    for i, stream_id in enumerate(stream_ids):
        states[stream_id] = (new_state[:, i, :], batch[i, -CONTEXT:])
    result: Float32Array = np.asarray(output, dtype=np.float32).reshape(-1)
    return result


def _rounds(pending: list[_Pending]) -> list[list[_Pending]]:
    """The pending windows in model calls: one window per stream per call, a
    stream's later windows in the calls after, in the order they came."""
    rounds: list[list[_Pending]] = []
    depth: dict[int, int] = {}
    for item in pending:
        n = depth.get(item[0], 0)
        depth[item[0]] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(item)
    return rounds


def _run_rounds(
    backend: SileroBackend, rounds: list[list[_Pending]], states: dict[int, StreamState]
) -> list[Float32Array]:
    return [
        step_batch(backend, [s for s, _, _ in r], np.stack([w for _, w, _ in r]), states)
        for r in rounds
    ]


def _thread_mode() -> str:
    mode = os.environ.get("RTVI_VAD_THREAD", "auto").strip().lower()
    if mode not in ("on", "off", "auto"):
        raise ValueError(f"RTVI_VAD_THREAD must be on, off or auto, not {mode!r}")
    return mode


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: From how many open streams ``auto`` runs the model calls on their thread.
AUTO_THREAD_STREAMS = 48


#: The automatic gather window, and from how many open streams it applies (measured
#: at 32 listening sessions: 0.456 -> 0.404 ms of CPU per 20 ms frame with 8 ms).
AUTO_GATHER_MS = 8
AUTO_GATHER_STREAMS = 8
#: How long a quiet stream's window may wait for the other streams' windows: one
#: window's length, so each stream has at most one window waiting. It delays
#: hearing a user start (by 16 ms on average; the VAD confirms a start
#: ``start_secs``, 200 ms, after it), never a turn's end.
QUIET_GATHER_MS = 32


class SileroBatchEngine:
    """Batched Silero VAD over many independent audio streams (16 kHz)."""

    def __init__(self, backend: SileroBackend | None = None, *, threads: int = 1) -> None:
        self.backend = backend or create_backend(threads=threads)
        raw = os.environ.get("RTVI_VAD_GATHER_MS", "auto").strip().lower()
        self._fixed_gather_secs = None if raw == "auto" else float(raw) / 1000
        quiet = os.environ.get("RTVI_VAD_QUIET_GATHER_MS", str(QUIET_GATHER_MS))
        self.quiet_gather_secs = float(quiet) / 1000
        self._streams: dict[int, _Stream] = {}
        self._ids = itertools.count(1)
        self._pending: list[tuple[int, Float32Array, asyncio.Future[float]]] = []
        self._pending_streams: set[int] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._flush_due = math.inf
        #: ``on``, ``off`` or ``auto`` (see :attr:`off_loop`).
        self.thread_mode = _thread_mode()
        self._cpus = usable_cpus()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        #: The loop a flush is in flight on (None: none is).
        self._flight_loop: asyncio.AbstractEventLoop | None = None
        self._flush_again = False
        self.calls = 0
        self.windows = 0
        #: Flushes whose model calls ran on the model's thread.
        self.off_loop_flushes = 0

    def open_stream(self) -> int:
        stream_id = next(self._ids)
        self._streams[stream_id] = _Stream()
        return stream_id

    def close_stream(self, stream_id: int) -> None:
        self._streams.pop(stream_id, None)

    def reset_stream(self, stream_id: int) -> None:
        self._streams[stream_id].reset()

    @property
    def streams(self) -> int:
        return len(self._streams)

    @property
    def off_loop(self) -> bool:
        """Whether the next flush runs its model calls on the model's thread: always
        (``on``), never (``off``), or with ``auto`` once ``AUTO_THREAD_STREAMS``
        streams are open and the process may use a second CPU."""
        if self.thread_mode == "auto":
            return self._cpus >= 2 and len(self._streams) >= AUTO_THREAD_STREAMS
        return self.thread_mode == "on"

    @property
    def gather_secs(self) -> float:
        """How long a window waits for other streams' windows before the model call."""
        if self._fixed_gather_secs is not None:
            return self._fixed_gather_secs
        return AUTO_GATHER_MS / 1000 if len(self._streams) >= AUTO_GATHER_STREAMS else 0.0

    def evaluate(self, stream_ids: list[int], windows: Float32Array) -> Float32Array:
        """Speech probability for one 512-sample window per stream, in one model call.

        ``windows`` is ``(len(stream_ids), 512)`` float32 in [-1, 1]. A stream may
        appear once per call (its state advances by one window).
        """
        states = self._states_of(stream_ids)
        result = step_batch(self.backend, stream_ids, windows, states)
        self._store(states, None)
        self.calls += 1
        self.windows += len(stream_ids)
        return result

    def _states_of(self, stream_ids: Iterable[int]) -> dict[int, StreamState]:
        return {s: (self._streams[s].state, self._streams[s].context) for s in stream_ids}

    def _store(self, states: dict[int, StreamState], generations: dict[int, int] | None) -> None:
        """Keep the states a flush left, but not for streams closed or reset since."""
        for stream_id, (state, context) in states.items():
            stream = self._streams.get(stream_id)
            if stream is None:
                continue
            if generations is not None and stream.generation != generations[stream_id]:
                continue
            stream.state, stream.context = state, context

    async def confidence(
        self, stream_id: int, window: Float32Array, *, quiet: bool = False
    ) -> float:
        """Queue one window; it shares a model call with every window queued before it goes.

        ``quiet``: this stream hears nobody speaking, so its window may wait up to
        ``quiet_gather_secs`` for the others' (no turn ends on it).
        """
        loop = asyncio.get_running_loop()
        future = self._queue(loop, stream_id, window)
        self._schedule_flush(loop, self._wait(quiet, self.quiet_gather_secs))
        return await future

    async def confidence_run(
        self, stream_id: int, windows: Sequence[Float32Array], *, wait_windows: int = 0
    ) -> list[float]:
        """Consecutive windows of one stream, evaluated back to back in one flush.

        A stream that hears nobody speaking may hold its windows a few at a time:
        every model call of a flush after the first runs on warm caches and costs
        this machine a fraction of it. The run may wait up to ``wait_windows`` times
        ``quiet_gather_secs`` for the other streams' runs (0: no waiting for them).
        """
        loop = asyncio.get_running_loop()
        futures = [self._queue(loop, stream_id, window) for window in windows]
        wait = wait_windows * self.quiet_gather_secs
        self._schedule_flush(loop, self._wait(wait_windows > 0, wait))
        # gather retrieves every failure when one window's call fails.
        return list(await asyncio.gather(*futures))

    def _queue(
        self, loop: asyncio.AbstractEventLoop, stream_id: int, window: Float32Array
    ) -> asyncio.Future[float]:
        future: asyncio.Future[float] = loop.create_future()
        self._pending.append((stream_id, window, future))
        self._pending_streams.add(stream_id)
        return future

    def _wait(self, quiet: bool, quiet_secs: float) -> float:
        if len(self._pending_streams) >= len(self._streams):
            return 0.0  # every open stream has a window here: nothing more to gather
        return max(quiet_secs, self.gather_secs) if quiet else self.gather_secs

    def _schedule_flush(self, loop: asyncio.AbstractEventLoop, wait: float) -> None:
        """Flush ``wait`` from now, unless a flush is already due by then."""
        due = loop.time() + wait
        if self._flush_handle is not None:
            if self._flush_due <= due:
                return
            self._flush_handle.cancel()
        self._flush_due = due
        if wait > 0:
            self._flush_handle = loop.call_at(due, self._flush)
        else:
            self._flush_handle = loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle, self._flush_due = None, math.inf
        if self._in_flight():  # the windows go with the next flush, once this one lands
            self._flush_again = True
            return
        pending, self._pending = self._pending, []
        self._pending_streams = set()
        live: list[_Pending] = []
        for item in pending:
            if item[2].done():
                continue
            if item[0] in self._streams:
                live.append(item)
            else:
                item[2].set_result(0.0)  # its stream closed: nobody judges it
        if not live:
            return
        if self.off_loop:
            self._fly(live)
            return
        states = self._states_of({s for s, _, _ in live})
        try:
            probs = _run_rounds(self.backend, rounds := _rounds(live), states)
        except Exception as exc:  # one bad call fails its windows, not the loop
            _fail(live, exc)
            return
        self._store(states, None)
        self._settle_rounds(rounds, probs)

    def _in_flight(self) -> bool:
        """A flush is in flight on a loop that still runs (one closed with a flush in
        flight never lands it: its windows' futures went with it)."""
        loop = self._flight_loop
        if loop is not None and loop.is_closed():
            self._flight_loop = None
        return self._flight_loop is not None

    def _fly(self, live: list[_Pending]) -> None:
        """Run the flush's model calls on the model's thread; the loop goes on."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, "rtvi-vad")
        stream_ids = {s for s, _, _ in live}
        states = self._states_of(stream_ids)
        generations = {s: self._streams[s].generation for s in stream_ids}
        rounds = _rounds(live)
        loop = asyncio.get_running_loop()
        flight = loop.run_in_executor(self._executor, _run_rounds, self.backend, rounds, states)
        self._flight_loop = loop
        self.off_loop_flushes += 1

        def landed(done: asyncio.Future[list[Float32Array]]) -> None:
            self._flight_loop = None
            exc = done.exception()
            if exc is not None:
                _fail(live, exc)
            else:
                self._store(states, generations)
                self._settle_rounds(rounds, done.result())
            if self._flush_again:
                self._flush_again = False
                self._flush()

        flight.add_done_callback(landed)

    def _settle_rounds(self, rounds: list[list[_Pending]], probs: list[Float32Array]) -> None:
        for r, p in zip(rounds, probs, strict=True):
            self.calls += 1
            self.windows += len(r)
            for (_, _, future), value in zip(r, p, strict=True):
                if not future.done():
                    future.set_result(float(value))


def _fail(items: list[_Pending], exc: BaseException) -> None:
    for _, _, future in items:
        if not future.done():
            future.set_exception(exc)


_shared: SileroBatchEngine | None = None


def shared_engine() -> SileroBatchEngine:
    """The process-wide engine (created on first use)."""
    global _shared
    if _shared is None:
        _shared = SileroBatchEngine()
    return _shared


def pcm16_to_float(buffer: bytes) -> Float32Array:
    return np.frombuffer(buffer, np.int16).astype(np.float32) / 32768.0
