"""A bot file that fails while it is being built."""

from rtvi_server.bots import Bot, BotArgs


async def create_bot(args: BotArgs) -> Bot:
    raise RuntimeError("cannot build: model server unreachable")
