"""The cluster's shared state in Redis (or Valkey): hosts, their slots, where sessions are.

This is the one module that talks to Redis. Every decision that must be exact
across hosts is one Lua script, so it runs atomically on the Redis server:

- **admission** (:data:`ADMIT`): pick the live, non-draining host with the most
  room, take one of its slots and record session -> host, or refuse;
- **heartbeat** (:data:`HEARTBEAT`): refresh this host's record (it expires
  after :data:`HOST_TTL_MS` without one), make its slots match the sessions it
  really runs (so a Redis that restarted empty, or a release lost while Redis was
  away, is repaired within a beat), and report the sessions of hosts whose
  record expired as ended with ``host_lost``.

Keys (all under ``rtvi:``)::

    hosts            ZSET  host id -> last heartbeat (ms)
    host:{id}        HASH  url, capacity, draining; expires after HOST_TTL_MS
    slots:{id}       ZSET  session id -> reservation deadline (ms), or +inf once running
    session:{id}     STR   JSON {"host", "state": reserved|live|ended|lost, "info"}
    pc:{pc_id}       STR   the session a WebRTC peer connection belongs to
    lost             ZSET  session id -> when its host was found lost (ms)
    token            STR   the secret hosts present to each other's cluster routes

The scripts name keys they compute, so they need one Redis (or a primary with
replicas), not a Redis Cluster.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from rtvi_server.sessions.api import APIError, SessionInfo

#: A host whose record is this old is lost (its heartbeat runs every second).
HOST_TTL_MS = 5000
#: How long a slot taken for a start stays taken if nobody confirms or frees it.
RESERVATION_MS = 120_000
REDIS_TIMEOUT_SECS = 2.0


class RegistryUnavailableError(APIError):
    """Redis cannot be reached: no new session can be admitted anywhere."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "the cluster registry is unreachable; no new session can start now",
            headers={"Retry-After": "5"},
        )


class NoHostError(APIError):
    def __init__(self) -> None:
        super().__init__(
            503, "no host of the cluster is taking sessions", headers={"Retry-After": "5"}
        )


NOW_MS = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

ADMIT = (
    NOW_MS
    + """
local best, best_room, best_url, hosts_up = nil, 0, nil, 0
for _, h in ipairs(redis.call('ZRANGE', 'rtvi:hosts', 0, -1)) do
  local f = redis.call('HMGET', 'rtvi:host:' .. h, 'url', 'capacity', 'draining')
  if f[1] and f[3] ~= '1' then
    hosts_up = hosts_up + 1
    local slots = 'rtvi:slots:' .. h
    redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
    local room = tonumber(f[2]) - redis.call('ZCARD', slots)
    if room > best_room then best, best_room, best_url = h, room, f[1] end
  end
end
if not best then
  if hosts_up == 0 then return {'none'} end
  return {'full'}
end
redis.call('ZADD', 'rtvi:slots:' .. best, now + tonumber(ARGV[2]), ARGV[1])
redis.call('SET', 'rtvi:session:' .. ARGV[1], cjson.encode({host = best, state = 'reserved'}),
           'PX', ARGV[2])
return {'placed', best, best_url}
"""
)

# ARGV: session id, host, the session's JSON value
PROMOTE = """
redis.call('ZADD', 'rtvi:slots:' .. ARGV[2], 'inf', ARGV[1])
redis.call('SET', 'rtvi:session:' .. ARGV[1], ARGV[3])
"""

# ARGV: session id, host, the ended session's JSON value ('' for a start that failed),
# retention (ms)
RELEASE = """
redis.call('ZREM', 'rtvi:slots:' .. ARGV[2], ARGV[1])
local key = 'rtvi:session:' .. ARGV[1]
if ARGV[3] == '' then redis.call('DEL', key) else redis.call('SET', key, ARGV[3], 'PX', ARGV[4]) end
"""

