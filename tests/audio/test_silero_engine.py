"""The engine's model calls on the model's own thread: the same probabilities and
decisions as on the event loop, each stream's windows in order, and resets,
closes and failures during a flight handled as on the loop."""

import asyncio
import threading

import numpy as np
import pytest
from pipecat.audio.vad.vad_analyzer import VADParams

from rtvi_server.audio import SileroBatchEngine, silero_engine
from rtvi_server.audio.silero_engine import AUTO_THREAD_STREAMS, WINDOW, OnnxSilero
from tests.audio.test_batched_vad import assert_together_as_pipecat, heard


class GatedBackend:
    """The ONNX model, holding each call until the test lets it go."""

    name = "gated"

    def __init__(self) -> None:
        self.model = OnnxSilero()
        self.entered = threading.Event()
        self.go = threading.Event()
        self.threads: set[str] = set()
        self.fail = False

    def run(self, batch, state):
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        self.go.wait(30)
        if self.fail:
            raise RuntimeError("model failed")
        return self.model.run(batch, state)


def random_windows(seed, streams, count):
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.4, 0.4, size=(streams, count, WINDOW)).astype(np.float32)


def sequential(windows):
    """Each stream's windows evaluated one by one on a fresh in-loop engine."""
    check = SileroBatchEngine()
    out = []
    for stream in windows:
        sid = check.open_stream()
        out.append([check.evaluate([sid], w[None, :])[0] for w in stream])
    return np.array(out)


