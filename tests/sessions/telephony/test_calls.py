"""Telling providers apart by their stream's first messages; the number mapping; markup."""

import xml.etree.ElementTree as ET

import pytest

from rtvi_server.sessions.telephony import (
    CallStart,
    check_numbers,
    connect_markup,
    detect_call,
    payload_for_number,
    reject_markup,
)
from rtvi_server.sessions.telephony.calls import is_stop, mark_message, played_mark
from rtvi_server.settings import SettingsError, parse_numbers

TWILIO_START = {
    "event": "start",
    "start": {"streamSid": "MZ1", "callSid": "CA1", "accountSid": "AC1"},
    "streamSid": "MZ1",
}
TELNYX_START = {
    "event": "start",
    "stream_id": "s-1",
    "start": {"call_control_id": "v3:1", "media_format": {"encoding": "PCMA"}},
}
PLIVO_START = {"event": "start", "start": {"streamId": "p-1", "callId": "c-1"}}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (TWILIO_START, CallStart("twilio", "MZ1", "CA1")),
        (TELNYX_START, CallStart("telnyx", "s-1", "v3:1", "PCMA")),
        (PLIVO_START, CallStart("plivo", "p-1", "c-1")),
        ({"event": "connected", "protocol": "Call"}, None),
        ({"event": "start", "start": {"streamSid": "MZ1"}}, None),  # no call
        ({"event": "start", "start": "MZ1"}, None),
        ({"event": "media", "start": TWILIO_START["start"]}, None),
    ],
)
def test_detect_call(message, expected):
    assert detect_call(message) == expected


@pytest.mark.parametrize("call", [CallStart("twilio", "MZ1", "CA1"), CallStart("plivo", "p", "c")])
def test_a_mark_we_send_is_recognised_when_echoed(call):
    sent = mark_message(call, "utterance-1")
    echoed = (
        {"event": "playedStream", "streamId": "p", "name": "utterance-1"}
        if call.provider == "plivo"
        else sent
    )
    assert played_mark(echoed) == "utterance-1"
    assert not is_stop(echoed)
    assert is_stop({"event": "stop"})


def test_the_operator_mapping_picks_the_payload_and_the_transport_is_forced():
    numbers = {"+1 (555) 010-0100": {"bot_profile": "sales", "transport": "webrtc"}}
    assert payload_for_number(numbers, "+15550100100", "twilio") == {
        "bot_profile": "sales",
        "transport": "twilio",
    }
    assert payload_for_number(numbers, "sip:+15550100100@example.com", "plivo") == {
        "bot_profile": "sales",
        "transport": "plivo",
    }
    assert payload_for_number(numbers, "+15550100999", "twilio") is None
    fallback = {**numbers, "default": {"bot_profile": "default"}}
    assert payload_for_number(fallback, "+15550100999", "telnyx") == {
        "bot_profile": "default",
        "transport": "telnyx",
    }
    assert payload_for_number({}, "+15550100999", "telnyx") == {"transport": "telnyx"}


def test_a_mapping_that_could_not_start_a_call_is_refused_at_startup():
    check_numbers({"+1555": {"bot_profile": "ok", "max_duration": 30}})
    with pytest.raises(SettingsError, match=r"\+1555.*max_duration"):
        check_numbers({"+1555": {"max_duration": -1}})
    with pytest.raises(SettingsError, match="objects"):
        parse_numbers('{"+1555": "default"}')
    with pytest.raises(SettingsError, match="JSON"):
        parse_numbers("{")


def test_markup_is_well_formed_and_escapes_the_url():
    url = 'wss://h/telephony/media/abc/t?x=1&y="2"'
    twiml = ET.fromstring(connect_markup("twilio", url, {"session_id": "abc"}))
    stream = twiml.find("Connect/Stream")
    assert stream is not None
    assert stream.get("url") == url
    assert stream.find("Parameter").get("value") == "abc"
    plivo = ET.fromstring(connect_markup("plivo", url, {}))
    assert plivo.find("Stream").text == url
    assert plivo.find("Stream").get("bidirectional") == "true"
    texml = ET.fromstring(connect_markup("telnyx", url, {}))
    assert texml.find("Connect/Stream").get("bidirectionalMode") == "rtp"
    assert ET.fromstring(reject_markup("twilio")).find("Reject").get("reason") == "busy"
    assert ET.fromstring(reject_markup("plivo", "rejected")).find("Hangup").get("reason") == (
        "rejected"
    )
