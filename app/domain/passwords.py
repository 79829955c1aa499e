"""Password rules: long enough (NCSC favours length over composition) and not common.

The common list is `common-passwords.txt.gz` beside this module: the 20,000 most common
passwords compiled by Royce Williams from breach corpora, as Django ships it for its
CommonPasswordValidator (BSD licence). A password is refused when its lower-case form is
on the list, so "PASSWORD1234" is refused with "password1234".
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 1024
COMMON_LIST = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def problem(password: str) -> str | None:
    """Why `password` may not be used, for staff to read; None when it may."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    if password.strip().lower() in common_passwords():
        return "This password is one of the most common passwords: choose another"
    return None