@pytest.fixture
def on_thread(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_THREAD", "on")
    monkeypatch.setenv("RTVI_VAD_GATHER_MS", "0")


async def runs_of(engine, windows):
    ids = [engine.open_stream() for _ in windows]
    return np.array(
        await asyncio.gather(
            *(engine.confidence_run(s, list(w)) for s, w in zip(ids, windows, strict=True))
        )
    )


async def test_off_loop_flushes_give_the_in_loop_probabilities(on_thread, monkeypatch):
    windows = random_windows(11, 12, 4)
    engine = SileroBatchEngine()
    got = await runs_of(engine, windows)
    assert engine.off_loop_flushes == 1
    assert engine.calls == 4  # one call per round of the twelve streams
    monkeypatch.setenv("RTVI_VAD_THREAD", "off")
    in_loop = SileroBatchEngine()
    np.testing.assert_array_equal(got, await runs_of(in_loop, windows))
    assert in_loop.off_loop_flushes == 0
    np.testing.assert_allclose(got, sequential(windows), atol=1e-4)


async def in_flight(seed, count):
    """An engine whose first window, of ``count`` for one stream, is on the model's
    thread and held there: (backend, engine, stream, windows, first's result)."""
    backend = GatedBackend()
    engine = SileroBatchEngine(backend)
    sid = engine.open_stream()
    windows = random_windows(seed, 1, count)[0]
    first = asyncio.ensure_future(engine.confidence(sid, windows[0]))
    await asyncio.to_thread(backend.entered.wait, 30)
    return backend, engine, sid, windows, first


async def test_windows_queued_during_a_flight_follow_it_with_its_state(on_thread):
    backend, engine, sid, windows, first = await in_flight(12, 3)
    rest = [asyncio.ensure_future(engine.confidence(sid, w)) for w in windows[1:]]
    backend.go.set()
    got = [await first] + [await r for r in rest]
    assert engine.off_loop_flushes == 2  # the later windows waited for the first's state
    assert backend.threads == {"rtvi-vad_0"}
    np.testing.assert_array_equal(got, sequential(windows[None])[0])


async def test_a_reset_during_a_flight_is_not_undone_when_it_lands(on_thread):
    backend, engine, sid, windows, first = await in_flight(13, 2)
    engine.reset_stream(sid)
    backend.go.set()
    await first
    after_reset = await engine.confidence(sid, windows[1])
    fresh = sequential(windows[1:][None])[0][0]
    assert after_reset == fresh  # the model started again from the reset state


async def test_a_stream_closed_during_a_flight_resolves_and_is_not_revived(on_thread):
    backend = GatedBackend()
    engine = SileroBatchEngine(backend)
    sid, other = engine.open_stream(), engine.open_stream()
    windows = random_windows(14, 2, 1)
    pending = [
        asyncio.ensure_future(engine.confidence(s, w[0]))
        for s, w in zip((sid, other), windows, strict=True)
    ]
    await asyncio.to_thread(backend.entered.wait, 30)
    engine.close_stream(sid)
    backend.go.set()
    results = await asyncio.gather(*pending)
    assert all(0.0 <= r <= 1.0 for r in results)
    assert engine.streams == 1
    assert sid not in engine._streams


async def test_a_failed_call_fails_its_windows_and_the_next_flush_runs(on_thread):
    backend = GatedBackend()
    backend.fail = True
    backend.go.set()
    engine = SileroBatchEngine(backend)
    sid = engine.open_stream()
    window = random_windows(15, 1, 1)[0][0]
    with pytest.raises(RuntimeError, match="model failed"):
        await engine.confidence(sid, window)
    backend.fail = False
    assert await engine.confidence(sid, window) == sequential(window[None, None])[0][0]


def test_the_thread_is_asked_for(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_THREAD", "on")
    assert SileroBatchEngine().off_loop
    monkeypatch.setenv("RTVI_VAD_THREAD", "off")
    engine = SileroBatchEngine()
    for _ in range(AUTO_THREAD_STREAMS):
        engine.open_stream()
    assert not engine.off_loop
    monkeypatch.setenv("RTVI_VAD_THREAD", "sideways")
    with pytest.raises(ValueError, match="RTVI_VAD_THREAD"):
        SileroBatchEngine()


@pytest.mark.parametrize("cpus", [1, 2])
def test_by_default_the_thread_comes_with_many_streams_and_a_second_cpu(monkeypatch, cpus):
    monkeypatch.delenv("RTVI_VAD_THREAD", raising=False)
    monkeypatch.setattr(silero_engine, "usable_cpus", lambda: cpus)
    engine = SileroBatchEngine()
    assert engine.thread_mode == "auto"
    ids = [engine.open_stream() for _ in range(AUTO_THREAD_STREAMS - 1)]
    assert not engine.off_loop
    ids.append(engine.open_stream())
    assert engine.off_loop == (cpus >= 2)
    engine.close_stream(ids.pop())
    assert not engine.off_loop


async def test_auto_moves_between_loop_and_thread_with_the_same_probabilities(monkeypatch):
    """Streams open and close across the threshold mid-conversation: the flushes
    move between the loop and the thread, and each stream's probabilities stay
    those of its windows one by one."""
    monkeypatch.delenv("RTVI_VAD_THREAD", raising=False)
    monkeypatch.setenv("RTVI_VAD_GATHER_MS", "0")
    monkeypatch.setattr(silero_engine, "usable_cpus", lambda: 2)
    engine = SileroBatchEngine()
    kept = random_windows(21, 3, 6)
    ids = [engine.open_stream() for _ in kept]
    extra = [engine.open_stream() for _ in range(AUTO_THREAD_STREAMS)]
    got = [[] for _ in kept]
    for step in range(6):
        if step == 3:
            for sid in extra:  # the crowd leaves: the rest are judged on the loop
                engine.close_stream(sid)
        results = await asyncio.gather(
            *(engine.confidence(s, kept[i][step]) for i, s in enumerate(ids))
        )
        for i, value in enumerate(results):
            got[i].append(value)
    assert engine.off_loop_flushes == 3  # the first three steps, with the crowd open
    np.testing.assert_allclose(np.array(got), sequential(kept), atol=1e-4)


@pytest.mark.slow
async def test_off_loop_decisions_are_pipecats_on_every_fixture(fixtures, on_thread):
    """Every fixture's session at once, their model calls on the thread: what the
    controller hears, frame by frame, is what pipecat's own analyzer hears."""
    engine = SileroBatchEngine()
    await assert_together_as_pipecat(fixtures, engine, VADParams(), heard)
    assert engine.off_loop_flushes > 0


def test_a_flight_on_a_loop_that_closed_does_not_hold_the_next_loops_flushes(on_thread):
    backend = GatedBackend()
    engine = SileroBatchEngine(backend)
    sid = engine.open_stream()
    window = random_windows(16, 1, 1)[0][0]

    async def take_off():
        held = asyncio.ensure_future(engine.confidence(sid, window))
        await asyncio.to_thread(backend.entered.wait, 30)
        held.cancel()  # its session ends with its loop

    first = asyncio.new_event_loop()
    first.run_until_complete(take_off())
    first.run_until_complete(first.shutdown_default_executor())
    first.close()
    backend.go.set()
    again = asyncio.run(asyncio.wait_for(engine.confidence(sid, window), 30))
    assert 0.0 <= again <= 1.0
    assert engine.off_loop_flushes == 2
