"""The provider catalogue: one table that knows every provider name.

Each entry maps (service kind, provider name) to the pipecat service class that
implements it, the extra that installs its dependencies, the environment
variable that holds its key (if it needs one) and, for OpenAI-compatible
providers, the base URL. Nothing else in the project spells a provider name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

ServiceKind = Literal["llm", "tts", "stt"]
SERVICE_KINDS: Final[tuple[ServiceKind, ...]] = ("llm", "tts", "stt")


@dataclass(frozen=True)
class Provider:
    """How to build one provider's pipecat service.

    ``local`` providers are constructed with their settings as keyword
    arguments and need no key; the others get ``api_key=`` and a
    ``settings=Class.Settings(...)`` object, as pipecat's cloud services take.
    """

    kind: ServiceKind
    name: str
    target: str
    extra: str | None
    key_env: str | None
    description: str
    base_url: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    local: bool = False
    #: The constructor argument that takes ``base_url`` (pipecat's WebSocket TTS
    #: services call it ``url``).
    url_argument: str = "base_url"

    @property
    def needs_key(self) -> bool:
        return self.key_env is not None

    @property
    def base_url_env(self) -> str | None:
        """Server-side override of the base URL (a proxy, a gateway, a test server)."""
        return f"{self.name.upper()}_BASE_URL" if self.base_url is not None else None

    def describe(self) -> dict[str, Any]:
        return {
            "service": self.kind,
            "provider": self.name,
            "needs_key": self.needs_key,
            "extra": self.extra,
            "local": self.local,
            "description": self.description,
        }


_OPENAI_LLM: Final = "pipecat.services.openai.llm:OpenAILLMService"


def _compatible(name: str, base_url: str, model: str, description: str) -> Provider:
    return Provider(
        kind="llm",
        name=name,
        target=_OPENAI_LLM,
        extra=None,
        key_env=f"{name.upper()}_API_KEY",
        description=description,
        base_url=base_url,
        defaults={"model": model},
    )


PROVIDERS: Final[tuple[Provider, ...]] = (
    _compatible("openai", "https://api.openai.com/v1", "gpt-4o-mini", "OpenAI chat completions"),
    _compatible(
        "together",
        "https://api.together.xyz/v1",
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
        "Together AI (OpenAI-compatible)",
    ),
    _compatible(
        "groq", "https://api.groq.com/openai/v1", "llama-3.1-8b-instant", "Groq (OpenAI-compatible)"
    ),
    _compatible(
        "fireworks",
        "https://api.fireworks.ai/inference/v1",
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "Fireworks AI (OpenAI-compatible)",
    ),
    _compatible(
        "openrouter",
        "https://openrouter.ai/api/v1",
        "meta-llama/llama-3.1-8b-instruct",
        "OpenRouter (OpenAI-compatible)",
    ),
    Provider(
        kind="llm",
        name="ollama",
        target=_OPENAI_LLM,
        extra=None,
        key_env=None,
        description="Any OpenAI-compatible server without a key (Ollama, vLLM, llama.cpp server)",
        base_url="http://127.0.0.1:11434/v1",
        defaults={"model": "llama3.1"},
    ),
    Provider(
        kind="llm",
        name="anthropic",
        target="pipecat.services.anthropic.llm:AnthropicLLMService",
        extra="cloud",
        key_env="ANTHROPIC_API_KEY",
        description="Anthropic Claude",
        defaults={"model": "claude-haiku-4-5"},
    ),
    Provider(
        kind="llm",
        name="local",
        target="rtvi_server.services.local_llm:LocalLlamaLLMService",
        extra="local",
        key_env=None,
        description="SmolLM2-135M-Instruct (or any GGUF) in-process on llama.cpp",
        local=True,
    ),
    Provider(
        kind="tts",
        name="openai",
        target="pipecat.services.openai.tts:OpenAITTSService",
        extra=None,
        key_env="OPENAI_API_KEY",
        description="OpenAI text-to-speech",
        base_url="https://api.openai.com/v1",
        defaults={"voice": "alloy"},
    ),
    Provider(
        kind="tts",
        name="cartesia",
        target="pipecat.services.cartesia.tts:CartesiaTTSService",
        extra="cloud",
        key_env="CARTESIA_API_KEY",
        base_url="wss://api.cartesia.ai/tts/websocket",
        url_argument="url",
        description="Cartesia streaming TTS",
        defaults={"voice": "71a7ad14-091c-4e8e-a314-022ece01c121"},
    ),
    Provider(
        kind="tts",
        name="elevenlabs",
        target="pipecat.services.elevenlabs.tts:ElevenLabsTTSService",
        extra="cloud",
        key_env="ELEVENLABS_API_KEY",
        base_url="wss://api.elevenlabs.io",
        url_argument="url",
        description="ElevenLabs streaming TTS",
        defaults={"voice": "21m00Tcm4TlvDq8ikWAM"},
    ),
    Provider(
        kind="tts",
        name="deepgram",
        target="pipecat.services.deepgram.tts:DeepgramTTSService",
        extra="cloud",
        key_env="DEEPGRAM_API_KEY",
        base_url="wss://api.deepgram.com",
        description="Deepgram Aura TTS",
        defaults={"voice": "aura-2-helena-en"},
    ),
    Provider(
        kind="tts",
        name="piper",
        target="rtvi_server.services.local_tts:LocalPiperTTSService",
        extra="local",
        key_env=None,
        description="Piper in-process (en_US-joe-medium ships with the local extra)",
        local=True,
    ),
    Provider(
        kind="stt",
        name="openai",
        target="pipecat.services.openai.stt:OpenAISTTService",
        extra=None,
        key_env="OPENAI_API_KEY",
        description="OpenAI transcription",
        base_url="https://api.openai.com/v1",
        defaults={"model": "gpt-4o-transcribe"},
    ),
    Provider(
        kind="stt",
        name="deepgram",
        target="pipecat.services.deepgram.stt:DeepgramSTTService",
        extra="cloud",
        key_env="DEEPGRAM_API_KEY",
        base_url="wss://api.deepgram.com",
        description="Deepgram streaming STT",
        defaults={"model": "nova-3-general"},
    ),
    Provider(
        kind="stt",
        name="whisper",
        target="rtvi_server.services.local_stt:LocalWhisperSTTService",
        extra="local",
        key_env=None,
        description="Whisper on faster-whisper in-process (tiny.en ships with the local extra)",
        local=True,
    ),
)

_BY_KEY: Final = {(p.kind, p.name): p for p in PROVIDERS}


def find_provider(kind: str, name: str) -> Provider | None:
    return _BY_KEY.get((kind, name))  # type: ignore[arg-type]


def provider_names(kind: str) -> list[str]:
    return [p.name for p in PROVIDERS if p.kind == kind]


def list_providers() -> list[dict[str, Any]]:
    """The catalogue as data, for clients and the CLI (never any key)."""
    return [p.describe() for p in PROVIDERS]
