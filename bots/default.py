"""The default bot: a complete voice bot that runs offline on embedded models.

Whisper tiny.en hears, SmolLM2-135M answers, Piper (en_US-joe-medium) speaks and
Silero VAD finds the turns. Any of them can be swapped for a cloud provider
through the start payload (``"services": {"llm": "together"}`` with the key in
``api_keys``), and clients tune the standard options at runtime (``llm.model``,
``tts.voice``, ``vad.params`` ...).
"""

from pipecat.audio.vad.vad_analyzer import VADParams

from rtvi_server.bots import Bot, BotArgs
from rtvi_server.voice_bot import build_voice_bot

SYSTEM_PROMPT = (
    "You are a friendly voice assistant. Your replies are spoken aloud: answer in one "
    "or two short sentences of plain words, without lists, symbols or emojis."
)


async def create_bot(args: BotArgs) -> Bot:
    return await build_voice_bot(
        args,
        providers={"stt": "whisper", "llm": "local", "tts": "piper"},
        system_prompt=SYSTEM_PROMPT,
        vad_params=VADParams(stop_secs=0.5),
        llm_defaults={"temperature": 0.3, "max_tokens": 60},
    )
