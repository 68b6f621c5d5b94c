"""Logging for the ``serve`` command: one format, a level, and no secret in any line.

Log lines carry session ids and what failed; they must never carry a bearer
token or an API key. Two leaks are closed here: loguru's default handler prints
the local variables of every frame of a traceback (request headers included),
and uvicorn's access log prints the query string (a browser's WebSocket sends
the server key as ``?token=``, a phone call's media socket its token in the
path). Every message is also passed through
:func:`redact`, which masks what looks like a credential.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

_SECRETS = re.compile(r"(?i)(bearer\s+|token=|api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s&\"',}]+")
_PATH_TOKENS = re.compile(r"(/telephony/media/[0-9a-f]{32}/)[^\s/?\"']+")
MASK = "***"


def redact(text: str) -> str:
    text = _SECRETS.sub(lambda m: m.group(1) + MASK, text)
    return _PATH_TOKENS.sub(lambda m: m.group(1) + MASK, text)


def _patch(record: Record) -> None:
    record["message"] = redact(record["message"])


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def configure_logging(level: str | None = None) -> None:
    """loguru to stderr at ``level`` (``RTVI_LOG_LEVEL``, default INFO), tracebacks
    without variable values, and uvicorn's loggers redacted."""
    chosen = (level or os.environ.get("RTVI_LOG_LEVEL") or "INFO").upper()
    logger.remove()
    logger.configure(patcher=_patch)
    logger.add(sys.stderr, level=chosen, diagnose=False, backtrace=False)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(_RedactingFilter())
