import pytest

from rtvi_server.protocol import ClientInfo, Generation, detect_client


@pytest.mark.parametrize(
    ("data", "generation", "bot_version", "warns"),
    [
        ({}, Generation.CONFIG, "0.3.0", False),
        (None, Generation.CONFIG, "0.3.0", False),
        ({"version": None}, Generation.CONFIG, "0.3.0", False),
        ({"version": "0.3.0"}, Generation.CONFIG, "0.3.0", False),
        ({"version": "2.1.0", "about": {"library": "x"}}, Generation.MODERN, "2.1.0", False),
        ({"version": "2.0.0"}, Generation.MODERN, "2.1.0", False),
        ({"version": "1.2.0"}, Generation.MODERN, "1.2.0", False),
        ({"version": "3.0.0"}, Generation.MODERN, "2.1.0", True),
        ({"version": "latest"}, Generation.MODERN, "2.1.0", True),
        ({"version": 2}, Generation.MODERN, "2.1.0", True),
    ],
)
def test_generation_from_client_ready(data, generation, bot_version, warns):
    info = detect_client(data)
    assert info.generation is generation
    assert info.bot_ready_version == bot_version
    assert (info.warning is not None) is warns
    if warns:
        assert info.warning.endswith("Compatibility issues may occur.")


def test_about_is_kept():
    assert detect_client(
        {"version": "2.1.0", "about": {"library": "@pipecat-ai/client-js"}}
    ) == ClientInfo(Generation.MODERN, (2, 1, 0), {"library": "@pipecat-ai/client-js"})
