"""Only rtvi_server/patches/ reaches into pipecat, aiortc and aioice internals.

The private names those packages define (``self._x`` fields, ``_x`` methods and
constants, name-mangled ``__x`` fields) are collected from their source; no
module of ours outside the patch modules may use one that it does not define
itself, nor import one, nor (in a class derived from theirs) assign one.
"""

import ast
import importlib.util
from functools import cache
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow  # reads every source file of three packages

DEPENDENCIES = ("pipecat", "aiortc", "aioice")
PATCHES = ROOT / "rtvi_server" / "patches"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _mangled(name: str) -> bool:
    return name.startswith("__") and not name.endswith("__")


def defined_names(tree: ast.AST) -> set[str]:
    """Private names a source tree defines: assigned attributes, functions, classes, globals."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in ast.walk(node):
                mangled = isinstance(item, ast.Attribute) and _mangled(item.attr)
                if mangled:
                    names.add(f"_{node.name.lstrip('_')}{item.attr}")
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Attribute) and _private(leaf.attr):
                    names.add(leaf.attr)
                elif isinstance(leaf, ast.Name) and _private(leaf.id):
                    names.add(leaf.id)
        named = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        if named and _private(node.name):
            names.add(node.name)
    return names


@cache
def dependency_private_names() -> frozenset[str]:
    names: set[str] = set()
    for package in DEPENDENCIES:
        spec = importlib.util.find_spec(package)
        assert spec is not None, package
        assert spec.submodule_search_locations, package
        for path in Path(next(iter(spec.submodule_search_locations))).rglob("*.py"):
            try:
                names |= defined_names(ast.parse(path.read_text(errors="replace")))
            except SyntaxError:
                continue
    return frozenset(names)


def our_modules():
    for path in sorted((ROOT / "rtvi_server").rglob("*.py")):
        if PATCHES not in path.parents:
            yield path, ast.parse(path.read_text())


def test_the_collection_sees_the_names_the_patches_use():
    theirs = dependency_private_names()
    assert {"_client", "_handle_client_connected", "_RTCRtpReceiver__jitter_buffer"} <= theirs


def test_no_module_outside_the_patches_uses_a_dependency_private_name():
    theirs = dependency_private_names()
    offenders = []
    for path, tree in our_modules():
        ours = defined_names(tree)
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute) and _private(node.attr):
                name = node.attr
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(DEPENDENCIES):
                name = next((a.name for a in node.names if _private(a.name)), None)
                if name is not None:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
                continue
            if name is not None and name in theirs and name not in ours:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {name}")
    assert offenders == []
