"""Staff accounts and practices: look-ups by email, token digest and ODS code, and the
conditional updates that make a one-time link or an API token work once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.data.models import Practice, User, UserPractice


def practice_ids_of(session: Session, user: User) -> frozenset[int]:
    """The practices the account may see: every one for an admin."""
    if user.role == "admin":
        return frozenset(session.scalars(select(Practice.id)))
    return frozenset(
        session.scalars(select(UserPractice.practice_id).where(UserPractice.user_id == user.id))
    )


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email))


def user_id_by_email(session: Session, email: str) -> int | None:
    return session.scalar(select(User.id).where(User.email == email))


def user_by_set_password_token(session: Session, digest: str, *, now: datetime) -> User | None:
    """The account whose unexpired one-time link has this digest."""
    return session.scalar(
        select(User).where(
            User.set_password_token_hash == digest,
            User.set_password_expires_at > now,
        )
    )


def use_set_password_token(session: Session, user_id: int, digest: str, password_hash: str) -> bool:
    """Set the password and clear the link in one conditional update (ending the
    account's sessions); False when another submission used the link first."""
    done = session.execute(
        update(User)
        .where(User.id == user_id, User.set_password_token_hash == digest)
        .values(
            password_hash=password_hash,
            set_password_token_hash=None,
            set_password_expires_at=None,
            session_version=User.session_version + 1,
        )
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def set_demo_password(session: Session, email: str, password_hash: str) -> None:
    """Give the account this password, clear any link and mark it a demo account."""
    session.execute(
        update(User)
        .where(User.email == email)
        .values(
            password_hash=password_hash,
            set_password_token_hash=None,
            set_password_expires_at=None,
            session_version=User.session_version + 1,
            demo=True,
        )
    )


def user_by_api_token(session: Session, digest: str) -> User | None:
    return session.scalar(select(User).where(User.api_token_hash == digest))


def clear_api_token(session: Session, user_id: int) -> bool:
    """Remove the account's API token; False when it had none."""
    done = session.execute(
        update(User)
        .where(User.id == user_id, User.api_token_hash.is_not(None))
        .values(api_token_hash=None)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def users_by_email(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def practices_by_ods(session: Session) -> list[Practice]:
    return list(session.scalars(select(Practice).order_by(Practice.ods_code)))


def practices_by_name(session: Session, only: frozenset[int] | None = None) -> list[Practice]:
    """Practices in name order; `only` limits them to these ids."""
    query = select(Practice).order_by(Practice.name)
    if only is not None:
        query = query.where(Practice.id.in_(only))
    return list(session.scalars(query))
