"""The ``rtvi-server`` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from rtvi_server._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtvi-server",
        description=(
            "Run RTVI voice bots. Clients POST a start payload to /start, then connect over "
            "WebRTC to the offer URL it returns. Reads .env from the working directory."
        ),
    )
    parser.add_argument("--version", action="version", version=f"rtvi-server {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the bot server",
        description=(
            "Run the bot server until Ctrl-C or SIGTERM, which stop admitting sessions, end "
            "the live ones with a message to their clients, and exit. Environment: "
            "RTVI_SERVER_API_KEY (bearer token for /start and the sessions API; required to "
            "bind beyond loopback), RTVI_MAX_SESSIONS (20), RTVI_MAX_DURATION_CAP (86400), "
            "RTVI_DEFAULT_MAX_DURATION (600), RTVI_IDLE_TIMEOUT (300; 0 disables), "
            "RTVI_CONNECT_TIMEOUT (30; seconds a session waits for its client; 0 disables), "
            "RTVI_SESSION_RETENTION (900; how long ended sessions stay listed), "
            "RTVI_MAX_ENDED_RECORDS (10000), RTVI_LOG_LEVEL (INFO), RTVI_MALLOC_ARENAS (2; 0 "
            "keeps glibc's), RTVI_DRAIN_GRACE (0; seconds SIGTERM lets live sessions finish), "
            "RTVI_ICE_SERVERS (STUN/TURN, a JSON list), RTVI_CLUSTER_URL (redis://...: join a "
            "cluster), RTVI_PUBLIC_URL, RTVI_HOST_ID, RTVI_EVENT_LOOP (asyncio or uvloop), "
            "RTVI_TELEPHONY_URL and RTVI_TELEPHONY_NUMBERS (phone calls), and the provider "
            "keys listed in .env.example."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860, help="port to bind (default: 7860)")
    serve.add_argument(
        "--bots-dir", default="bots", help="directory of bot files, one per bot_profile"
    )
    serve.add_argument(
        "--default-profile",
        default="default",
        help="bot file used when a start payload names none (default: default)",
    )
    serve.add_argument("--max-sessions", type=int, help="sessions at once before 429 (default 20)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the sessions (default 1; e.g. one per core)",
    )
    commands.add_parser("providers", help="list the providers this install knows")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "providers":
        from rtvi_server.services import list_providers

        for p in list_providers():
            key = "key" if p["needs_key"] else "no key"
            print(f"{p['service']:4} {p['provider']:11} {key:7} {p['description']}")
        return 0
    if args.command != "serve":
        parser.print_help()
        return 0
    return serve(args)


def _draining_server_class() -> type:
    import asyncio
    import signal

    import uvicorn

    class DrainingServer(uvicorn.Server):
        """Drains on SIGTERM, then exits 0 instead of re-raising the signal.

        With a grace period, the first SIGTERM stops admitting and lets live
        sessions finish (HTTP keeps serving them) for up to that long; then the
        lifespan's shutdown ends the rest with ``shutdown``. Another signal, or
        Ctrl-C, exits at once.
        """

        drain: Any = None  # async (grace) -> bool, the backend's drain
        grace = 0.0
        _draining = False

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig == signal.SIGTERM and self.grace > 0 and not self._draining:
                self._draining = True
                loop = asyncio.get_event_loop()
                loop.call_soon_threadsafe(lambda: loop.create_task(self._drain_then_exit()))
                return
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

        async def _drain_then_exit(self) -> None:
            try:
                await self.drain(self.grace)
            finally:
                self.should_exit = True

    return DrainingServer


def limit_blas_threads() -> None:
    """One OpenBLAS thread for this process, unless the environment names a count.

    Call before numpy is imported. numpy's OpenBLAS starts a thread per core, and
    after each matrix product those threads spin for a while waiting for more:
    the Smart Turn model's features (one product per analysis) then cost a second
    core for nothing, the core the event loop serves every session's audio on.
    Nothing the server multiplies is big enough to gain from more threads.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def serve(args: argparse.Namespace) -> int:
    from dotenv import load_dotenv

    load_dotenv(Path.cwd() / ".env")
    limit_blas_threads()
    from rtvi_server.logs import configure_logging
    from rtvi_server.sessions.reclaim import limit_malloc_arenas

    configure_logging()
    limit_malloc_arenas(int(os.environ.get("RTVI_MALLOC_ARENAS", "2") or 0))
    import uvicorn

    from rtvi_server.server import serve_app
    from rtvi_server.settings import ServerSettings

    try:
        settings = ServerSettings.from_env(
            host=args.host,
            port=args.port,
            bots_dir=Path(args.bots_dir),
            default_profile=args.default_profile,
            max_sessions=args.max_sessions,
        )
        app = serve_app(settings, args.workers)
    except ValueError as exc:
        print(f"rtvi-server: {exc}", file=sys.stderr)
        return 2
    if not (settings.bots_dir / f"{settings.default_profile}.py").is_file():
        print(
            f"rtvi-server: no bot file {settings.default_profile}.py in {settings.bots_dir}",
            file=sys.stderr,
        )
        return 2
    url = f"http://{settings.host}:{settings.port}"
    print(f"rtvi-server {__version__}: serving {settings.bots_dir}/ on {url}", flush=True)
    print(f"  talk to the bot:  open {url}/ in a browser", flush=True)
    print(f"  start a bot:      curl -X POST {url}/start -d '{{}}'", flush=True)
    print(f"  API docs:         {url}/docs", flush=True)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    server = _draining_server_class()(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            loop=settings.event_loop,
        )
    )
    server.drain = app.state.backend.drain
    server.grace = settings.drain_grace_secs
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
