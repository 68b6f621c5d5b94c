import shutil
import subprocess
from pathlib import Path

import pytest

from ..support.serverproc import ROOT, ServerProcess

CLIENTS = ROOT / "clients"


@pytest.fixture(scope="package")
def node_clients() -> Path:
    if shutil.which("node") is None:
        pytest.fail("node is not installed")
    if not (CLIENTS / "node_modules" / "realtime-ai").is_dir():
        pytest.fail("client packages are missing: run scripts/bootstrap (npm ci in clients/)")
    return CLIENTS


@pytest.fixture(scope="package")
def default_server():
    proc = ServerProcess(bots_dir=ROOT / "bots").wait_ready()
    yield proc
    proc.terminate()


def run_node(script: Path, *args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(script), *args], cwd=CLIENTS, capture_output=True, text=True, timeout=timeout
    )
