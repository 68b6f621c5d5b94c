"""Fuzz: 20,000 generated hostile requests and WebSocket frames against a live server.

No answer is a 5xx, none carries exception text or a key, the server's log has
no traceback, and the server still answers ``/health`` and runs a real session.
(The documented long run, ``python -m bench.fuzz``, sends 100,000.)
"""

import pytest

from bench.fuzz import fuzz_server, run_fuzz, still_serving
from bench.server import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path):
    proc = fuzz_server(free_port(), tmp_path / "server.log").wait_ready()
    yield proc
    assert proc.stop() == 0


async def test_twenty_thousand_hostile_requests_get_no_5xx_and_leak_nothing(server):
    result = await run_fuzz(server.url, 20_000, seed=7, frames=1000)
    assert result.problems == []
    assert result.cases == 20_000
    assert result.frames == 2000  # 1000 on a websocket session, 1000 on a text one
    assert not [s for s in result.statuses if s >= 500]
    assert result.statuses[400] > 5000  # the generator does reach the validators
    assert await still_serving(server.url)
    assert "Traceback" not in server.log()
