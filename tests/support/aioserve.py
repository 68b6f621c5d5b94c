"""Serving a stand-in's aiohttp app on a free loopback port (one way, for every stand-in)."""

from __future__ import annotations

from aiohttp import web


async def serve(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Start ``app``; its runner (to clean up) and the port it got."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
