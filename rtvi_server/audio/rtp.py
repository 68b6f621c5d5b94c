"""The RTP fixed header (RFC 3550, section 5.1), read with the fewest steps.

The lean receive path reads one header per 20 ms packet per session, so this
reads only what a listener uses: the sequence number (order and loss), the
timestamp and the SSRC (receiver statistics), the payload type, and where the
payload starts and ends (past the CSRC list and any header extension, before
any padding). Header extensions are skipped, not parsed: nothing on the
listening path reads them.
"""

from __future__ import annotations

from typing import NamedTuple

FIXED_HEADER = 12
VERSION = 2


class RtpHeader(NamedTuple):
    """What a listener reads from one RTP packet's header (a tuple: cheap to make)."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int


def parse_rtp(data: bytes) -> tuple[RtpHeader, bytes] | None:
    """The header and the payload of one RTP packet; ``None`` if it is malformed."""
    size = len(data)
    if size < FIXED_HEADER or data[0] >> 6 != VERSION:
        return None
    first = data[0]
    start = FIXED_HEADER + 4 * (first & 0x0F)
    if first & 0x10:  # a header extension: a 4-byte preamble and its length in words
        if size < start + 4:
            return None
        start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
    end = size
    if first & 0x20:  # padding: its length is the last byte
        end -= data[-1]
    if start > end or (first & 0x20 and data[-1] == 0):
        return None
    header = RtpHeader(
        payload_type=data[1] & 0x7F,
        sequence_number=int.from_bytes(data[2:4], "big"),
        timestamp=int.from_bytes(data[4:8], "big"),
        ssrc=int.from_bytes(data[8:12], "big"),
    )
    return header, data[start:end]
