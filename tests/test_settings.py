"""Settings from the environment: each bad value refused with the variable's name."""

import pytest

from rtvi_server.settings import IceServerSetting, ServerSettings, SettingsError


def settings(**env):
    return ServerSettings.from_env(env)


def test_ice_servers_read_as_json_or_as_stun_urls():
    turn = '[{"urls": ["turn:10.0.0.9:3478"], "username": "u", "credential": "p"}]'
    assert settings(RTVI_ICE_SERVERS=turn).ice_servers == (
        IceServerSetting(("turn:10.0.0.9:3478",), "u", "p"),
    )
    assert settings(RTVI_ICE_SERVERS="stun:a:3478, stun:b:3478").ice_servers == (
        IceServerSetting(("stun:a:3478",)),
        IceServerSetting(("stun:b:3478",)),
    )
    assert settings().ice_servers == ()


@pytest.mark.parametrize(
    "raw",
    [
        "[{",
        '{"urls": "turn:x"}',
        '[{"urls": "http://x"}]',
        '[{"urls": []}]',
        '[{"urls": "turn:x", "password": "p"}]',
        '[{"urls": "turn:x", "username": 3}]',
        "turn:x, https://y",
    ],
)
def test_bad_ice_servers_are_refused_naming_the_variable(raw):
    with pytest.raises(SettingsError, match="RTVI_ICE_SERVERS"):
        settings(RTVI_ICE_SERVERS=raw)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RTVI_CLUSTER_URL": "http://redis:6379"}, "RTVI_CLUSTER_URL"),
        ({"RTVI_PUBLIC_URL": "redis://x"}, "RTVI_PUBLIC_URL"),
        ({"RTVI_HOST_ID": "a b"}, "RTVI_HOST_ID"),
        ({"RTVI_HOST_ID": "x" * 65}, "RTVI_HOST_ID"),
        ({"RTVI_DRAIN_GRACE": "-1"}, "RTVI_DRAIN_GRACE"),
        ({"RTVI_DRAIN_GRACE": "soon"}, "RTVI_DRAIN_GRACE"),
    ],
)
def test_bad_cluster_settings_are_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        settings(**env).check()


def test_cluster_settings_are_read():
    s = settings(
        RTVI_CLUSTER_URL="redis://10.0.0.5:6379/2",
        RTVI_PUBLIC_URL="http://10.0.0.11:7860",
        RTVI_HOST_ID="pod-7",
        RTVI_DRAIN_GRACE="300",
    )
    s.check()
    assert (s.cluster_url, s.public_url, s.host_id, s.drain_grace_secs) == (
        "redis://10.0.0.5:6379/2",
        "http://10.0.0.11:7860",
        "pod-7",
        300.0,
    )


def test_cluster_mode_and_workers_do_not_mix():
    from rtvi_server.server import create_backend

    with pytest.raises(SettingsError, match="--workers"):
        create_backend(settings(RTVI_CLUSTER_URL="redis://127.0.0.1:6379/0"), workers=2)


def test_telephony_settings_are_read_with_the_providers_usual_names(tmp_path):
    numbers = tmp_path / "numbers.json"
    numbers.write_text('{"+15550100100": {"bot_profile": "sales"}}')
    env = {
        "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "secret-1",
        "TWILIO_API_BASE_URL": "http://127.0.0.9:1",
        "TELNYX_API_KEY": "secret-2",
        "PLIVO_AUTH_ID": "MA1",
        "RTVI_TELEPHONY_NUMBERS": f"@{numbers}",
    }
    t = ServerSettings.from_env(env).telephony
    assert (t.twilio_account_sid, t.twilio_api_base_url) == ("AC1", "http://127.0.0.9:1")
    assert t.telnyx_api_base_url == "https://api.telnyx.com"
    assert t.numbers == {"+15550100100": {"bot_profile": "sales"}}
    assert "secret" not in repr(t)
    with pytest.raises(SettingsError, match="PLIVO_API_BASE_URL"):
        ServerSettings.from_env({"PLIVO_API_BASE_URL": "ftp://x"}).check()
    with pytest.raises(SettingsError, match="cannot read"):
        ServerSettings.from_env({"RTVI_TELEPHONY_NUMBERS": "@/no/such/file.json"})


def test_the_event_loop_is_asyncio_or_uvloop():
    assert ServerSettings.from_env({}).event_loop == "asyncio"
    with pytest.raises(SettingsError, match="RTVI_EVENT_LOOP"):
        ServerSettings.from_env({"RTVI_EVENT_LOOP": "trio"}).check()


def test_the_loop_stall_watch_is_on_by_default_and_can_be_turned_off():
    assert ServerSettings.from_env({}).loop_stall_secs == 0.25
    assert ServerSettings.from_env({"RTVI_LOOP_STALL_SECS": "0"}).loop_stall_secs == 0
    with pytest.raises(SettingsError, match="RTVI_LOOP_STALL_SECS"):
        ServerSettings.from_env({"RTVI_LOOP_STALL_SECS": "-1"}).check()


def test_the_collector_thresholds_default_to_ours_and_can_be_set():
    assert ServerSettings.from_env({}).gc_thresholds == (10_000, 10, 100)
    python_own = ServerSettings.from_env({"RTVI_GC_THRESHOLDS": " 700, 10,10 "})
    assert python_own.gc_thresholds == (700, 10, 10)
    for bad in ("700,10", "a,b,c", "700,-1,10", "1,2,3,4"):
        with pytest.raises(SettingsError, match="RTVI_GC_THRESHOLDS"):
            ServerSettings.from_env({"RTVI_GC_THRESHOLDS": bad})
