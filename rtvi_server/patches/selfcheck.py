"""Whether the patch points of each dependency exist in the installed versions."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from loguru import logger


@dataclass(frozen=True)
class PatchReport:
    """One dependency's patches: the version found, the range tested, what is missing."""

    package: str
    installed: str
    tested: str
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing


def installed_version(package: str) -> str:
    """The installed version of ``package`` (reading it walks ``sys.path``: each
    dependency's ``report`` is cached, so this runs once per process for each)."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def has_names(code_owner: object, *names: str) -> list[str]:
    """The ``names`` that ``code_owner``'s code does not use (attribute names are
    compiled into ``co_names``, name-mangled ones included)."""
    code = getattr(code_owner, "__code__", None)
    used = set(code.co_names) if code is not None else set()
    return [name for name in names if name not in used]


def warn_once(report: PatchReport, fallback: str) -> None:
    logger.warning(
        f"{report.package} {report.installed} (patches tested with {report.tested}) lacks "
        f"{', '.join(report.missing)}: {fallback}"
    )


def self_check() -> list[PatchReport]:
    """Every dependency's report; logs one line per dependency whose points moved."""
    from rtvi_server.patches import aioice as aioice_patches
    from rtvi_server.patches import aiortc as aiortc_patches
    from rtvi_server.patches import pipecat as pipecat_patches

    reports = [aiortc_patches.report(), aioice_patches.report(), pipecat_patches.report()]
    for r in reports:
        if not r.ok:
            warn_once(r, "using the stock path for what those patches do")
    return reports
