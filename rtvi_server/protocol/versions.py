"""Protocol generations and the versions each side announces.

A client's generation is read from ``client-ready.data.version`` (spec 11.3):
no version means the config generation (realtime-ai 0.x, client-js 0.3/0.4),
``1.x.y`` / ``2.x.y`` means the modern one. One processor serves both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Final

from rtvi_server.protocol.values import JSONValue

CONFIG_PROTOCOL_VERSION: Final = "0.3.0"
MODERN_PROTOCOL_VERSION: Final = "2.1.0"
_SEMVER: Final = re.compile(r"^(\d{1,6})\.(\d{1,6})\.(\d{1,6})$")


class Generation(Enum):
    CONFIG = "config"
    MODERN = "modern"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What a client said about itself in ``client-ready``.

    ``warning`` is set when a modern-looking client announced a version we can
    only serve on a best-effort basis; the processor reports it with an
    ``error-response`` and carries on, as modern pipecat does. Config-generation
    clients never get such a warning (it would only fire ``onMessageError``).
    """

    generation: Generation
    version: tuple[int, int, int] = (0, 0, 0)
    about: JSONValue = None
    warning: str | None = None

    @property
    def bot_ready_version(self) -> str:
        """The version string our ``bot-ready`` announces to this client."""
        if self.generation is Generation.CONFIG:
            return CONFIG_PROTOCOL_VERSION
        if self.version[0] == 1:
            # 1.x clients stay on their v1 code path only if we echo their version.
            return ".".join(str(v) for v in self.version)
        return MODERN_PROTOCOL_VERSION


def detect_client(data: JSONValue) -> ClientInfo:
    """Classify a client from its ``client-ready`` payload."""
    if not isinstance(data, dict) or data.get("version") is None:
        return ClientInfo(Generation.CONFIG)
    about = data.get("about")
    raw_version = data.get("version")
    match = _SEMVER.match(raw_version) if isinstance(raw_version, str) else None
    if match is None:
        return ClientInfo(
            Generation.MODERN,
            (2, 0, 0),
            about,
            f"Invalid client version format ({raw_version!r}). Compatibility issues may occur.",
        )
    version = (int(match[1]), int(match[2]), int(match[3]))
    if version[0] == 0:
        return ClientInfo(Generation.CONFIG, version, about)
    warning = None
    if version[0] not in (1, 2):
        warning = (
            f"RTVI version {raw_version} is not compatible with server protocol "
            f"{MODERN_PROTOCOL_VERSION}. Compatibility issues may occur."
        )
    return ClientInfo(Generation.MODERN, version, about, warning)
