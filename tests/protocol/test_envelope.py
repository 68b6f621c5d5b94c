import json

import pytest

from rtvi_server.protocol import Envelope, Ignored, ProtocolError, decode, encode


def test_well_formed_text_becomes_envelope():
    got = decode('{"label":"rtvi-ai","type":"get-config","id":"abc","data":{}}')
    assert got == Envelope(type="get-config", id="abc", data={})


def test_absent_and_null_data_are_none():
    assert decode({"label": "rtvi-ai", "type": "x", "id": "1"}) == Envelope("x", "1", None)
    assert decode({"label": "rtvi-ai", "type": "x", "id": "1", "data": None}).data is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ping: 1712345678901", "keep-alive ping"),
        ("[1, 2]", "a JSON array is not an RTVI message"),
        ("42", "a JSON number is not an RTVI message"),
        ('{"type":"get-config","id":"1"}', "no rtvi-ai label"),
        ('{"label":"other","type":"get-config","id":"1"}', "label 'other' is not RTVI"),
        ([1], "a JSON array is not an RTVI message"),
    ],
)
def test_traffic_that_is_not_rtvi_is_ignored(raw, reason):
    assert decode(raw) == Ignored(reason)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{not json", ProtocolError),
        (
            '{"label":"rtvi-ai","type":"get-config"}',
            ProtocolError('get-config: message has no "id"'),
        ),
        (
            '{"label":"rtvi-ai","type":"get-config","id":7}',
            ProtocolError('get-config: "id" must be a string, got number'),
        ),
        (
            '{"label":"rtvi-ai","type":"get-config","id":""}',
            ProtocolError('get-config: "id" must be 1 to 128 characters'),
        ),
        (
            '{"label":"rtvi-ai","id":"q1"}',
            ProtocolError('"type" must be a non-empty string, got missing', "q1"),
        ),
        (
            '{"label":"rtvi-ai","type":3,"id":"q1"}',
            ProtocolError('"type" must be a non-empty string, got a number', "q1"),
        ),
        (
            '{"label":"rtvi-ai","type":"action","id":"q2","data":[1]}',
            ProtocolError('action: "data" must be an object, got array', "q2"),
        ),
        (
            '{"label":"rtvi-ai","type":"action","id":"q3","data":"x"}',
            ProtocolError('action: "data" must be an object, got string', "q3"),
        ),
    ],
)
def test_malformed_rtvi_is_a_precise_error(raw, expected):
    got = decode(raw)
    if expected is ProtocolError:
        assert isinstance(got, ProtocolError)
        assert got.reason.startswith("message is not valid JSON")
        assert got.id is None
    else:
        assert got == expected


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_number_json_cannot_carry_is_refused_with_the_request_id(number):
    got = decode('{"label":"rtvi-ai","type":"x","id":"1","data":{"v":' + number + "}}")
    assert isinstance(got, ProtocolError)
    assert got.reason == "message is not valid JSON"
    assert got.id == "1"  # so the client's request is answered, not left pending


@pytest.mark.parametrize("number", [float("nan"), float("inf")])
def test_a_parsed_message_holding_nan_is_refused_with_its_id(number):
    # pipecat's data channel parses with Python's json, which accepts NaN.
    got = decode({"label": "rtvi-ai", "type": "update-config", "id": "n1", "data": {"v": number}})
    assert isinstance(got, ProtocolError)
    assert "NaN, Infinity" in got.reason
    assert got.id == "n1"


def test_an_id_no_reply_could_carry_is_refused_without_it():
    got = decode({"label": "rtvi-ai", "type": "get-config", "id": "\ud800x"})
    assert isinstance(got, ProtocolError)
    assert got.id is None
    assert "valid Unicode" in got.reason


def test_oversized_message_is_refused_with_its_id_when_visible():
    msg = json.dumps(
        {"label": "rtvi-ai", "id": "big1", "type": "action", "data": {"x": "a" * 5000}}
    )
    got = decode(msg, max_bytes=1000)
    assert isinstance(got, ProtocolError)
    assert got.id == "big1"
    assert got.reason == f"message of {len(msg)} bytes exceeds the limit of 1000 bytes"


def test_oversized_object_is_refused():
    msg = {"label": "rtvi-ai", "id": "big2", "type": "action", "data": {"x": "a" * 5000}}
    got = decode(msg, max_bytes=1000)
    assert isinstance(got, ProtocolError)
    assert got.id == "big2"


def test_bytes_must_be_utf8():
    assert decode(b"\xff\xfe") == ProtocolError("message is not valid UTF-8 text")
    assert decode(b'{"label":"rtvi-ai","type":"a","id":"b"}') == Envelope("a", "b", None)


def test_encode_is_compact_json():
    assert encode({"label": "rtvi-ai", "type": "x", "data": {"t": "é"}}) == (
        '{"label":"rtvi-ai","type":"x","data":{"t":"é"}}'
    )
