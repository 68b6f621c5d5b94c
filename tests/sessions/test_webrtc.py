import aioice.ice

from rtvi_server.sessions import webrtc

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


def test_loopback_server_offers_and_accepts_only_loopback():
    try:
        assert webrtc.configure_host_candidates("127.0.0.1") == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1"]
        filtered = webrtc.loopback_sdp(OFFER)
        assert "192.168.7.20" not in filtered
        assert ".local" not in filtered
        assert "127.0.0.1 50001" in filtered
        assert "a=end-of-candidates" in filtered
    finally:
        webrtc.configure_host_candidates("0.0.0.0")


def test_server_on_all_interfaces_keeps_aiortc_defaults():
    assert webrtc.configure_host_candidates("0.0.0.0") is None
    assert webrtc.loopback_sdp(OFFER) == OFFER
    assert webrtc.configure_host_candidates("localhost") == ["127.0.0.1"]
    webrtc.configure_host_candidates("0.0.0.0")
