"""The registry's scripts against a real redis-server: admission, repair, reaping."""

import asyncio
import time

import pytest

from rtvi_server.cluster.registry import HostEntry, Registry
from rtvi_server.sessions.api import SessionInfo
from rtvi_server.sessions.manager import CapacityError

from ..support.redisproc import RedisProcess


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
async def registry(redis_server):
    reg = Registry(redis_server.url)
    await reg._call("FLUSHDB")
    yield reg
    await reg.close()


def info(session_id: str) -> SessionInfo:
    return SessionInfo(
        session_id=session_id,
        state="running",
        profile="echo",
        services={},
        transport="webrtc",
        started=time.time(),
        duration=0.0,
        max_duration=60.0,
    )


async def join(registry, host_id, capacity, live=(), draining=False, may_reap=False):
    entry = HostEntry(host_id, f"http://{host_id}", capacity, draining)
    return await registry.heartbeat(entry, list(live), may_reap=may_reap, retention_ms=60_000)


async def test_concurrent_admissions_take_exactly_the_free_slots(registry):
    await join(registry, "a", 3)
    await join(registry, "b", 2)
    results = await asyncio.gather(
        *(registry.admit(f"{i:032x}") for i in range(40)), return_exceptions=True
    )
    placed = [r.host_id for r in results if not isinstance(r, BaseException)]
    assert sorted(placed) == ["a", "a", "a", "b", "b"]
    assert all(isinstance(r, CapacityError) for r in results if isinstance(r, BaseException))


async def test_admission_prefers_the_most_room_and_skips_draining_hosts(registry):
    await join(registry, "a", 4)
    await join(registry, "b", 1)
    await join(registry, "c", 9, draining=True)
    first = [(await registry.admit(f"{i:032x}")).host_id for i in range(3)]
    assert first == ["a", "a", "a"]  # 4 > 1, 3 > 1, 2 > 1
    assert sorted([(await registry.admit(f"{i:032x}")).host_id for i in range(3, 5)]) == ["a", "b"]
    with pytest.raises(CapacityError):
        await registry.admit("f" * 32)  # c is draining: never chosen


async def test_a_failed_start_gives_its_slot_back(registry):
    await join(registry, "a", 1)
    placed = await registry.admit("1" * 32)
    with pytest.raises(CapacityError):
        await registry.admit("2" * 32)
    await registry.release("1" * 32, placed.host_id, None, 60_000)
    assert (await registry.admit("3" * 32)).host_id == "a"
    assert await registry.locate("1" * 32) is None


async def test_a_heartbeat_repairs_slots_from_what_the_host_really_runs(registry):
    await join(registry, "a", 2)
    one, two = "1" * 32, "2" * 32
    await registry.admit(one)
    await registry.promote(one, "a", info(one))
    await registry.admit(two)
    await registry.promote(two, "a", info(two))
    # Redis forgets everything (a restart without persistence); the host still runs `two`.
    await registry._call("FLUSHDB")
    await join(registry, "a", 2, live=[info(two)])
    assert (await registry.locate(two)).state == "live"
    assert (await registry.admit("3" * 32)).host_id == "a"
    with pytest.raises(CapacityError):
        await registry.admit("4" * 32)
    # `two` ends while its release is lost: the next beat frees its slot.
    await join(registry, "a", 2, live=[])
    assert (await registry.locate(two)).state == "ended"
    assert (await registry.admit("5" * 32)).host_id == "a"


async def test_a_host_whose_record_expires_has_its_sessions_reported_lost(registry):
    await join(registry, "a", 2)
    await join(registry, "b", 2)
    sid = "1" * 32
    placed = await registry.admit(sid)
    await registry.promote(sid, placed.host_id, info(sid))
    gone = placed.host_id
    keeper = "b" if gone == "a" else "a"
    await registry._call("DEL", f"rtvi:host:{gone}")  # its TTL ran out
    # Only a host allowed to reap declares others lost.
    assert (await join(registry, keeper, 2)).lost == 0
    assert (await join(registry, keeper, 2, may_reap=True)).lost == 1
    where = await registry.locate(sid)
    assert (where.state, where.info.end_reason, where.info.state) == ("lost", "host_lost", "ended")
    assert [i.session_id for i in await registry.lost_sessions()] == [sid]
    assert [h.host_id for h in await registry.hosts()] == [keeper]


async def test_every_call_says_the_registry_is_unreachable_when_redis_is_gone():
    from rtvi_server.cluster.registry import RegistryUnavailableError

    reg = Registry("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(RegistryUnavailableError):
            await reg.admit("1" * 32)
        with pytest.raises(RegistryUnavailableError):
            await join(reg, "a", 1)
    finally:
        await reg.close()
