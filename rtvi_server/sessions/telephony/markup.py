"""What a voice webhook answers, in each provider's markup (pure).

Connecting a call to the bot means pointing the provider's bidirectional media
stream at our media WebSocket; a call we cannot take (the server is full) is
turned away the provider's way, as busy, so the caller hears a busy tone.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from rtvi_server.sessions.telephony.calls import Provider

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'
MEDIA_TYPE = "application/xml"


def _parameters(parameters: dict[str, str]) -> str:
    return "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in parameters.items()
    )


def connect_markup(provider: Provider, stream_url: str, parameters: dict[str, str]) -> str:
    """Connect the call's audio, both ways, to ``stream_url``."""
    url = quoteattr(stream_url)
    if provider == "twilio":
        body = f"<Connect><Stream url={url}>{_parameters(parameters)}</Stream></Connect>"
    elif provider == "telnyx":
        body = (
            f'<Connect><Stream url={url} bidirectionalMode="rtp" bidirectionalCodec="PCMU">'
            f"{_parameters(parameters)}</Stream></Connect>"
        )
    else:
        body = (
            '<Stream bidirectional="true" keepCallAlive="true" '
            f'contentType="audio/x-mulaw;rate=8000">{escape(stream_url)}</Stream>'
        )
    return f"{XML_HEAD}<Response>{body}</Response>"


def reject_markup(provider: Provider, reason: str = "busy") -> str:
    """Turn the call away (``busy`` when the server is full, else ``rejected``)."""
    if provider == "plivo":
        return f"{XML_HEAD}<Response><Hangup reason={quoteattr(reason)}/></Response>"
    return f"{XML_HEAD}<Response><Reject reason={quoteattr(reason)}/></Response>"
