"""The process-wide model cache: bounded by count and bytes, least recently used first,
one load per model, and loads of different models at the same time."""

import threading
import time

from rtvi_server.services.local_models import ModelCache


def counting_loader(loads):
    def load(key):
        loads.append(key)
        return f"model:{key}"

    return load


def test_at_most_max_models_stay_the_least_recently_used_goes_first():
    loads = []
    cache = ModelCache(counting_loader(loads), max_models=2, max_bytes=10**9)
    for key in ("a", "b", "a", "c", "a", "b"):
        assert cache.get(key) == f"model:{key}"
    # "b" was the least recently used when "c" came in; "a" stayed.
    assert loads == ["a", "b", "c", "b"]
    assert sorted(cache.loaded()) == ["model:a", "model:b"]


def test_the_byte_budget_drops_models_until_the_files_fit():
    loads = []
    sizes = {"big": 700, "mid": 400, "small": 100}
    cache = ModelCache(
        counting_loader(loads), size_of=sizes.__getitem__, max_models=10, max_bytes=1000
    )
    cache.get("big")
    cache.get("small")
    cache.get("mid")  # 1200 bytes: the least recently used ("big") goes
    assert sorted(cache.loaded()) == ["model:mid", "model:small"]


def test_one_load_per_model_and_other_models_load_meanwhile():
    release = threading.Event()
    started = []

    def load(key):
        started.append(key)
        if key == "slow":
            assert release.wait(10)
        return key

    cache = ModelCache(load, max_models=4, max_bytes=10**9)
    slow = [threading.Thread(target=cache.get, args=("slow",)) for _ in range(3)]
    for t in slow:
        t.start()
    deadline = time.monotonic() + 5
    while "slow" not in started and time.monotonic() < deadline:
        time.sleep(0.01)
    # While "slow" is loading, another model loads and is served at once.
    assert cache.get("fast") == "fast"
    release.set()
    for t in slow:
        t.join(10)
    assert started.count("slow") == 1  # three sessions, one load
    assert cache.loads == 2
