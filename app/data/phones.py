"""Phone-number state as query fragments: which numbers must receive nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from app.data.models import PhoneNumber


def unsendable_numbers() -> Select[Any]:
    """Numbers that must receive nothing but an opt-out acknowledgement (for subqueries)."""
    return select(PhoneNumber.number).where(
        or_(PhoneNumber.opted_out_at.is_not(None), PhoneNumber.not_textable_at.is_not(None))
    )
