"""What a failed HTTP request to a provider means for the message: retry, or doubt.

A refused or unresolvable connection, or a connect timeout, never carried the request:
retrying cannot send twice. A read timeout, a reset, or the peer closing mid-answer may
have come after the provider acted on it: the message's fate is unknown.
"""

from __future__ import annotations

import requests

NOT_SENT = frozenset({"NewConnectionError", "NameResolutionError", "ConnectionRefusedError"})


def request_went_out(exc: BaseException) -> bool:
    """False when the request certainly never reached the provider."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if type(cause).__name__ in NOT_SENT:
            return False
        cause = cause.__cause__ or cause.__context__ or _first_arg_exception(cause)
    return True


def _first_arg_exception(exc: BaseException) -> BaseException | None:
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, BaseException):
            return arg
        reason = getattr(arg, "reason", None)
        if isinstance(reason, BaseException):
            return reason
    return None
