"""Property: random envelopes never break a live session; every request is answered."""

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtvi_server.protocol.messages import REQUEST_TYPES

from .bot import make_processor
from .harness import PipelineSession, rtvi

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)
# Types whose every request gets exactly one reply carrying its id.
ANSWERED = ["describe-config", "get-config", "update-config", "describe-actions", "action"]
SILENT_ON_SUCCESS = sorted(REQUEST_TYPES - {*ANSWERED, "client-ready", "disconnect-bot"})

option = st.fixed_dictionaries(
    {
        "name": st.sampled_from(
            ["voice", "speed", "model", "params", "nope", "engine", "initial_messages"]
        ),
        "value": json_values,
    }
)
config = st.lists(
    st.fixed_dictionaries(
        {
            "service": st.sampled_from(["tts", "llm", "vad", "stt"]),
            "options": st.lists(option, max_size=3),
        }
    ),
    max_size=3,
)
data = st.one_of(
    json_values,
    st.fixed_dictionaries({"config": config}, optional={"interrupt": json_values}),
    st.fixed_dictionaries(
        {
            "service": st.sampled_from(["llm", "tts"]),
            "action": st.sampled_from(
                ["get_context", "append_to_messages", "boom", "nothing", "x"]
            ),
        },
        optional={"arguments": st.lists(option, max_size=2) | json_values},
    ),
)
requests = st.tuples(
    st.sampled_from(ANSWERED + SILENT_ON_SUCCESS) | st.text(min_size=1, max_size=10), data
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests, min_size=1, max_size=12))
def test_random_requests_are_answered_and_the_session_survives(batch):
    async def scenario():
        processor, _ = make_processor(handler_timeout_secs=0.2)
        async with PipelineSession(processor) as s:
            await s.request(rtvi("client-ready", {}))
            sent = []
            for type_, payload in batch:
                if type_ in ("disconnect-bot", "client-ready"):
                    continue
                msg = {"label": "rtvi-ai", "type": type_, "id": f"p{len(sent)}", "data": payload}
                sent.append(msg)
                await s.send(msg)
            # A final request proves the session still answers, after everything before it.
            last = await s.request(rtvi("get-config"))
            assert last["type"] == "config"
            for msg in sent:
                replies = s.replies_to(msg["id"])
                data_ok = isinstance(msg["data"], dict) or msg["data"] is None
                must_answer = (
                    msg["type"] in ANSWERED or msg["type"] not in REQUEST_TYPES or not data_ok
                )
                if must_answer:
                    assert len(replies) == 1, (msg, replies)
                else:
                    assert len(replies) <= 1, (msg, replies)
                    assert all(r["type"] == "error-response" for r in replies)

    asyncio.run(scenario())
