"""Small modules and functions: none in rtvi_server/ over 500 lines or 80 lines."""

import ast

from .conftest import ROOT

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def test_no_module_or_function_is_too_long():
    too_long = []
    for path in sorted((ROOT / "rtvi_server").rglob("*.py")):
        source = path.read_text()
        name = path.relative_to(ROOT)
        if source.count("\n") + 1 > MAX_MODULE_LINES:
            too_long.append(f"{name}: {source.count(chr(10)) + 1} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


def test_the_server_never_asks_which_transport_a_session_uses():
    links = ("WebRTCLink", "WebSocketLink", "DailyLink", "Link")
    found = []
    for path in sorted((ROOT / "rtvi_server" / "server").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                if names & set(links):
                    found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_the_memory_transport_lives_in_testing_only():
    users = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "rtvi_server").rglob("*.py")
        if "MemoryTransport" in path.read_text() and "testing" not in path.parts
    ]
    assert users == []
