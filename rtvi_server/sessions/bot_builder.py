"""A session's bot, built once on the session's real transport.

What a start payload decides (providers, keys, settings, config) was checked
before anything started (``start_request``, the transport kind's ``check``);
here the bot file assembles the pipeline on the transport its link opened, and
the start config is checked against the options the bot declares. Refusals
name the field; anything else a bot file raises is the bot's failure, not the
client's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rtvi_server.bots import Bot, BotArgs, BotFileError, load_bot_file
from rtvi_server.services import ServiceSetupError
from rtvi_server.sessions.start_request import StartError, StartRequest


async def build_bot(
    request: StartRequest, transport: Any, *, session_id: str, bots_dir: Path
) -> Bot:
    try:
        create_bot = load_bot_file(bots_dir / f"{request.profile}.py")
    except BotFileError:
        raise StartError(
            f"bot_profile {request.profile!r} is not a usable bot file", field="bot_profile"
        ) from None
    args = BotArgs(
        transport=transport,
        services=request.services,
        api_keys=request.api_keys,
        config=request.config,
        session_id=session_id,
        body=request.extra,
    )
    try:
        bot = await create_bot(args)
    except ServiceSetupError as exc:
        raise StartError(str(exc), field=exc.field) from None
    problem = bot.rtvi.check_start_config()
    if problem is not None:
        raise StartError(str(problem), field=problem.path)
    return bot
