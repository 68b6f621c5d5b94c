"""Phone calls: provider media streams as transports, their webhooks' checks and markup."""

from rtvi_server.sessions.telephony.calls import PROVIDERS, CallStart, Provider, detect_call
from rtvi_server.sessions.telephony.link import TelephonyKind, TelephonyLink, media_answer
from rtvi_server.sessions.telephony.markup import MEDIA_TYPE, connect_markup, reject_markup
from rtvi_server.sessions.telephony.numbers import check_numbers, payload_for_number
from rtvi_server.sessions.telephony.rest import Dial, ProviderAPI

__all__ = [
    "MEDIA_TYPE",
    "PROVIDERS",
    "CallStart",
    "Dial",
    "Provider",
    "ProviderAPI",
    "TelephonyKind",
    "TelephonyLink",
    "check_numbers",
    "connect_markup",
    "detect_call",
    "media_answer",
    "payload_for_number",
    "reject_markup",
]
