"""The batched VAD engine equals per-stream Silero, and decides exactly as pipecat does."""

import asyncio

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from rtvi_server.audio import BatchedSileroVADAnalyzer, SileroBatchEngine
from rtvi_server.audio.batched_vad import MANY_STREAMS
from rtvi_server.audio.silero_engine import (
    AUTO_GATHER_MS,
    AUTO_GATHER_STREAMS,
    WINDOW,
    OnnxSilero,
    TorchSilero,
    create_backend,
    pcm16_to_float,
    pipecat_model_path,
)
from rtvi_server.testing import read_wav_pcm16

FIXTURES = [
    "librivox_sense_and_sensibility_0870.wav",
    "librivox_sense_and_sensibility_0930.wav",
    "espeak_ng_weather_question.wav",
]


def audio(fixtures, name, lead=1.0, tail=2.5):
    pcm = read_wav_pcm16(fixtures / name, 16000)
    silence = lambda s: b"\0" * int(16000 * 2 * s)  # noqa: E731
    # Speech, a pause, the speech again: exercises start, stop and the model reset.
    return silence(lead) + pcm + silence(tail) + pcm + silence(tail)


BACKENDS = {"onnx": OnnxSilero, "torch": lambda: TorchSilero("cpu")}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request):
    """Each CPU backend; the torch one is what runs on a GPU when there is one."""
    return BACKENDS[request.param]()


def heard(states):
    """What pipecat's ``VADController`` acts on, frame by frame: it reports speaking
    and quiet, and ignores starting and stopping."""
    current, out = VADState.QUIET, []
    for state in states:
        if state in (VADState.SPEAKING, VADState.QUIET):
            current = state
        out.append(current)
    return out


def windows_of(pcm):
    floats = pcm16_to_float(pcm)
    n = len(floats) // WINDOW
    return floats[: n * WINDOW].reshape(n, WINDOW)


@pytest.mark.slow
def test_batched_probabilities_equal_per_stream_evaluation(fixtures, backend):
    streams = [windows_of(audio(fixtures, f)) for f in FIXTURES] * 4  # 12 streams
    length = min(len(w) for w in streams)
    reference = np.zeros((len(streams), length), np.float32)
    for i, windows in enumerate(streams):
        model = SileroOnnxModel(str(pipecat_model_path()))  # pipecat's own wrapper
        for t in range(length):
            reference[i, t] = model(windows[t][None, :], 16000)[0, 0]
    engine = SileroBatchEngine(backend)
    ids = [engine.open_stream() for _ in streams]
    batched = np.stack(
        [engine.evaluate(ids, np.stack([w[t] for w in streams])) for t in range(length)], axis=1
    )
    assert engine.calls == length
    assert np.abs(batched - reference).max() <= 1e-4
    assert reference.max() > 0.9  # there is speech in there


async def test_async_windows_of_many_sessions_share_model_calls():
    engine = SileroBatchEngine()
    ids = [engine.open_stream() for _ in range(16)]
    rng = np.random.default_rng(7)
    windows = rng.uniform(-0.3, 0.3, size=(16, WINDOW)).astype(np.float32)
    results = await asyncio.gather(
        *(engine.confidence(s, w) for s, w in zip(ids, windows, strict=True))
    )
    assert engine.calls == 1
    assert engine.windows == 16
    check = SileroBatchEngine()
    single = [check.evaluate([check.open_stream()], w[None, :])[0] for w in windows]
    assert np.allclose(results, single, atol=1e-4)


async def test_the_gather_window_opens_with_many_streams_unless_set(monkeypatch):
    monkeypatch.delenv("RTVI_VAD_GATHER_MS", raising=False)
    engine = SileroBatchEngine()
    ids = [engine.open_stream() for _ in range(AUTO_GATHER_STREAMS - 1)]
    assert engine.gather_secs == 0.0  # a few sessions: every VAD decision at once
    ids.append(engine.open_stream())
    assert engine.gather_secs == AUTO_GATHER_MS / 1000
    engine.close_stream(ids.pop())
    assert engine.gather_secs == 0.0
    monkeypatch.setenv("RTVI_VAD_GATHER_MS", "0")
    fixed = SileroBatchEngine()
    for _ in range(AUTO_GATHER_STREAMS * 2):
        fixed.open_stream()
    assert fixed.gather_secs == 0.0


