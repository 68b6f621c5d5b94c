"""README's example test for rtvi_server.testing is itself run here."""

import re

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.slow


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(# tests/test_my_bot\.py.*?)```", readme, re.S)
    assert len(blocks) == 1, "README should hold exactly one example test"
    return blocks[0]


async def test_readme_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(readme_example(), "README.md example", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_")]
    assert tests
    for test in tests:
        await test()
