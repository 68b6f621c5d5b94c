"""The layers of DESIGN.md point one way, for every layer of the package.

Each module may import modules of its own layer and of the layers below it,
never above. ``rtvi_server/__init__.py`` (the curated public API) is exempt.
"""

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "rtvi_server"

# Low to high. Foundation modules import nothing of the package but each other.
LAYERS = [
    ("foundation", ("_version", "_lazy", "settings", "logs")),
    ("protocol", ("protocol",)),
    ("patches", ("patches",)),
    ("audio", ("audio",)),
    ("services", ("services",)),
    ("processor", ("processor",)),
    ("bots", ("bots", "voice_bot")),
    ("sessions", ("sessions", "testing")),
    ("cluster", ("cluster",)),
    ("server", ("server", "cli")),
]
RANK = {part: rank for rank, (_, parts) in enumerate(LAYERS) for part in parts}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "rtvi_server" or len(parts) < 2:
        return None
    return RANK.get(parts[1])


def imports(path: Path, module: str):
    tree = ast.parse(path.read_text())
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield f"{base}.{node.module}" if node.module else base
            elif node.module:
                yield node.module


def package_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        if module != "rtvi_server":
            yield path, module


def test_every_module_belongs_to_a_layer():
    assert [m for _, m in package_modules() if layer_of(m) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for path, module in package_modules():
        own = layer_of(module)
        for target in imports(path, module):
            rank = layer_of(target)
            if rank is not None and own is not None and rank > own:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_the_catalogue_of_providers_loads_without_pipecat():
    import subprocess
    import sys

    code = (
        "import sys; from rtvi_server.services.catalogue import PROVIDERS; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pipecat'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
