"""Fail a test if anything opens a connection to a non-loopback address."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _is_loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):
        return True  # AF_UNIX paths
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) == "localhost"


@contextmanager
def loopback_only() -> Iterator[list[Any]]:
    """Refuse (and record) any socket connection beyond the loopback range."""
    attempts: list[Any] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            attempts.append(address)
            raise ConnectionRefusedError(f"test network guard: {address!r} is not loopback")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            attempts.append(address)
            raise ConnectionRefusedError(f"test network guard: {address!r} is not loopback")
        return real_connect_ex(self, address)

    real_sendto = socket.socket.sendto

    def sendto(self: socket.socket, data: Any, *args: Any) -> Any:
        address = args[-1]
        if not _is_loopback(address):
            attempts.append(address)
            raise ConnectionRefusedError(f"test network guard: {address!r} is not loopback")
        return real_sendto(self, data, *args)

    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    try:
        yield attempts
    finally:
        socket.socket.sendto = real_sendto  # type: ignore[method-assign]
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
