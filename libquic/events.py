"""Decode QUIC events.

The kernel delivers an event through ``recvmsg`` with
``MSG_QUIC_NOTIFICATION | MSG_EOR``; its data is one type byte followed by
the event's struct (see ``union quic_event`` in the UAPI).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from libquic.uapi import (
    QuicConnectionClose,
    QuicConnectionIdInfo,
    QuicEventType,
    QuicStreamMaxData,
    QuicStreamUpdate,
)

__all__ = [
    "EventPayload",
    "EventStruct",
    "QuicEventMessage",
    "decode_event",
]

EventStruct = QuicStreamUpdate | QuicStreamMaxData | QuicConnectionClose | QuicConnectionIdInfo
EventPayload = EventStruct | int | bytes

_STRUCTS: dict[QuicEventType, type[EventStruct]] = {
    QuicEventType.STREAM_UPDATE: QuicStreamUpdate,
    QuicEventType.STREAM_MAX_DATA: QuicStreamMaxData,
    QuicEventType.CONNECTION_CLOSE: QuicConnectionClose,
    QuicEventType.CONNECTION_ID: QuicConnectionIdInfo,
}

# Events whose payload is a plain little-endian integer of this many bytes.
_INTS: dict[QuicEventType, int] = {
    QuicEventType.STREAM_MAX_STREAM: 8,
    QuicEventType.CONNECTION_MIGRATION: 1,
    QuicEventType.KEY_UPDATE: 1,
}


@dataclass(frozen=True)
class QuicEventMessage:
    """A decoded event: its type and payload.

    The payload is the event's struct for STREAM_UPDATE, STREAM_MAX_DATA,
    CONNECTION_CLOSE and CONNECTION_ID; an int for STREAM_MAX_STREAM (a
    stream ID: limit ``>> 2``, type in the low two bits), CONNECTION_MIGRATION
    (1 if local) and KEY_UPDATE (the new key phase); the raw bytes for
    NEW_TOKEN and NEW_SESSION_TICKET.
    """

    type: QuicEventType
    payload: EventPayload


def decode_event(data: bytes) -> QuicEventMessage:
    """Decode one notification's data; :class:`ValueError` if malformed."""
    if not data:
        raise ValueError("empty event: expected a type byte and a payload")
    try:
        etype = QuicEventType(data[0])
    except ValueError:
        raise ValueError(f"unknown QUIC event type {data[0]}") from None
    body = data[1:]
    if etype in _STRUCTS:
        cls = _STRUCTS[etype]
        size = ctypes.sizeof(cls)
        if len(body) < size:
            raise ValueError(f"{etype.name} event is {len(body)} bytes, expected {size}")
        return QuicEventMessage(etype, cls.from_buffer_copy(body[:size]))
    if etype in _INTS:
        size = _INTS[etype]
        if len(body) < size:
            raise ValueError(f"{etype.name} event is {len(body)} bytes, expected {size}")
        return QuicEventMessage(etype, int.from_bytes(body[:size], "little"))
    if etype in (QuicEventType.NEW_TOKEN, QuicEventType.NEW_SESSION_TICKET):
        return QuicEventMessage(etype, bytes(body))
    raise ValueError(f"event type {etype.name} carries no payload and is never delivered")
