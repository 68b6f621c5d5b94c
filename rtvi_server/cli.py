"""The ``rtvi-server`` command."""

from __future__ import annotations

import argparse
import sys

from rtvi_server._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtvi-server",
        description="Run RTVI voice bots: a start endpoint, WebRTC sessions, and bot files.",
    )
    parser.add_argument("--version", action="version", version=f"rtvi-server {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the bot server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860, help="port to bind (default: 7860)")
    serve.add_argument("--bots-dir", default="bots", help="directory of bot files (default: bots)")
    serve.add_argument(
        "--default-profile", default="default", help="bot file used when none is named"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        build_parser().print_help()
        return 0
    print(
        "rtvi-server: the protocol core (RTVIProcessor, registry, events) is in place; "
        "the HTTP/WebRTC server arrives with the server issue (#4).",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
