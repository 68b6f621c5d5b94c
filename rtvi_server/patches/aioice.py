"""aioice (0.13): which addresses a connection offers as ICE host candidates,
and a tap on the datagrams a connection receives.

aioice gathers host candidates from every interface but loopback, through the
module function ``aioice.ice.get_host_addresses``. A server bound to 127.0.0.1
must offer exactly 127.0.0.1, a test client in the same process likewise,
without either deciding for the other. This module puts one dispatcher in that
function's place (once): it answers from the addresses chosen by the context
that is gathering (a ``ContextVar``, so each peer connection gets what the code
that created it asked for) and falls back to aioice's own choice elsewhere.

:func:`tap_datagrams` lets the lean receive path take media packets where the
socket delivers them, ahead of aioice's STUN parse and its receive queue.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator, Sequence

from rtvi_server.patches.selfcheck import PatchReport, has_names, installed_version

TESTED = ">=0.13,<0.14"

_UNSET: tuple[str, ...] = ("<unset>",)
_chosen: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "rtvi_ice_host_addresses", default=_UNSET
)
_process_default: tuple[str, ...] | None = None
_stock: Callable[..., list[str]] | None = None


@functools.cache  # the installed code does not change under a running process
def report() -> PatchReport:
    missing: list[str] = []
    try:
        import aioice.ice as ice
    except ImportError:
        return PatchReport("aioice", "not installed", TESTED, ("aioice.ice",))
    if not callable(getattr(ice, "get_host_addresses", None)):
        missing.append("aioice.ice.get_host_addresses")
    missing += has_names(ice.Connection.gather_candidates, "get_host_addresses")
    missing += has_names(ice.Connection.__init__, "_protocols", "_queue")
    missing += has_names(ice.Connection.data_received, "_queue")
    if not callable(getattr(ice.StunProtocol, "datagram_received", None)):
        missing.append("aioice.ice.StunProtocol.datagram_received")
    return PatchReport("aioice", installed_version("aioice"), TESTED, tuple(missing))


def _dispatch(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    assert _stock is not None
    fixed = _chosen.get()
    if fixed is _UNSET:
        fixed = _process_default
    if fixed is None:
        return _stock(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    return [a for a in fixed if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


def _install() -> bool:
    global _stock
    if _stock is not None:
        return True
    if not report().ok:
        return False
    import aioice.ice as ice

    _stock = ice.get_host_addresses
    ice.get_host_addresses = _dispatch
    return True


def use_by_default(addresses: Sequence[str] | None) -> bool:
    """For programs that are one peer (a benchmark client, a stock-pipecat server):
    every connection made outside a :func:`host_candidates` block offers
    ``addresses``. Returns whether the choice holds."""
    global _process_default
    _process_default = tuple(addresses) if addresses is not None else None
    return addresses is None or _install()


@contextlib.contextmanager
def host_candidates(addresses: Sequence[str] | None) -> Iterator[bool]:
    """Within this block, peer connections gather exactly ``addresses`` as host
    candidates (``None``: aioice's own choice). Yields whether the choice holds."""
    installed = addresses is None or _install()
    token = _chosen.set(tuple(addresses) if addresses is not None else None)
    try:
        yield installed
    finally:
        _chosen.reset(token)


def tap_datagrams(connection: object, tap: Callable[[bytes], bool]) -> bool:
    """Offer each datagram ``connection``'s sockets receive to ``tap`` first.

    ``tap`` returns whether it took the datagram; the rest go aioice's way (STUN
    handling, then the queue its reader awaits). A datagram is offered only
    while that queue is empty, so a tapped one never overtakes one still queued.
    Returns whether the tap is in place (False: aioice's names moved).
    """
    if not report().ok:
        return False
    protocols = getattr(connection, "_protocols", None)
    queue = getattr(connection, "_queue", None)
    if not isinstance(protocols, list) or queue is None:
        return False
    for protocol in protocols:
        protocol.datagram_received = _tapped(protocol.datagram_received, tap, queue.empty)
    return True


def _tapped(
    stock: Callable[[bytes, tuple[object, ...]], None],
    tap: Callable[[bytes], bool],
    queue_empty: Callable[[], bool],
) -> Callable[[bytes, tuple[object, ...]], None]:
    def datagram_received(data: bytes, addr: tuple[object, ...]) -> None:
        if not (queue_empty() and tap(data)):
            stock(data, addr)

    return datagram_received
