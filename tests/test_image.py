"""The container image, built and run here: buildah on a debootstrap base, no Docker.

``scripts/build-image --debootstrap --machine-pip`` builds docker/Dockerfile on a Debian
bookworm made from Debian's packages; the test then runs the image's own entrypoint
with ``buildah run --isolation chroot --network host`` on loopback and talks to it:
``/health``, one spoken WebRTC turn with the offline default bot, and a SIGTERM that
drains it to exit 0. The image's size and build time go to test-artifacts/image.json.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from rtvi_server.testing import word_error_rate
from rtvi_server.testing.webrtc_client import WebRTCTestClient

from .conftest import ROOT, fixture_text
from .support.serverproc import free_port
from .support.wait import eventually

pytestmark = pytest.mark.slow
TAG = "localhost/rtvi-server:ci"
ARTIFACTS = ROOT / "test-artifacts"


def buildah(*args, **kwargs):
    return subprocess.run(["buildah", *args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def image():
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (scripts/bootstrap installs it)")
    if os.geteuid() != 0:
        pytest.fail("building the image with buildah --isolation chroot needs root here")
    began = time.monotonic()
    built = subprocess.run(
        [str(ROOT / "scripts" / "build-image"), "--debootstrap", "--machine-pip", TAG],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    config = json.loads(buildah("inspect", "--type", "image", TAG).stdout)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "image.json").write_text(
        json.dumps(
            {
                "size": buildah("images", "--format", "{{.Size}}", TAG).stdout.strip(),
                "build_seconds": round(time.monotonic() - began),
            }
        )
    )
    yield config
    buildah("rmi", TAG)


@pytest.fixture
def container(image):
    name = buildah("from", TAG).stdout.strip()
    yield name
    buildah("rm", name)


def test_the_image_runs_as_a_user_without_the_build_tools(image, container):
    oci = image["OCIv1"]["config"]
    assert oci["User"] == "10001"
    assert oci["WorkingDir"] == "/app"
    assert oci["Entrypoint"] == [".venv/bin/rtvi-server"]
    assert image["Docker"]["config"]["Healthcheck"]["Test"][1:3] == [".venv/bin/python", "-c"]
    tools = buildah("run", "--isolation", "chroot", container, "--", "sh", "-c",
                    "command -v gcc cc g++ cmake node npm; echo checked")  # fmt: skip
    assert tools.stdout.strip() == "checked"  # compilers and Node stayed in the build stage
    native = buildah("run", "--isolation", "chroot", container, "--", ".venv/bin/python", "-c",
                     "from rtvi_server.audio import gating_block as g; print(g.mean_square)")  # fmt: skip
    assert "built-in function mean_square" in native.stdout, native.stderr[-2000:]


def entrypoint_command(image, port):
    """The image's ENTRYPOINT and CMD, bound to loopback instead of 0.0.0.0."""
    oci = image["OCIv1"]["config"]
    cmd = [*oci["Entrypoint"], *oci["Cmd"]]
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    return cmd


def server_pid(port):
    """The server's own process (chroot isolation shares the host's process table)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in argv and str(port).encode() in argv and b"python" in argv[0]:
                return int(proc.name)
    return None


def healthy(url):
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def run_image(container, command, log):
    return subprocess.Popen(
        ["buildah", "run", "--isolation", "chroot", "--network", "host", container, "--",
         *command],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


async def test_the_image_serves_a_spoken_turn_and_drains_on_sigterm(
    image, container, fixtures, tmp_path
):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "image.log").open("w")
    run = run_image(container, entrypoint_command(image, port), log)
    try:
        await eventually(lambda: healthy(url), timeout=120, what="the image's server up")
        wav = fixtures / "librivox_sense_and_sensibility_0870.wav"
        async with WebRTCTestClient(url) as client:
            await client.start({})
            await client.connect(timeout=60)
            assert (await client.request("client-ready", {}, timeout=60))["type"] == "bot-ready"
            client.play_wav(wav)
            final = await client.wait_for_event(
                "user-transcription", lambda m: m["data"]["final"], timeout=90
            )
            assert word_error_rate(fixture_text(wav), final["data"]["text"]) <= 0.10
            await client.wait_for_event("bot-stopped-speaking", timeout=120)
            assert client.bot_audio_peak > 1000
        pid = await eventually(lambda: server_pid(port), what="the server's process")
        os.kill(pid, signal.SIGTERM)
        assert await asyncio.to_thread(run.wait, 60) == 0
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        log.close()
