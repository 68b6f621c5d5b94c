"""The benchmark's command line (``python -m bench --help``)."""

from __future__ import annotations

import argparse
from pathlib import Path

SIDES = ("rtvi-server", "stock-pipecat")


def sides(text: str) -> tuple[str, ...]:
    """``--sides``: server names, comma-separated."""
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SIDES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"sides are {', '.join(SIDES)}; got {text!r}")
    return chosen


def parse_args(
    description: str, results: Path, argv: list[str] | None = None
) -> argparse.Namespace:
    """The run's options; ``results`` is where its files go unless ``--out`` says."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sessions",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 4, 8, 16, 32, 64],
    )
    parser.add_argument("--turns", type=int, default=3, help="spoken turns per session")
    parser.add_argument(
        "--sides",
        type=sides,
        default=SIDES,
        help="which servers run, comma-separated (default both; one side alone gives no ratios)",
    )
    parser.add_argument(
        "--gap", type=float, default=1.5, help="seconds of silence after each reply"
    )
    parser.add_argument(
        "--lockstep",
        action="store_true",
        help="every session speaks at the same instant (the worst case); by default each"
        " session's first turn starts 1/N of a turn (speech and gap) after the previous one's,"
        " as independent users' turns fall",
    )
    parser.add_argument(
        "--listen", type=float, default=5.0, help="seconds of quiet listening measured first"
    )
    parser.add_argument(
        "--turn-end",
        choices=["smart-turn", "vad"],
        default="smart-turn",
        help="how user turns end on both sides: pipecat's default Smart Turn model, or the VAD",
    )
    parser.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="the event loop both servers run on (uvloop: pip install uvloop)",
    )
    parser.add_argument(
        "--client",
        choices=["packets", "aiortc"],
        default="packets",
        help="packets: Opus encoded once, one paced loop, the bot's audio level read from RTP;"
        " aiortc: each session encodes and decodes (the test client)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=32,
        help="py-spy the rtvi-server process while this many sessions listen (0: never)",
    )
    parser.add_argument(
        "--profile-talking",
        type=float,
        default=0.0,
        help="also py-spy the first this many seconds of the conversation at the --profile"
        " session count (profile-N-talking.md; 0: never)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="rtvi-server serves from this many worker processes (its CPU and memory summed)",
    )
    parser.add_argument(
        "--server-logs",
        type=Path,
        default=None,
        help="keep each server's output here, as <side>-<sessions>.log (-2, -3, ... where"
        " taken; default: discarded)",
    )
    parser.add_argument("--out", type=Path, default=results)
    return parser.parse_args(argv)
