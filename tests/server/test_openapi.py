"""/docs describes every route's request and response bodies, from the models the routes use."""

import pytest

from rtvi_server.server import ServerSettings, create_app

from ..conftest import ROOT


@pytest.fixture(scope="module")
def document():
    app = create_app(ServerSettings(bots_dir=ROOT / "tests" / "server" / "bots"))
    return app.openapi()


def schema_of(document, ref):
    return document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_the_start_payload_is_documented_field_by_field(document):
    start = document["paths"]["/start"]["post"]
    body = schema_of(document, start["requestBody"]["content"]["application/json"]["schema"])
    fields = body["properties"]
    assert {"bot_profile", "services", "api_keys", "config", "max_duration", "transport"} <= set(
        fields
    )
    assert "'pattern': '^[A-Za-z0-9_-]+$'" in str(fields["bot_profile"])
    assert fields["api_keys"]["writeOnly"] is True
    assert "webrtc" in str(fields["transport"])
    answer = schema_of(document, start["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"sessionId", "offer_url", "ws_url", "wsUrl", "room_url", "token"} <= set(
        answer["properties"]
    )
    refusal = start["responses"]["400"]["content"]["application/json"]["schema"]
    assert set(schema_of(document, refusal)["properties"]) == {
        "info",
        "detail",
        "field",
        "error_id",
    }
    assert {"429", "413", "401"} <= set(start["responses"])


def test_every_route_documents_its_answer_and_its_bodies(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert {"200", "201"} & set(operation["responses"]), (method, path)
            if method in ("post", "patch") and path != "/start" and path != "/connect":
                assert "requestBody" in operation, (method, path)
    offer = document["paths"]["/sessions/{session_id}/api/offer"]
    assert schema_of(
        document, offer["post"]["requestBody"]["content"]["application/json"]["schema"]
    )["required"] == ["sdp"]
    sessions = document["paths"]["/sessions/{session_id}"]["get"]["responses"]["200"]
    info = schema_of(document, sessions["content"]["application/json"]["schema"])
    assert {"state", "end_reason", "services", "transport"} <= set(info["properties"])