async def test_a_gather_window_batches_windows_that_arrive_apart(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_GATHER_MS", "30")
    engine = SileroBatchEngine()
    ids = [engine.open_stream() for _ in range(4)]
    windows = np.random.default_rng(3).uniform(-0.3, 0.3, size=(4, WINDOW)).astype(np.float32)

    async def later(i):
        await asyncio.sleep(0.005 * i)  # one window every 5 ms, as sessions' packets arrive
        return await engine.confidence(ids[i], windows[i])

    results = await asyncio.gather(*(later(i) for i in range(4)))
    assert engine.calls == 1
    check = SileroBatchEngine()
    single = [check.evaluate([check.open_stream()], w[None, :])[0] for w in windows]
    assert np.allclose(results, single, atol=1e-4)


async def test_quiet_windows_wait_for_every_stream_and_share_one_call(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_QUIET_GATHER_MS", "600000")  # only a full round sends them
    engine = SileroBatchEngine()
    ids = [engine.open_stream() for _ in range(4)]
    windows = np.random.default_rng(5).uniform(-0.3, 0.3, size=(4, WINDOW)).astype(np.float32)

    async def later(i):
        for _ in range(i):  # the windows come in on separate turns of the loop
            await asyncio.sleep(0)
        return await engine.confidence(ids[i], windows[i], quiet=True)

    results = await asyncio.wait_for(asyncio.gather(*(later(i) for i in range(4))), 10)
    assert engine.calls == 1  # with 4 streams a window that may end a turn would not wait
    check = SileroBatchEngine()
    single = [check.evaluate([check.open_stream()], w[None, :])[0] for w in windows]
    assert np.allclose(results, single, atol=1e-4)


async def test_a_window_that_may_end_a_turn_takes_the_waiting_quiet_ones_along(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_QUIET_GATHER_MS", "600000")
    monkeypatch.setenv("RTVI_VAD_GATHER_MS", "0")
    engine = SileroBatchEngine()
    ids = [engine.open_stream() for _ in range(4)]
    windows = np.random.default_rng(6).uniform(-0.3, 0.3, size=(2, WINDOW)).astype(np.float32)
    quiet = asyncio.ensure_future(engine.confidence(ids[0], windows[0], quiet=True))
    await asyncio.sleep(0)
    speaking = engine.confidence(ids[1], windows[1])  # another stream hears speech
    both = await asyncio.wait_for(asyncio.gather(quiet, speaking), 10)
    assert engine.calls == 1
    assert engine.windows == 2
    check = SileroBatchEngine()
    assert np.allclose(
        both, [check.evaluate([check.open_stream()], w[None, :])[0] for w in windows], atol=1e-4
    )


async def test_a_quiet_window_alone_waits_its_gather_time_at_most(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_QUIET_GATHER_MS", "40")
    engine = SileroBatchEngine()
    ids = [engine.open_stream() for _ in range(3)]  # the other two send nothing
    loop = asyncio.get_running_loop()
    queued = loop.time()
    window = np.zeros(WINDOW, np.float32)
    await asyncio.wait_for(engine.confidence(ids[0], window, quiet=True), 10)
    assert loop.time() - queued >= 0.04 - 1e-3  # it waited for the others, then went alone
    assert engine.calls == 1


async def test_one_stream_never_waits(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_QUIET_GATHER_MS", "600000")
    engine = SileroBatchEngine()
    stream = engine.open_stream()
    window = np.zeros(WINDOW, np.float32)
    await asyncio.wait_for(engine.confidence(stream, window, quiet=True), 10)  # a round of one
    assert engine.calls == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "params",
    [
        VADParams(),
        VADParams(stop_secs=0.2, start_secs=0.1),
        VADParams(confidence=0.5, min_volume=0.3),
    ],
)
@pytest.mark.parametrize("mode", ["window-by-window", "quiet-runs", "quiet-runs-many"])
async def test_decisions_are_identical_to_pipecat_on_every_fixture(
    fixtures, params, backend, mode, monkeypatch
):
    """Window by window, every state is pipecat's at every frame; with quiet windows
    judged in runs (long ones with few streams open, pairs with many), what the
    controller hears (speaking, quiet) is."""
    pair = mode != "window-by-window"
    view = heard if pair else list
    monkeypatch.setenv("RTVI_VAD_GATHER_MS", "0")
    monkeypatch.setenv("RTVI_VAD_QUIET_GATHER_MS", "0")
    engine = SileroBatchEngine(backend)
    if mode == "quiet-runs-many":  # streams that send nothing make the engine's "many"
        for _ in range(MANY_STREAMS):
            engine.open_stream()
    streams = [audio(fixtures, f) for f in FIXTURES]
    chunk = 16000 * 2 * 20 // 1000  # 20 ms frames, as a transport delivers them
    for pcm in streams:
        reference = SileroVADAnalyzer(sample_rate=16000, params=params)
        reference.set_sample_rate(16000)
        expected = [
            await reference.analyze_audio(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)
        ]
        assert {s.name for s in expected} >= {"SPEAKING", "QUIET"}
        ours = BatchedSileroVADAnalyzer(params=params, engine=engine, quiet_runs=pair)
        ours.set_sample_rate(16000)
        got = [await ours.analyze_audio(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)]
        assert view(got) == view(expected)
        await ours.cleanup()  # its stream closes: the next rounds are of the live ones

    # All three at once, batched together: still identical, frame by frame.
    calls_before = engine.calls
    await assert_together_as_pipecat(fixtures, engine, params, view, quiet_runs=pair)
    assert engine.calls - calls_before < sum(len(p) for p in streams) // (WINDOW * 2)  # batched


async def assert_together_as_pipecat(fixtures, engine, params, view, *, quiet_runs=True):
    """Every fixture's session at once on ``engine``: what each hears (``view`` of
    its states, 20 ms frame by frame) is what pipecat's own analyzer hears."""
    streams = [audio(fixtures, f) for f in FIXTURES]
    analyzers = []
    for _ in streams:
        a = BatchedSileroVADAnalyzer(params=params, engine=engine, quiet_runs=quiet_runs)
        a.set_sample_rate(16000)
        analyzers.append(a)
    chunk = 16000 * 2 * 20 // 1000
    length = max(len(p) for p in streams)
    together = [[] for _ in streams]
    for i in range(0, length, chunk):
        states = await asyncio.gather(
            *(
                a.analyze_audio(p[i : i + chunk] or b"\0" * chunk)
                for a, p in zip(analyzers, streams, strict=True)
            )
        )
        for out, state in zip(together, states, strict=True):
            out.append(state)
    for pcm, out in zip(streams, together, strict=True):
        reference = SileroVADAnalyzer(sample_rate=16000, params=params)
        reference.set_sample_rate(16000)
        expected = [
            await reference.analyze_audio(pcm[i : i + chunk] or b"\0" * chunk)
            for i in range(0, length, chunk)
        ]
        assert view(out) == view(expected)


def test_backend_choice(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_BACKEND", "tpu")
    with pytest.raises(ValueError, match="RTVI_VAD_BACKEND"):
        create_backend()
    monkeypatch.setenv("RTVI_VAD_BACKEND", "torch")
    assert create_backend().name.startswith("torch-")
    monkeypatch.delenv("RTVI_VAD_BACKEND")
    assert create_backend().name == "onnx"
    import torch

    expected = "torch-cuda" if torch.cuda.is_available() else "onnx"
    assert create_backend("auto").name == expected


@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="no CUDA device on this machine"
)
def test_gpu_backend_equals_the_cpu_model(fixtures):
    streams = [windows_of(audio(fixtures, f)) for f in FIXTURES] * 43  # 129 streams
    length = min(len(w) for w in streams)
    gpu, cpu = SileroBatchEngine(TorchSilero("cuda")), SileroBatchEngine(OnnxSilero())
    gpu_ids = [gpu.open_stream() for _ in streams]
    cpu_ids = [cpu.open_stream() for _ in streams]
    for t in range(length):
        windows = np.stack([w[t] for w in streams])
        assert np.abs(gpu.evaluate(gpu_ids, windows) - cpu.evaluate(cpu_ids, windows)).max() <= 1e-4


async def test_quiet_windows_of_a_lone_stream_are_judged_a_start_at_a_time():
    engine = SileroBatchEngine()
    analyzer = BatchedSileroVADAnalyzer(engine=engine)  # start_secs 0.2: six windows
    analyzer.set_sample_rate(16000)
    frame = b"\0" * 640  # 20 ms
    for _ in range(9):  # 180 ms: five whole windows, all of the run's first six
        assert await analyzer.analyze_audio(frame) == VADState.QUIET
    assert engine.windows == 0
    assert await analyzer.analyze_audio(frame) == VADState.QUIET
    assert engine.windows == 6
    assert engine.calls == 6  # one flush, six calls: a stream's windows go one per call
    await analyzer.cleanup()


async def test_with_many_streams_quiet_windows_are_judged_in_pairs(monkeypatch):
    monkeypatch.setenv("RTVI_VAD_QUIET_GATHER_MS", "0")
    monkeypatch.setenv("RTVI_VAD_GATHER_MS", "0")
    engine = SileroBatchEngine()
    for _ in range(MANY_STREAMS - 1):
        engine.open_stream()
    analyzer = BatchedSileroVADAnalyzer(engine=engine)
    analyzer.set_sample_rate(16000)
    frame = b"\0" * 640
    for _ in range(5):  # 100 ms: three whole windows, the third the first of a pair
        assert await analyzer.analyze_audio(frame) == VADState.QUIET
    assert engine.windows == 2
    assert engine.calls == 2
    await analyzer.cleanup()


async def test_a_run_scores_as_its_windows_one_after_another():
    rng = np.random.default_rng(3)
    windows = list(rng.uniform(-0.5, 0.5, size=(4, WINDOW)).astype(np.float32))
    engine = SileroBatchEngine()
    run = await engine.confidence_run(engine.open_stream(), windows, wait_windows=2)
    stream = engine.open_stream()
    one_by_one = [await engine.confidence(stream, w) for w in windows]
    assert run == pytest.approx(one_by_one, abs=1e-6)


async def test_speaking_windows_are_judged_as_they_complete(fixtures):
    pcm = read_wav_pcm16(fixtures / FIXTURES[2], 16000)
    engine = SileroBatchEngine()
    analyzer = BatchedSileroVADAnalyzer(engine=engine)
    analyzer.set_sample_rate(16000)
    chunk, state, speaking_frames = 640, VADState.QUIET, 0
    for end in range(chunk, len(pcm) + 1, chunk):
        was = state
        state = await analyzer.analyze_audio(pcm[end - chunk : end])
        if was == VADState.SPEAKING:  # no window waits for a partner
            speaking_frames += 1
            assert engine.windows == end // (WINDOW * 2)
    assert speaking_frames > 20
    await analyzer.cleanup()
