"""What the container does, checked without a Docker engine (there is none here)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rtvi_server.services import PROVIDERS

from .conftest import ROOT

DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()


def test_dockerfile_passes_hadolint():
    # The venv's own copy, also when README's test command runs without activating it.
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.fail("hadolint is not installed (it comes with the dev extra)")
    result = subprocess.run(
        [hadolint, str(ROOT / "docker" / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_image_installs_the_way_ci_does():
    # Same script as .ci/run, so a green CI means the image's install step works.
    assert "RUN scripts/bootstrap" in DOCKERFILE
    assert "scripts/bootstrap" in (ROOT / ".ci" / "run").read_text()
    for needed in (
        "pyproject.toml",
        "constraints.txt",
        "scripts/",
        "rtvi_server/",
        "bots/",
        "clients/package-lock.json",
        "clients/web/",
    ):
        assert re.search(rf"^COPY .*{re.escape(needed)}", DOCKERFILE, re.M), needed


def test_image_runs_as_non_root_with_healthcheck_and_drain():
    assert re.search(r"^USER (?!root|0\b)\S+", DOCKERFILE, re.M)
    assert "HEALTHCHECK" in DOCKERFILE
    assert "/health" in DOCKERFILE
    assert "STOPSIGNAL SIGTERM" in DOCKERFILE
    assert 'ENTRYPOINT [".venv/bin/rtvi-server"]' in DOCKERFILE  # exec form: PID 1 gets SIGTERM


def test_env_example_lists_every_variable_the_server_reads():
    example = (ROOT / ".env.example").read_text()
    read = set()
    for path in (ROOT / "rtvi_server").rglob("*.py"):
        read |= set(re.findall(r'env(?:iron)?\.get\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    read |= {p.key_env for p in PROVIDERS if p.key_env}
    read |= {p.base_url_env for p in PROVIDERS if p.base_url_env}
    missing = sorted(v for v in read if v not in example)
    assert not missing, missing


def test_compose_runs_two_cluster_hosts_on_one_redis_with_media_reachable():
    import yaml

    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]
    assert "redis" in compose
    hosts = {n: s for n, s in compose.items() if "RTVI_CLUSTER_URL" in s.get("environment", {})}
    assert len(hosts) == 2
    ids, ports = set(), set()
    for service in hosts.values():
        env = service["environment"]
        assert env["RTVI_CLUSTER_URL"].startswith("redis://127.0.0.1:6379/")
        port = service["command"][service["command"].index("--port") + 1]
        assert env["RTVI_PUBLIC_URL"].endswith(f":{port}")
        assert service["network_mode"] == "host"  # WebRTC's UDP needs no published range
        grace = float(env["RTVI_DRAIN_GRACE"])
        assert float(service["stop_grace_period"].removesuffix("s")) >= grace + 10
        ids.add(env["RTVI_HOST_ID"])
        ports.add(port)
    assert len(ids) == len(ports) == 2
