"""rtvi_server.protocol stays pure: no pipecat, no I/O modules."""

import ast
import subprocess
import sys

from ..conftest import ROOT

FORBIDDEN = (
    "pipecat",
    "aiortc",
    "fastapi",
    "starlette",
    "aiohttp",
    "socket",
    "asyncio",
    "loguru",
    "rtvi_server.processor",
    "rtvi_server.server",
    "rtvi_server.sessions",
    "rtvi_server.services",
)


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_protocol_modules_import_nothing_impure():
    offenders = [
        (path.name, module)
        for path in sorted((ROOT / "rtvi_server" / "protocol").glob("*.py"))
        for module in imported_modules(path)
        if module.startswith(FORBIDDEN)
    ]
    assert offenders == []


def test_importing_the_protocol_loads_no_pipecat():
    code = "import sys, rtvi_server.protocol; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pipecat', 'aiortc', 'fastapi')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
