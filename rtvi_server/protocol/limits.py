"""How many requests a client may send: a token bucket and a cap on those waiting.

Requests are served one at a time; a client that sends faster than the bot can
answer (or a hostile one) would otherwise queue without bound. A request over
the rate or over the waiting cap is answered at once with an ``error-response``
saying so, and the session goes on. Pure bookkeeping: the caller supplies the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

DEFAULT_RATE: Final = 20.0
DEFAULT_BURST: Final = 50
DEFAULT_MAX_PENDING: Final = 32


@dataclass(frozen=True)
class RateLimit:
    """``rate`` requests a second on average, ``burst`` at once, ``max_pending`` waiting."""

    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    max_pending: int = DEFAULT_MAX_PENDING


@dataclass
class RequestBudget:
    """One client's token bucket."""

    limit: RateLimit = field(default_factory=RateLimit)
    _tokens: float = field(init=False)
    _at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.limit.burst)

    def refusal(self, now: float, pending: int) -> str | None:
        """Why a request arriving at ``now`` is refused (taking a token if not), or ``None``."""
        if self._at is not None:
            self._tokens = min(self.limit.burst, self._tokens + (now - self._at) * self.limit.rate)
        self._at = now
        if pending >= self.limit.max_pending:
            return (
                f"too many requests waiting (at most {self.limit.max_pending}); "
                "wait for their replies"
            )
        if self._tokens < 1:
            return f"too many requests (at most {self.limit.rate:g} a second); slow down"
        self._tokens -= 1
        return None
