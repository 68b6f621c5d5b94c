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
