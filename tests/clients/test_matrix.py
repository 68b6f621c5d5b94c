"""Every published client version against the offline default bot, in Node.

Each version of ``realtime-ai`` and ``@pipecat-ai/client-js`` the npm registry serves
is installed under an alias (``matrix-*`` in clients/package.json) and driven by
clients/node/matrix.mjs over real loopback WebRTC (werift): connect and ``bot-ready``,
a config round trip, a text turn, disconnect. The table this test renders is the one
in README ("Client versions"); a version that cannot connect must be listed in
``CANNOT`` with why, and the test checks it still cannot.
"""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..conftest import ROOT
from ..support.serverproc import ServerProcess
from .conftest import CLIENTS, run_node

pytestmark = pytest.mark.slow
STEPS = ["bot-ready", "config", "text-turn", "disconnected"]
CANNOT = {
    "realtime-ai 0.0.9": (
        "predates RTVI: it posts `config` as an object (answered 400, `config must be an "
        "array`) and joins only Daily rooms; no SmallWebRTC or RTVI message set"
    ),
}
README_START = "<!-- client-matrix:start -->"
README_END = "<!-- client-matrix:end -->"


@pytest.fixture(scope="module")
def matrix_server():
    """The offline default bot, with room for every client at once (a client that has
    disconnected frees its slot only once its peer connection is seen to close)."""
    proc = ServerProcess(bots_dir=ROOT / "bots", max_sessions=64).wait_ready()
    yield proc
    proc.terminate()


def aliases():
    package = json.loads((CLIENTS / "package.json").read_text())
    names = [n for n in package["devDependencies"] if n.startswith("matrix-")]

    def order(name):
        spec = package["devDependencies"][name].removeprefix("npm:")
        lib, version = spec.rsplit("@", 1)
        return (lib != "realtime-ai", [int(p) for p in version.split(".")])

    return sorted(names, key=order)


def label(alias):
    package = json.loads((CLIENTS / "package.json").read_text())
    lib, version = package["devDependencies"][alias].removeprefix("npm:").rsplit("@", 1)
    return f"{lib} {version}"


def drive(alias, server, out):
    report = out / f"{alias}.json"
    result = run_node(CLIENTS / "node" / "matrix.mjs", alias, server.url, str(report), timeout=200)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(report.read_text())


def render(rows):
    lines = [
        "| client | generation | bot-ready | config | text turn | disconnect | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, report in rows:
        marks = ["yes" if s in report["steps"] else "no" for s in STEPS]
        note = CANNOT.get(name, "")
        if not note and report.get("appendToContext"):
            note = "no `sendText` yet: `appendToContext` (which no bot answers) runs the turn"
        generation = "pre-RTVI" if name in CANNOT else report.get("generation", "?")
        lines.append(f"| {name} | {generation} | " + " | ".join(marks) + f" | {note} |")
    return "\n".join(lines)


def test_every_published_client_version_connects_configures_talks_and_leaves(
    node_clients, matrix_server, tmp_path
):
    names = aliases()
    assert len(names) >= 28  # 7 realtime-ai, 21 client-js: every version npm serves
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda a: drive(a, matrix_server, tmp_path), names))
    rows = [(label(a), r) for a, r in zip(names, reports, strict=True)]
    for name, report in rows:
        if name in CANNOT:
            assert report["steps"] != STEPS, f"{name} now works: take it out of CANNOT"
            continue
        assert report["steps"] == STEPS, (name, report.get("failure"))
        assert report["llmText"].strip(), name
        assert "llm" in report["configServices"], name
    table = render(rows)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "client-matrix.md").write_text(table + "\n")
    readme = (ROOT / "README.md").read_text()
    shown = re.search(re.escape(README_START) + r"\n(.*?)\n" + re.escape(README_END), readme, re.S)
    assert shown is not None, "README lacks the client matrix markers"
    assert shown.group(1) == table, "README's client matrix is stale:\n" + table
