"""Column widths that callers check input against before it reaches the database."""

from __future__ import annotations

from typing import Any

from app.data.models import Message, StatusEvent


def _width(column: Any) -> int:
    return int(column.type.length)


def twilio_form_widths() -> dict[str, int]:
    """Twilio webhook form fields Nudge stores, and the width of the column each lands in."""
    return {
        "From": _width(Message.from_number),
        "To": _width(Message.to_number),
        "MessageSid": _width(Message.provider_sid),
        "SmsSid": _width(Message.provider_sid),
        "MessageStatus": _width(StatusEvent.status),
        "SmsStatus": _width(StatusEvent.status),
        "ErrorCode": _width(StatusEvent.error_code),
    }