# ARGV: host, url, capacity, draining (0/1), ttl (ms), may reap (0/1), retention (ms),
# a token candidate, n, then n pairs (session id, its JSON value).
HEARTBEAT = (
    NOW_MS
    + """
local h = ARGV[1]
local slots = 'rtvi:slots:' .. h
local retention = ARGV[7]
redis.call('HSET', 'rtvi:host:' .. h, 'url', ARGV[2], 'capacity', ARGV[3], 'draining', ARGV[4])
redis.call('PEXPIRE', 'rtvi:host:' .. h, ARGV[5])
redis.call('ZADD', 'rtvi:hosts', now, h)
local live = {}
for i = 0, tonumber(ARGV[9]) - 1 do
  local sid, value = ARGV[10 + 2 * i], ARGV[11 + 2 * i]
  live[sid] = true
  redis.call('ZADD', slots, 'inf', sid)
  local current = redis.call('GET', 'rtvi:session:' .. sid)
  if not current or cjson.decode(current).state ~= 'live' then
    redis.call('SET', 'rtvi:session:' .. sid, value)
  end
end
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', slots, 'inf', 'inf')) do
  if not live[sid] then  -- ended while its release could not reach us
    redis.call('ZREM', slots, sid)
    local key = 'rtvi:session:' .. sid
    local current = redis.call('GET', key)
    if current then
      local d = cjson.decode(current)
      d.state = 'ended'
      redis.call('SET', key, cjson.encode(d), 'PX', retention)
    end
  end
end
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
local lost = 0
if ARGV[6] == '1' then
  for _, other in ipairs(redis.call('ZRANGE', 'rtvi:hosts', 0, -1)) do
    if redis.call('EXISTS', 'rtvi:host:' .. other) == 0 then
      local their = 'rtvi:slots:' .. other
      for _, sid in ipairs(redis.call('ZRANGE', their, 0, -1)) do
        local key = 'rtvi:session:' .. sid
        local current = redis.call('GET', key)
        if current then
          local d = cjson.decode(current)
          if d.state == 'live' and d.info then
            d.state = 'lost'
            d.info.state = 'ended'
            d.info.ended = now / 1000
            d.info.end_reason = 'host_lost'
            redis.call('SET', key, cjson.encode(d), 'PX', retention)
            redis.call('ZADD', 'rtvi:lost', now, sid)
            lost = lost + 1
          else
            redis.call('DEL', key)
          end
        end
      end
      redis.call('DEL', their)
      redis.call('ZREM', 'rtvi:hosts', other)
    end
  end
  redis.call('ZREMRANGEBYSCORE', 'rtvi:lost', '-inf', now - tonumber(retention))
end
redis.call('SET', 'rtvi:token', ARGV[8], 'NX')
return {redis.call('GET', 'rtvi:token'), lost}
"""
)

# ARGV: host. A host leaving on purpose: its record and slots go at once.
LEAVE = """
redis.call('DEL', 'rtvi:host:' .. ARGV[1], 'rtvi:slots:' .. ARGV[1])
redis.call('ZREM', 'rtvi:hosts', ARGV[1])
"""


@dataclass(frozen=True)
class HostEntry:
    """One host as the registry knows it."""

    host_id: str
    url: str
    capacity: int
    draining: bool


@dataclass(frozen=True)
class Placement:
    host_id: str
    url: str


@dataclass(frozen=True)
class Location:
    """Where a session is: on a live host (``url``), or ended with ``info`` only."""

    host_id: str
    state: str
    url: str | None = None
    info: SessionInfo | None = None


@dataclass(frozen=True)
class Beat:
    token: str
    lost: int


def session_value(host_id: str, state: str, info: SessionInfo) -> str:
    """A session's entry as the scripts read it."""
    return json.dumps({"host": host_id, "state": state, "info": info.model_dump()})


