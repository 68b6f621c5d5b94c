"""Property: no input makes the parser raise; every result is a typed value."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from rtvi_server.protocol import Envelope, Ignored, ProtocolError, decode, parse_request
from rtvi_server.protocol.messages import REQUEST_TYPES

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
types = st.sampled_from(sorted(REQUEST_TYPES)) | st.text(max_size=12)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "label": st.sampled_from(["rtvi-ai", "rtvi-ai", "other"]) | json_values,
        "type": types | json_values,
        "id": st.text(max_size=10) | json_values,
        "data": json_values
        | st.dictionaries(
            st.sampled_from(
                [
                    "config",
                    "service",
                    "action",
                    "arguments",
                    "content",
                    "t",
                    "d",
                    "version",
                    "interrupt",
                ]
            ),
            json_values,
        ),
    },
)


@settings(max_examples=600, deadline=None)
@given(envelopes)
def test_any_object_decodes_to_a_typed_result(obj):
    for raw in (obj, json.dumps(obj), json.dumps(obj).encode()):
        got = decode(raw)
        assert isinstance(got, Envelope | Ignored | ProtocolError)
        if isinstance(got, Envelope):
            parsed = parse_request(got)
            if isinstance(parsed, ProtocolError):
                assert parsed.id == got.id


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_text_or_bytes_decodes(raw):
    assert isinstance(decode(raw), Envelope | Ignored | ProtocolError)
