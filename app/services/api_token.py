"""Personal API tokens: issued by an admin (`flask users token`) or by the person themselves
on their account page, shown once, stored only as a SHA-256 digest.

A token stands for its user: the API applies that user's role and practices exactly as
the signed-in pages do. Issuing a new token replaces the old one (one live token per
person), and disabling the account stops the token working.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from app.data import staff
from app.data.db import Database
from app.services import audit, users

PREFIX = "nudge_"  # makes a leaked token easy to recognise in logs and secret scanners
API_ROLES = ("analyst", "practice", "admin")


def issue(db: Database, *, email: str, now: datetime, actor: str, ip: str | None = None) -> str:
    """Create (or replace) the user's API token and return it; it is never shown again."""
    token = PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        user = staff.user_by_email(session, users.normalise_email(email))
        if user is None:
            raise users.UserError(f"no user with email {email}")
        if not user.active:
            raise users.UserError(f"{user.email} is disabled")
        if user.role not in API_ROLES:
            raise users.UserError(f"role {user.role} cannot have an API token")
        replaced = user.api_token_hash is not None
        user.api_token_hash = users.token_hash(token)
        audit.record(
            session,
            now=now,
            actor=actor,
            action="api_token.issued",
            target=f"user:{user.id}",
            detail={"replaced": replaced},
            ip=ip,
        )
    return token


def revoke(db: Database, *, email: str, now: datetime, actor: str, ip: str | None = None) -> bool:
    """Remove the user's API token; False when they had none."""
    with db.transaction() as session:
        user = staff.user_by_email(session, users.normalise_email(email))
        if user is None:
            raise users.UserError(f"no user with email {email}")
        done = staff.clear_api_token(session, user.id)
        if done:
            audit.record(
                session,
                now=now,
                actor=actor,
                action="api_token.revoked",
                target=f"user:{user.id}",
                ip=ip,
            )
        return bool(done)


def has_token(db: Database, *, email: str) -> bool:
    """Whether the user has a live API token (its value is never kept)."""
    with db.transaction() as session:
        user = staff.user_by_email(session, users.normalise_email(email))
        return user is not None and user.api_token_hash is not None


def identify(session: Session, token: str) -> users.StaffIdentity | None:
    """The active user a bearer token belongs to, or None."""
    if not 16 <= len(token) <= 200:
        return None
    user = staff.user_by_api_token(session, users.token_hash(token))
    if user is None or not user.active:
        return None
    return users.identity(session, user)