class Registry:
    """The Redis side of a cluster host. Every call raises
    :class:`RegistryUnavailableError` when Redis cannot be reached."""

    def __init__(self, url: str) -> None:
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECS,
            socket_connect_timeout=REDIS_TIMEOUT_SECS,
            decode_responses=True,
        )
        self._scripts = {
            name: self._redis.register_script(text)
            for name, text in (
                ("admit", ADMIT),
                ("promote", PROMOTE),
                ("release", RELEASE),
                ("heartbeat", HEARTBEAT),
                ("leave", LEAVE),
            )
        }

    async def close(self) -> None:
        await self._redis.aclose()

    async def _run(self, script: str, *args: str | int) -> Any:
        try:
            return await self._scripts[script](args=list(args))
        except (RedisError, OSError):
            raise RegistryUnavailableError() from None

    async def _call(self, command: str, *args: str | int) -> Any:
        try:
            return await self._redis.execute_command(command, *args)  # type: ignore[no-untyped-call]
        except (RedisError, OSError):
            raise RegistryUnavailableError() from None

    # -- admission ----------------------------------------------------------

    async def admit(self, session_id: str) -> Placement:
        """Take a slot on the host with the most room, or refuse (429, or 503)."""
        from rtvi_server.sessions.manager import CapacityError

        reply = await self._run("admit", session_id, RESERVATION_MS)
        if reply[0] == "full":
            raise CapacityError()
        if reply[0] == "none":
            raise NoHostError()
        return Placement(host_id=reply[1], url=reply[2])

    async def promote(self, session_id: str, host_id: str, info: SessionInfo) -> None:
        """A placed session is running on ``host_id``: its slot is held until it ends."""
        await self._run("promote", session_id, host_id, session_value(host_id, "live", info))

    async def release(
        self, session_id: str, host_id: str, ended: SessionInfo | None, retention_ms: int
    ) -> None:
        """Free a session's slot: it ended (``ended``), or its start failed (None)."""
        value = session_value(host_id, "ended", ended) if ended is not None else ""
        await self._run("release", session_id, host_id, value, max(1, retention_ms))

    # -- membership ---------------------------------------------------------

    async def heartbeat(
        self,
        host: HostEntry,
        live: list[SessionInfo],
        *,
        may_reap: bool,
        retention_ms: int,
    ) -> Beat:
        pairs: list[str] = []
        for info in live:
            pairs += [info.session_id, session_value(host.host_id, "live", info)]
        reply = await self._run(
            "heartbeat",
            host.host_id,
            host.url,
            host.capacity,
            int(host.draining),
            HOST_TTL_MS,
            int(may_reap),
            max(1, retention_ms),
            secrets.token_urlsafe(32),
            len(live),
            *pairs,
        )
        return Beat(token=str(reply[0]), lost=int(reply[1]))

    async def leave(self, host_id: str) -> None:
        await self._run("leave", host_id)

    async def hosts(self) -> list[HostEntry]:
        """Every host whose record has not expired."""
        ids = await self._call("ZRANGE", "rtvi:hosts", 0, -1)
        entries = []
        for host_id in ids:
            url, capacity, draining = await self._call(
                "HMGET", f"rtvi:host:{host_id}", "url", "capacity", "draining"
            )
            if url is not None:
                entries.append(HostEntry(host_id, url, int(capacity or 0), draining == "1"))
        return entries

    # -- routing ------------------------------------------------------------

    async def locate(self, session_id: str) -> Location | None:
        raw = await self._call("GET", f"rtvi:session:{session_id}")
        if raw is None:
            return None
        entry = json.loads(raw)
        host_id, state = str(entry.get("host", "")), str(entry.get("state", ""))
        info = SessionInfo.model_validate(entry["info"]) if entry.get("info") else None
        if info is not None:
            info = info.model_copy(update={"host": host_id})
        if state == "lost":
            return Location(host_id, state, info=_with_duration(info) if info else None)
        url = await self._call("HGET", f"rtvi:host:{host_id}", "url")
        return Location(host_id, state, url=url, info=info)

    async def bind_peer(self, pc_id: str, session_id: str, ttl_secs: float) -> None:
        await self._call("SET", f"rtvi:pc:{pc_id}", session_id, "EX", max(1, int(ttl_secs)))

    async def peer_session(self, pc_id: str) -> str | None:
        found = await self._call("GET", f"rtvi:pc:{pc_id}")
        return str(found) if found is not None else None

    async def lost_sessions(self) -> list[SessionInfo]:
        """Sessions of hosts found lost, for as long as they are kept."""
        ids = await self._call("ZRANGE", "rtvi:lost", 0, -1)
        if not ids:
            return []
        values = await self._call("MGET", *[f"rtvi:session:{sid}" for sid in ids])
        lost = []
        for raw in values:
            if raw is not None:
                entry = json.loads(raw)
                if entry.get("state") == "lost" and entry.get("info"):
                    info = SessionInfo.model_validate(entry["info"])
                    lost.append(_with_duration(info.model_copy(update={"host": entry["host"]})))
        return lost


def _with_duration(info: SessionInfo) -> SessionInfo:
    """A lost session's duration ends when its host was found lost."""
    if info.ended is None:
        return info
    return info.model_copy(update={"duration": round(info.ended - info.started, 3)})
