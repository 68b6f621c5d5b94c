"""Each dependency's patch points exist in the installed versions, and where one is
missing the stock path is used, saying so once."""

from loguru import logger

from rtvi_server.patches import aiortc as aiortc_patches
from rtvi_server.patches import self_check
from rtvi_server.sessions.inline_audio import PassThroughJitterBuffer, inline_audio_supported


def test_the_installed_versions_have_every_patch_point():
    reports = self_check()
    assert {r.package for r in reports} == {"aiortc", "aioice", "pipecat-ai"}
    assert [r for r in reports if not r.ok] == []
    assert all(r.tested and r.installed != "not installed" for r in reports)


def test_a_receiver_without_the_patch_point_keeps_the_stock_path(monkeypatch):
    class FutureReceiver:  # an aiortc that renamed its fields
        jitter_buffer = "stock"

    monkeypatch.setattr(aiortc_patches, "_warned", False)
    lines = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        receiver = FutureReceiver()
        for _ in range(3):
            taken = aiortc_patches.replace_jitter_buffer(
                receiver, PassThroughJitterBuffer, PassThroughJitterBuffer
            )
            assert taken is False
    finally:
        logger.remove(sink)
    assert receiver.jitter_buffer == "stock"
    assert len(lines) == 1  # one clear line, not one per receiver
    assert "jitter buffer" in lines[0]


def test_the_listening_path_is_on_where_its_patch_points_are():
    from rtvi_server.audio.opus import opus_available
    from rtvi_server.sessions.transports.webrtc import WebRTCLink

    assert opus_available()
    assert inline_audio_supported()
    assert WebRTCLink().inline_audio is not None
