"""A fake Twilio: the slice of the REST API Nudge uses, served locally, faults on demand.

It answers `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` as Twilio does (201 and a
Message resource with an `SM...` sid and status `queued`; Twilio's error JSON otherwise),
and `GET` on the same list resource with Twilio's filters (`To`, `From`, `DateSent`,
`DateSent<`, `DateSent>`) and paging (`PageSize`, `Page`, `PageToken`, newest first,
`next_page_uri`), which reconciliation uses to ask whether a message was sent;
then calls each message's StatusCallback URL signed exactly as Twilio signs
(`X-Twilio-Signature`, computed by `twilio.request_validator.RequestValidator`), with a
seeded mix of outcomes (delivered; undelivered 30003/30005/30006; failed 21610), delays,
duplicated and out-of-order callbacks. It can be told to answer 429 or 500, hang, or drop
the connection for the next N requests, or to refuse a number with a Twilio error code.
Every request is recorded, so tests can assert "created once".

From tests (the production provider, through the real SDK, pointed at it):

    with FakeTwilio(auth_token="t", outcomes={"delivered": 9, "undelivered:30003": 1}) as fake:
        config["TWILIO_API_BASE_URL"] = fake.base_url
        ...
        fake.fail_next(2, status=500)
        assert fake.create_count(to="+447700900001") == 1

By hand or for the demo (then set NUDGE_SMS_PROVIDER=twilio,
NUDGE_TWILIO_API_BASE_URL=http://127.0.0.1:8765, NUDGE_TWILIO_AUTH_TOKEN=fake-token,
NUDGE_TWILIO_ACCOUNT_SID=AC000..., NUDGE_TWILIO_FROM_NUMBER=+447700900000):

    python -m tests.fakes.twilio_server --port 8765 --auth-token fake-token \
        --mix delivered=8,undelivered:30003=1,failed:21610=1 --delay 1 --duplicate 0.1
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import heapq
import itertools
import json
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-zA-Z]+)/Messages\.json$")
ERROR_TEXT = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
}

# sends a signed callback; returns the HTTP status Nudge answered with
CallbackSender = Callable[[str, dict[str, str], dict[str, str]], int]


@dataclass
class CreatedMessage:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    validity_period: int | None
    params: dict[str, str]
    at: float
    outcome: str | None = None  # the final status the callbacks report, e.g. failed:21610


@dataclass
class RequestRecord:
    """Every create request as received, whatever was answered (`outcome`)."""

    params: dict[str, str]
    outcome: str  # created | error:<status> | refused:<code> | dropped | hung | unauthorised
    at: float


@dataclass
class CallbackRecord:
    url: str
    params: dict[str, str]
    signature: str
    answered: int | None
    at: float


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    url: str = field(compare=False)
    params: dict[str, str] = field(compare=False)


def http_sender(url: str, params: dict[str, str], headers: dict[str, str]) -> int:
    """Deliver a callback over HTTP, as Twilio does (form-encoded POST)."""
    response = requests.post(url, data=params, headers=headers, timeout=15)
    return response.status_code


class FakeTwilio:
    """A local threaded HTTP server standing in for api.twilio.com."""

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = "fake-auth-token",
        outcomes: Mapping[str, float] | None = None,
        callback_delay: float = 0.0,
        duplicate_rate: float = 0.0,
        reorder_rate: float = 0.0,
        seed: int = 0,
        callbacks: bool = True,
        callback_sender: CallbackSender = http_sender,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.outcomes = dict(outcomes or {"delivered": 1.0})
        for outcome in self.outcomes:
            _parse_outcome(outcome)
        self.callback_delay = callback_delay
        self.duplicate_rate = duplicate_rate
        self.reorder_rate = reorder_rate
        self.callbacks_enabled = callbacks
        self.callback_sender = callback_sender
        self.validator = RequestValidator(auth_token)
        self.created: list[CreatedMessage] = []
        self.requests: list[RequestRecord] = []
        self.callbacks: list[CallbackRecord] = []
        self.list_requests: list[dict[str, str]] = []  # each list page asked for (its query)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._faults: list[tuple[str, float]] = []  # (kind, argument) for the next requests
        self._refused: dict[str, int] = {}
        self._pending: list[_Pending] = []
        self._seq = itertools.count()
        self._wake = threading.Condition(self._lock)
        self._in_flight = 0  # callbacks being delivered
        self._active = 0  # API requests being answered (a hung one counts)
        self._stopping = False
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        serve = threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True)
        deliver = threading.Thread(target=self._deliver_loop, name="fake-twilio-cb", daemon=True)
        self._threads = [serve, deliver]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------------
    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next `count` create requests with HTTP `status` (429 or 5xx)."""
        with self._lock:
            self._faults.extend([("status", float(status))] * count)

    def hang_next(self, count: int = 1, *, seconds: float = 30.0) -> None:
        """Sit on the next `count` requests for `seconds`, then create the message anyway
        (as Twilio does when only the answer is slow)."""
        with self._lock:
            self._faults.extend([("hang", seconds)] * count)

    def drop_next(self, count: int = 1, *, after_create: bool = True) -> None:
        """Close the connection without answering; `after_create` says whether the
        message was created first (the worst case for the caller: it cannot know)."""
        with self._lock:
            self._faults.extend([("drop", 1.0 if after_create else 0.0)] * count)

    def refuse(self, number: str, code: int = 21610) -> None:
        """Answer 400 with Twilio error `code` for every message to `number`."""
        with self._lock:
            self._refused[number] = code

    # -- what happened -----------------------------------------------------------------
    def create_count(self, *, to: str | None = None, body: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for m in self.created
                if (to is None or m.to == to) and (body is None or m.body == body)
            )

    def sids(self) -> list[str]:
        with self._lock:
            return [m.sid for m in self.created]

    def wait_for_callbacks(self, timeout: float = 10.0) -> None:
        """Block until every request (hung ones too) is answered and every callback sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and self._in_flight == 0 and self._active == 0:
                    return
            time.sleep(0.01)
        raise TimeoutError("fake Twilio still has callbacks to deliver")

    # -- the API ---------------------------------------------------------------------
    def _next_fault(self) -> tuple[str, float] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _authorised(self, header: str | None, account: str) -> bool:
        if account != self.account_sid or not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def _create(self, account: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to, body = params.get("To"), params.get("Body")
        sender, service = params.get("From"), params.get("MessagingServiceSid")
        if not to:
            return 400, _error(21604, "A 'To' phone number is required.", 400)
        if not (sender or service):
            return 400, _error(21603, "A 'From' or 'MessagingServiceSid' is required.", 400)
        if not body:
            return 400, _error(21602, "Message body is required.", 400)
        with self._lock:
            refused = self._refused.get(to)
        if refused is not None:
            self._record(params, f"refused:{refused}")
            return 400, _error(refused, ERROR_TEXT.get(refused, "Refused"), 400)
        message = CreatedMessage(
            sid="SM" + uuid.uuid4().hex,
            account_sid=account,
            to=to,
            from_=sender,
            messaging_service_sid=service,
            body=body,
            status_callback=params.get("StatusCallback"),
            validity_period=int(params["ValidityPeriod"]) if "ValidityPeriod" in params else None,
            params=params,
            at=time.time(),
        )
        with self._lock:
            self.created.append(message)
            self.requests.append(RequestRecord(params, "created", time.time()))
        self._schedule_callbacks(message)
        return 201, _resource(message)

    def _list(self, account: str, query: dict[str, str]) -> dict[str, Any]:
        """The Messages list resource: filtered, newest first, paged as Twilio pages."""
        with self._lock:
            self.list_requests.append(dict(query))
        to, sender = query.get("To"), query.get("From")
        on, before, after = (
            _day_or_instant(query.get(k)) for k in ("DateSent", "DateSent<", "DateSent>")
        )
        with self._lock:
            items = [
                m
                for m in reversed(self.created)
                if m.account_sid == account
                and (to is None or m.to == to)
                and (sender is None or m.from_ == sender)
                and (on is None or _utc(m.at).date() == on.date())
                and (before is None or _utc(m.at) <= before)
                and (after is None or _utc(m.at) >= after)
            ]
        size = max(1, min(1000, int(query.get("PageSize") or 50)))
        page = int(query.get("Page") or 0)
        start = page * size
        chunk = items[start : start + size]
        base = f"/2010-04-01/Accounts/{account}/Messages.json"
        filters = {k: v for k, v in query.items() if k not in {"Page", "PageToken", "PageSize"}}

        def uri(number: int) -> str:
            token = {"PageToken": f"PA{number}"} if number else {}
            return f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': number, **token})}"

        more = start + size < len(items)
        return {
            "messages": [_resource(m, listed=True) for m in chunk],
            "end": start + len(chunk) - 1,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": uri(page - 1) if page else None,
            "start": start,
            "uri": uri(page),
        }

    def _record(self, params: dict[str, str], outcome: str) -> None:
        with self._lock:
            self.requests.append(RequestRecord(params, outcome, time.time()))

    # -- status callbacks ----------------------------------------------------------------
    def _schedule_callbacks(self, message: CreatedMessage) -> None:
        if not self.callbacks_enabled or not message.status_callback:
            return
        with self._lock:
            message.outcome = self._pick_outcome()
            final, error = _parse_outcome(message.outcome)
            statuses: list[tuple[str, str | None]] = [("sent", None), (final, error)]
            if self._random.random() < self.reorder_rate:
                statuses.reverse()
            if self._random.random() < self.duplicate_rate:
                statuses.append(statuses[self._random.randrange(len(statuses))])
            now = time.monotonic()
            for step, (status, code) in enumerate(statuses):
                params = {
                    "AccountSid": message.account_sid,
                    "ApiVersion": "2010-04-01",
                    "MessageSid": message.sid,
                    "SmsSid": message.sid,
                    "MessageStatus": status,
                    "SmsStatus": status,
                    "To": message.to,
                    "From": message.from_ or "+447700900000",
                }
                if message.messaging_service_sid:
                    params["MessagingServiceSid"] = message.messaging_service_sid
                if code:
                    params["ErrorCode"] = code
                due = now + self.callback_delay + step * 0.001
                heapq.heappush(
                    self._pending, _Pending(due, next(self._seq), message.status_callback, params)
                )
            self._wake.notify_all()

    def _pick_outcome(self) -> str:
        names = list(self.outcomes)
        return self._random.choices(names, weights=[self.outcomes[n] for n in names])[0]

    def _deliver_loop(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and (
                    not self._pending or self._pending[0].due > time.monotonic()
                ):
                    wait = self._pending[0].due - time.monotonic() if self._pending else None
                    self._wake.wait(timeout=wait if wait is None else max(wait, 0.001))
                if self._stopping:
                    return
                item = heapq.heappop(self._pending)
                self._in_flight += 1
            try:
                self.send_callback(item.url, item.params)
            finally:
                with self._lock:
                    self._in_flight -= 1

    def send_callback(self, url: str, params: dict[str, str]) -> int | None:
        """Sign and deliver one callback now (tests may also call this to replay one)."""
        signature = self.validator.compute_signature(url, params)
        headers = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
        try:
            answered: int | None = self.callback_sender(url, params, headers)
        except Exception:  # Nudge down: Twilio gives up on this callback too
            answered = None
        with self._lock:
            self.callbacks.append(CallbackRecord(url, params, signature, answered, time.time()))
        return answered


def _parse_outcome(text: str) -> tuple[str, str | None]:
    status, _, code = text.partition(":")
    if status not in {"delivered", "undelivered", "failed", "sent"}:
        raise ValueError(f"unknown outcome {text!r}: delivered, undelivered:CODE or failed:CODE")
    return status, code or None


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _day_or_instant(text: str | None) -> datetime | None:
    """Twilio's date filters take `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (GMT)."""
    if not text:
        return None
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _resource(message: CreatedMessage, *, listed: bool = False) -> dict[str, Any]:
    stamp = formatdate(message.at, usegmt=True)
    uri = f"/2010-04-01/Accounts/{message.account_sid}/Messages/{message.sid}.json"
    return {
        "account_sid": message.account_sid,
        "api_version": "2010-04-01",
        "body": message.body,
        "date_created": stamp,
        # the create answer comes before Twilio sends; a listed message has been sent
        "date_sent": stamp if listed else None,
        "date_updated": stamp,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": (message.outcome or "sent").partition(":")[0]
        if listed
        else ("accepted" if message.messaging_service_sid else "queued"),
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": message.to,
        "uri": uri,
    }


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # http.server writes headers and body apart; with Nagle and delayed ACKs each
        # answer would wait 40 ms (22 creates/s instead of hundreds)
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            match = MESSAGES_PATH.match(parts.path)
            if not match:
                self._answer(404, _error(20404, "The requested resource was not found", 404))
                return
            if not fake._authorised(self.headers.get("Authorization"), match["account"]):
                self._answer(401, _error(20003, "Authenticate", 401))
                return
            with fake._lock:
                down = bool(fake._faults) and fake._faults[0][0] == "status"
                fault = fake._faults.pop(0) if down else None
            if fault is not None:
                status = int(fault[1])
                code = 20429 if status == 429 else 20500
                self._answer(status, _error(code, ERROR_TEXT[code], status))
                return
            self._answer(200, fake._list(match["account"], dict(parse_qsl(parts.query))))

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            with fake._lock:
                fake._active += 1
            try:
                self._post()
            finally:
                with fake._lock:
                    fake._active -= 1

        def _post(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            params = dict(parse_qsl(raw, keep_blank_values=True))
            match = MESSAGES_PATH.match(self.path.split("?")[0])
            if not match:
                self._answer(404, _error(20404, "The requested resource was not found", 404))
                return
            account = match["account"]
            if not fake._authorised(self.headers.get("Authorization"), account):
                fake._record(params, "unauthorised")
                self._answer(401, _error(20003, "Authenticate", 401))
                return
            fault = fake._next_fault()
            if fault is not None:
                kind, argument = fault
                if kind == "status":
                    status = int(argument)
                    fake._record(params, f"error:{status}")
                    code = 20429 if status == 429 else 20500
                    self._answer(status, _error(code, ERROR_TEXT[code], status))
                    return
                if kind == "drop":
                    if argument:
                        fake._create(account, params)
                    fake._record(params, "dropped")
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if kind == "hang":
                    fake._record(params, "hung")
                    time.sleep(argument)
            status, payload = fake._create(account, params)
            # after a hang the caller may have given up waiting: it cannot know
            with contextlib.suppress(OSError):
                self._answer(status, payload)

    return Handler


def _parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        mix[name.strip()] = float(weight or 1)
    return mix


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Twilio REST API on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default="fake-auth-token")
    parser.add_argument("--mix", default="delivered=1", help="e.g. delivered=8,failed:21610=1")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds before callbacks")
    parser.add_argument("--duplicate", type=float, default=0.0, help="share of doubled callbacks")
    parser.add_argument("--reorder", type=float, default=0.0, help="share of reordered callbacks")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    fake = FakeTwilio(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        outcomes=_parse_mix(args.mix),
        callback_delay=args.delay,
        duplicate_rate=args.duplicate,
        reorder_rate=args.reorder,
        seed=args.seed,
        port=args.port,
    ).start()
    print(f"fake Twilio at {fake.base_url} (account {args.account_sid})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
