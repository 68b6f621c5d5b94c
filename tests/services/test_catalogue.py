import pytest

from rtvi_server.services import (
    MissingExtraError,
    MissingKeyError,
    Provider,
    UnknownProviderError,
    create_service,
    list_providers,
    provider_names,
    resolve_api_key,
)
from rtvi_server.services.factory import check_installed


def test_catalogue_lists_every_required_provider():
    assert set(provider_names("llm")) >= {
        "openai",
        "together",
        "groq",
        "fireworks",
        "openrouter",
        "ollama",
        "anthropic",
        "local",
    }
    assert set(provider_names("tts")) >= {"openai", "cartesia", "elevenlabs", "deepgram", "piper"}
    assert set(provider_names("stt")) >= {"openai", "deepgram", "whisper"}
    listed = list_providers()
    assert {
        "service": "llm",
        "provider": "together",
        "needs_key": True,
        "extra": None,
        "local": False,
        "description": "Together AI (OpenAI-compatible)",
    } in listed


def test_unknown_provider_names_the_field():
    with pytest.raises(UnknownProviderError) as err:
        create_service("llm", "skynet", environ={})
    assert err.value.field == "services.llm"
    assert "unknown provider 'skynet' for service 'llm'" in str(err.value)


def test_missing_key_names_provider_and_variable_never_a_key():
    with pytest.raises(MissingKeyError) as err:
        create_service("llm", "together", api_keys={"groq": "sk-other-SENTINEL"}, environ={})
    message = str(err.value)
    assert message == (
        "provider 'together' for service 'llm' needs an API key: pass api_keys.together or set TOGETHER_API_KEY"
    )
    assert err.value.field == "api_keys.together"
    assert "SENTINEL" not in message


def test_keys_come_from_payload_then_environment():
    from rtvi_server.services import find_provider

    together = find_provider("llm", "together")
    assert (
        resolve_api_key(together, {"together": "from-payload"}, {"TOGETHER_API_KEY": "from-env"})
        == "from-payload"
    )
    assert resolve_api_key(together, {}, {"TOGETHER_API_KEY": "from-env"}) == "from-env"
    assert resolve_api_key(find_provider("llm", "ollama"), {}, {}) is None


def test_missing_optional_dependency_names_the_extra():
    ghost = Provider(
        kind="tts",
        name="ghost",
        target="no_such_module.tts:GhostTTS",
        extra="cloud",
        key_env=None,
        description="",
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'rtvi-server\[cloud\]'"):
        check_installed(ghost)


def test_cloud_services_build_with_key_and_settings():
    llm = create_service(
        "llm", "groq", api_keys={"groq": "gk-test"}, settings={"model": "m-1"}, environ={}
    )
    assert llm._settings.model == "m-1"
    assert str(llm._client.base_url).startswith("https://api.groq.com/openai/v1")
    tts = create_service(
        "tts", "openai", api_keys={"openai": "sk-test"}, settings={"voice": "nova"}, environ={}
    )
    assert tts._settings.voice == "nova"
