from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"recorded fixtures not found at {FIXTURES}")
    return FIXTURES


def fixture_text(path: Path) -> str:
    """The book-text transcript line of a fixture's .txt (the line after its heading)."""
    lines = path.with_suffix(".txt").read_text().splitlines()
    found = [
        lines[i + 1].strip()
        for i, line in enumerate(lines[:-1])
        if line.startswith("Transcript") and lines[i + 1].strip()
    ]
    if not found:
        raise ValueError(f"no transcript in {path.with_suffix('.txt')}")
    return found[-1]
