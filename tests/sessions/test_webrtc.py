import asyncio

import aioice.ice

from rtvi_server.patches.aioice import host_candidates
from rtvi_server.sessions.transports.webrtc import WebRTCLink, host_addresses_for, loopback_sdp

OFFER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=candidate:1 1 udp 2122260223 192.168.7.20 50000 typ host",
        "a=candidate:2 1 udp 2122260223 127.0.0.1 50001 typ host",
        "a=candidate:3 1 udp 2122260223 3f2a1b.local 50002 typ host",
        "a=end-of-candidates",
    ]
)


def test_a_loopback_server_offers_and_accepts_only_loopback():
    assert host_addresses_for("127.0.0.1") == ["127.0.0.1"]
    assert host_addresses_for("localhost") == ["127.0.0.1"]
    assert host_addresses_for("127.0.0.3") == ["127.0.0.3"]
    filtered = loopback_sdp(OFFER)
    assert "192.168.7.20" not in filtered
    assert ".local" not in filtered
    assert "127.0.0.1 50001" in filtered
    assert "a=end-of-candidates" in filtered


def test_a_server_on_all_interfaces_keeps_aiortc_defaults():
    assert host_addresses_for("0.0.0.0") is None
    assert host_addresses_for("::") is None


async def test_each_connection_gathers_the_addresses_its_own_code_chose():
    stock = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)

    async def gather(addresses):
        with host_candidates(addresses):
            await asyncio.sleep(0)  # another peer's block runs meanwhile
            return aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)

    server, client, default = await asyncio.gather(
        gather(["127.0.0.3"]), gather(["127.0.0.1"]), gather(None)
    )
    assert server == ["127.0.0.3"]
    assert client == ["127.0.0.1"]
    assert default == stock  # outside a choice, aioice decides as it always did
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == stock


def test_a_webrtc_link_hears_the_bots_gate_where_the_audio_is_decoded():
    from pipecat.audio.vad.silero import SileroVADAnalyzer

    from rtvi_server.processor import ListeningGate
    from rtvi_server.sessions.transports.websocket import WebSocketLink

    gate = ListeningGate(SileroVADAnalyzer())
    link = WebRTCLink()
    assert link.inline_audio is not None
    assert link.hear_at_edge(gate)
    assert link.inline_audio.edge is gate
    assert not WebRTCLink(inline_audio=False).hear_at_edge(gate)  # pipecat's own reader
    assert not WebSocketLink().hear_at_edge(gate)  # the gate stays in the pipeline
