"""A cloud bot: Deepgram hears, an OpenAI-compatible LLM (Together by default) answers,
Cartesia speaks.

Start it with the keys on the server side, e.g.::

    {"bot_profile": "cloud",
     "services": {"llm": "groq"},
     "api_keys": {"groq": "...", "deepgram": "...", "cartesia": "..."}}

Keys may also come from the environment (``TOGETHER_API_KEY`` ...). The system
prompt is server-only here: clients can read it but not rewrite it.
"""

from rtvi_server.bots import Bot, BotArgs
from rtvi_server.services import PromptPolicy
from rtvi_server.voice_bot import build_voice_bot

SYSTEM_PROMPT = (
    "You are a concise, friendly voice assistant. Answer in at most two short spoken "
    "sentences with no special characters other than '!' or '?'."
)


async def create_bot(args: BotArgs) -> Bot:
    return await build_voice_bot(
        args,
        providers={"stt": "deepgram", "llm": "together", "tts": "cartesia"},
        system_prompt=SYSTEM_PROMPT,
        llm_defaults={"temperature": 0.7},
        prompt=PromptPolicy("server"),
    )
