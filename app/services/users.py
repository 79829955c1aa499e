"""Staff accounts: creation, one-time set-password links, password checks and sign-in."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from app.data import staff
from app.data.db import Database
from app.data.models import User
from app.data.slots import practice_with_ods
from app.domain import passwords
from app.services import audit

ROLES = ("admin", "practice", "analyst")
MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
SET_PASSWORD_TTL = timedelta(hours=72)

_hasher = PasswordHasher()
# verified against when the account does not exist, so a wrong email costs the same
# time as a wrong password and timing does not reveal which half was wrong
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


class UserError(ValueError):
    """A request the accounts rules refuse; the message is safe to show staff."""


@dataclass(frozen=True)
class StaffIdentity:
    """What a request needs to know about the signed-in person."""

    id: int
    email: str
    role: str
    practice_ids: frozenset[int]
    # the account's session_version when this identity was read: a session carries it
    session_version: int = 0


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    problem = passwords.problem(password)
    if problem is not None:
        raise UserError(problem)


def token_hash(token: str) -> str:
    """Tokens are stored as SHA-256 digests: a leaked database yields no usable link."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def identity(session: Session, user: User) -> StaffIdentity:
    return StaffIdentity(
        user.id, user.email, user.role, staff.practice_ids_of(session, user), user.session_version
    )


def load_identity(session: Session, user_id: int, session_version: int) -> StaffIdentity | None:
    """The account a session names, unless that session has been ended since it began
    (its version is older than the account's) or the account cannot sign in now."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.password_hash is None:
        return None
    if user.session_version != session_version:
        return None
    return identity(session, user)


def user_id_for(session: Session, email: str) -> int | None:
    return staff.user_id_by_email(session, normalise_email(email))


def _end_sessions(user: User) -> None:
    """Every session signed in before now stops opening pages at its next request."""
    user.session_version = (user.session_version or 0) + 1


def sign_out(db: Database, *, user_id: int, now: datetime, ip: str | None) -> None:
    """End this account's sessions (a copy of the cookie is refused too) and audit it."""
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            return
        _end_sessions(user)
        audit.record(session, now=now, actor=user.email, action="sign_out", ip=ip)


def disable(db: Database, *, user_id: int, now: datetime, actor: str) -> str:
    """Disable an account: it can no longer sign in and its open sessions end now."""
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise UserError("no such user")
        user.active = False
        _end_sessions(user)
        audit.record(
            session, now=now, actor=actor, action="user.disabled", target=f"user:{user.id}"
        )
        return user.email


def create_user(
    db: Database,
    *,
    email: str,
    role: str,
    practice_ods: list[str],
    now: datetime,
    actor: str = "system",
) -> tuple[int, str]:
    """Create an account with no password and return (user id, one-time set-password token).

    Practice staff must belong to at least one practice; admins and analysts belong to
    none (admins see every practice, analysts only aggregates).
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise UserError("email must be an email address")
    if role == "practice" and not practice_ods:
        raise UserError("Practice staff need at least one practice")
    if role != "practice" and practice_ods:
        raise UserError("only practice staff belong to practices")
    with db.transaction() as session:
        if staff.user_id_by_email(session, email) is not None:
            raise UserError(f"a user with email {email} already exists")
        practices = []
        for code in practice_ods:
            practice = practice_with_ods(session, code)
            if practice is None:
                raise UserError(f"no practice with ODS code {code}")
            practices.append(practice)
        token = secrets.token_urlsafe(32)
        user = User(
            email=email,
            role=role,
            set_password_token_hash=token_hash(token),
            set_password_expires_at=now + SET_PASSWORD_TTL,
            created_at=now,
            active=True,
        )
        user.practices = practices
        session.add(user)
        session.flush()
        audit.record(
            session,
            now=now,
            actor=actor,
            action="user.created",
            target=f"user:{user.id}",
            detail={"role": role, "practices": [p.ods_code for p in practices]},
        )
        return user.id, token


def issue_set_password_token(db: Database, *, email: str, now: datetime, actor: str) -> str:
    """A fresh one-time link for an existing account (a forgotten password, a new start)."""
    token = secrets.token_urlsafe(32)
    with db.transaction() as session:
        user = staff.user_by_email(session, normalise_email(email))
        if user is None:
            raise UserError(f"no user with email {email}")
        user.set_password_token_hash = token_hash(token)
        user.set_password_expires_at = now + SET_PASSWORD_TTL
        _end_sessions(user)  # a reset is asked for when an account may be in other hands
        audit.record(
            session, now=now, actor=actor, action="user.reset_link", target=f"user:{user.id}"
        )
    return token


def token_is_valid(db: Database, token: str, *, now: datetime) -> bool:
    with db.transaction() as session:
        return staff.user_by_set_password_token(session, token_hash(token), now=now) is not None


def set_password(db: Database, *, token: str, password: str, now: datetime) -> str:
    """Set the password for the account the link belongs to; the link works once.

    The token is cleared by a conditional update, so two submissions of one link
    cannot both succeed. Returns the account's email.
    """
    hashed = hash_password(password)
    with db.transaction() as session:
        user = staff.user_by_set_password_token(session, token_hash(token), now=now)
        if user is None:
            raise UserError("This link has expired or has already been used")
        if not staff.use_set_password_token(session, user.id, token_hash(token), hashed):
            raise UserError("This link has expired or has already been used")
        audit.record(
            session, now=now, actor=user.email, action="user.password_set", target=f"user:{user.id}"
        )
        return user.email


def set_password_directly(db: Database, *, email: str, password: str, now: datetime) -> None:
    """Give an account the demo's published password and mark it a demo account, which
    production refuses to sign in (real staff set theirs through the one-time link)."""
    hashed = _hasher.hash(password)  # the demo's published password is not a staff choice
    with db.transaction() as session:
        staff.set_demo_password(session, normalise_email(email), hashed)


def authenticate(
    db: Database,
    *,
    email: str,
    password: str,
    now: datetime,
    ip: str | None,
    allow_demo: bool = True,
) -> StaffIdentity | None:
    """Check a sign-in; audit it either way. None means "email or password is wrong".

    The caller must not say which: the same answer and roughly the same time for an
    unknown email, a wrong password, a disabled account or (without `allow_demo`, as in
    production) an account `demo load` made with its published password.
    """
    email = normalise_email(email)[:254]
    with db.transaction() as session:
        user = staff.user_by_email(session, email)
        usable = user is not None and user.active and (allow_demo or not user.demo)
        stored = user.password_hash if user is not None and usable else None
        ok = False
        try:
            ok = _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None or stored is None:
            audit.record(
                session,
                now=now,
                actor=email or "(blank)",
                action="sign_in.failed",
                detail={"known_account": user is not None},
                ip=ip,
            )
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        user.last_sign_in_at = now
        audit.record(session, now=now, actor=user.email, action="sign_in.ok", ip=ip)
        return identity(session, user)


def list_users(session: Session) -> list[User]:
    return staff.users_by_email(session)
