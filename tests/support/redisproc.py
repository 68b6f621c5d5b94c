"""A real ``redis-server`` for the tests (the benchmark's launcher, see bench/redis_server.py)."""

from bench.redis_server import RedisProcess

__all__ = ["RedisProcess"]
