"""A fake GOV.UK Notify: the slice of its API Nudge uses, served locally, faults on demand.

The real `notifications-python-client` talks to it. Each request's bearer JWT is checked
as Notify checks it (Notify's API uses the same library's `decode_jwt_token`): `iss` is
the service id, signed HS256 with the secret half of one of the service's API keys,
`iat` within 30 seconds. It answers:
- `POST /v2/notifications/sms` (201 and Notify's response; its error bodies
  `{"status_code", "errors": [{"error", "message"}]}` otherwise: ValidationError for a
  number that is not a UK mobile, BadRequestError for an unknown template, missing
  personalisation or sms_sender_id, 403 AuthError, 429 RateLimitError /
  TooManyRequestsError past the per-minute and daily limits);
- `GET /v2/notifications` (filters `reference`, `status`, `template_type`, paged newest
  first with `older_than` and `links.next`, as Notify pages) and `/v2/notifications/{id}`;
- `GET /v2/received-text-messages` (paged the same way).
After a send it calls the service's delivery-receipt callback (JSON, `Authorization:
Bearer <token>`), and `receive()` has a resident text the inbound number, calling the
received-text callback. A test key behaves as Notify's test keys do: nothing is sent, and
07700900003 ends temporary-failure, 07700900002 permanent-failure, every other number
delivered. A live key's outcomes follow a seeded mix. Every request is recorded.
"""

from __future__ import annotations

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError, TokenExpiredError

DEFAULT_SERVICE_ID = "5f2ec9c5-1d6b-4f6b-9f37-9d0c2f2e0a11"
DEFAULT_TEMPLATE_ID = "0b6f8f2e-8c47-4e53-9a0e-4d2a7c1b9e01"
DEFAULT_SENDER_ID = "c3a4e1b0-7d52-4f7c-b0e3-2f9a8d6c5e44"
INBOUND_NUMBER = "447700900000"
PAGE_SIZE = 250  # Notify's API_PAGE_SIZE
# what a test key does with Notify's test numbers (any other number is delivered)
TEST_NUMBER_OUTCOMES = {"447700900003": "temporary-failure", "447700900002": "permanent-failure"}
FINAL = ("delivered", "permanent-failure", "temporary-failure", "technical-failure")
DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"

# sends one callback (url, JSON payload, headers); returns the HTTP status answered
CallbackSender = Callable[[str, dict[str, Any], dict[str, str]], int]


def http_sender(url: str, payload: dict[str, Any], headers: dict[str, str]) -> int:
    return requests.post(url, json=payload, headers=headers, timeout=15).status_code


@dataclass
class Notification:
    id: str
    to: str  # E.164, as Nudge stores numbers
    body: str  # the rendered template
    reference: str | None
    template_id: str
    sms_sender_id: str | None
    key_type: str
    created_at: datetime
    status: str = "created"
    outcome: str | None = None


@dataclass
class RequestRecord:
    payload: dict[str, Any]
    outcome: str  # created | error:<status> | refused:<error> | dropped | hung | unauthorised
    at: float


@dataclass
class ReceivedText:
    id: str
    user_number: str
    notify_number: str
    content: str
    created_at: datetime


@dataclass
class CallbackRecord:
    url: str
    payload: dict[str, Any]
    headers: dict[str, str]
    answered: int | None


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    url: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    token: str = field(compare=False)


def api_key(name: str, service_id: str, secret: str) -> str:
    """An API key as Notify's admin shows it: name, service id, secret."""
    return f"{name}-{service_id}-{secret}"


def international(number: str) -> str:
    """A UK mobile as Notify formats it (447...), or '' when it is not one."""
    digits = re.sub(r"[\s()\-.]", "", number)
    if not re.fullmatch(r"\+?\d+", digits):
        return ""
    digits = digits.lstrip("+")
    if digits.startswith("44"):
        digits = digits[2:]
    digits = digits.lstrip("0")
    if not digits.startswith("7") or len(digits) != 10:
        return ""
    return "44" + digits


def _error(status: int, error: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status_code": status, "errors": [{"error": error, "message": message}]}


def _stamp(at: datetime) -> str:
    return at.strftime(DATETIME)


class FakeNotify:
    """A local threaded HTTP server standing in for api.notifications.service.gov.uk."""

    def __init__(
        self,
        *,
        service_id: str = DEFAULT_SERVICE_ID,
        template_id: str = DEFAULT_TEMPLATE_ID,
        template: str = "((body))",
        sender_ids: tuple[str, ...] = (DEFAULT_SENDER_ID,),
        outcomes: Mapping[str, float] | None = None,
        status_callback_url: str | None = None,
        inbound_callback_url: str | None = None,
        callback_token: str = "fake-notify-callback-token",
        callback_delay: float = 0.0,
        duplicate_rate: float = 0.0,
        rate_limit_per_minute: int = 3000,
        daily_limit: int = 250_000,
        team_numbers: tuple[str, ...] = (),
        callback_sender: CallbackSender = http_sender,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.service_id = service_id
        self.template_id = template_id
        self.template = template
        self.sender_ids = set(sender_ids)
        self.outcomes = dict(outcomes or {"delivered": 1.0})
        for outcome in self.outcomes:
            if outcome not in FINAL:
                raise ValueError(f"unknown outcome {outcome!r}: one of {FINAL}")
        self.status_callback_url = status_callback_url
        self.inbound_callback_url = inbound_callback_url
        self.callback_token = callback_token
        self.callback_delay = callback_delay
        self.duplicate_rate = duplicate_rate
        self.rate_limit_per_minute = rate_limit_per_minute
        self.daily_limit = daily_limit
        self.team_numbers = {international(n) for n in team_numbers}
        self.callback_sender = callback_sender
        # secret -> key type; keys() makes the API key strings
        self.secrets: dict[str, str] = {
            str(uuid.UUID(int=random.Random(seed + i).getrandbits(128))): kind
            for i, kind in enumerate(("live", "test", "team"))
        }
        self.notifications: list[Notification] = []
        self.received: list[ReceivedText] = []
        self.requests: list[RequestRecord] = []
        self.callbacks: list[CallbackRecord] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._faults: list[tuple[str, float]] = []
        self._refused: set[str] = set()
        self._minute: list[float] = []
        self._pending: list[_Pending] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._active = 0
        self._stopping = False
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def key(self, kind: str = "live") -> str:
        """The API key of the given type ("live", "test" or "team") for this service."""
        secret = next(s for s, k in self.secrets.items() if k == kind)
        return api_key(f"nudge_{kind}", self.service_id, secret)

    def start(self) -> FakeNotify:
        serve = threading.Thread(target=self._server.serve_forever, name="fake-notify", daemon=True)
        deliver = threading.Thread(target=self._deliver_loop, name="fake-notify-cb", daemon=True)
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

    def __enter__(self) -> FakeNotify:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------------
    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next `count` send requests with HTTP `status` (429 or 5xx)."""
        with self._lock:
            self._faults.extend([("status", float(status))] * count)

    def hang_next(self, count: int = 1, *, seconds: float = 30.0) -> None:
        """Sit on the next `count` sends for `seconds`, then create them anyway."""
        with self._lock:
            self._faults.extend([("hang", seconds)] * count)

    def drop_next(self, count: int = 1, *, after_create: bool = True) -> None:
        """Close the connection without answering, having created the message or not."""
        with self._lock:
            self._faults.extend([("drop", 1.0 if after_create else 0.0)] * count)

    def refuse(self, number: str) -> None:
        """Answer every send to `number` as Notify answers a number that is not a UK
        mobile (400 ValidationError)."""
        with self._lock:
            self._refused.add(international(number) or number)

    # -- what happened -----------------------------------------------------------------
    def create_count(self, *, to: str | None = None, body: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for n in self.notifications
                if (to is None or n.to == to) and (body is None or n.body == body)
            )

    def wait_for_callbacks(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and self._in_flight == 0 and self._active == 0:
                    return
            time.sleep(0.01)
        raise TimeoutError("fake Notify still has callbacks to deliver")

    # -- the resident's side -------------------------------------------------------------
    def receive(self, from_number: str, message: str) -> ReceivedText:
        """A resident texts the service's inbound number: stored, and the received-text
        callback (if the service set one) is called."""
        text = ReceivedText(
            id=str(uuid.uuid4()),
            user_number=international(from_number) or from_number.lstrip("+"),
            notify_number=INBOUND_NUMBER,
            content=message,
            created_at=datetime.now(UTC),
        )
        with self._lock:
            self.received.append(text)
        if self.inbound_callback_url:
            self.send_callback(self.inbound_callback_url, inbound_payload(text))
        return text

    # -- authentication ------------------------------------------------------------------
    def _authenticate(self, header: str | None) -> tuple[str | None, tuple[int, dict[str, Any]]]:
        """(key type, error): as Notify's `requires_auth`."""
        if not header:
            return None, _error(
                401, "AuthError", "Unauthorized: authentication token must be provided"
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None, _error(
                401, "AuthError", "Unauthorized: authentication bearer scheme must be used"
            )
        try:
            issuer = get_token_issuer(token)
        except TokenError:
            return None, _error(403, "AuthError", "Invalid token: signature, api token not found")
        if issuer != self.service_id:
            return None, _error(403, "AuthError", "Invalid token: service not found")
        for secret, kind in self.secrets.items():
            try:
                decode_jwt_token(token, secret)
            except TokenExpiredError:
                # the signature held (expiry is checked after it): a key of ours, late
                return None, _error(
                    403,
                    "AuthError",
                    "Error: Your system clock must be accurate to within 30 seconds",
                )
            except TokenError:
                continue
            return kind, (0, {})
        return None, _error(403, "AuthError", "Invalid token: API key not found")

    # -- the API ---------------------------------------------------------------------
    def _send(self, kind: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = str(payload.get("phone_number") or "")
        template_id = payload.get("template_id")
        personalisation = payload.get("personalisation") or {}
        if not number:
            return _error(400, "ValidationError", "phone_number is a required property")
        formatted = international(number)
        with self._lock:
            refused = formatted in self._refused
        if not formatted or refused:
            return _error(400, "ValidationError", "phone_number Not a UK mobile number")
        if template_id != self.template_id:
            return _error(400, "BadRequestError", "Template not found")
        placeholders = re.findall(r"\(\(([^)]+)\)\)", self.template)
        missing = [p for p in placeholders if p not in personalisation]
        if missing:
            return _error(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        sender = payload.get("sms_sender_id")
        if sender is not None and sender not in self.sender_ids:
            return _error(
                400,
                "BadRequestError",
                f"sms_sender_id {sender} does not exist in database for service id "
                f"{self.service_id}",
            )
        if kind == "team" and formatted not in self.team_numbers:
            return _error(
                400, "BadRequestError", "Can't send to this recipient using a team-only API key"
            )
        now = time.monotonic()
        with self._lock:
            self._minute = [t for t in self._minute if t > now - 60]
            if len(self._minute) >= self.rate_limit_per_minute:
                return _error(
                    429,
                    "RateLimitError",
                    f"Exceeded rate limit for key type {kind.upper()} of "
                    f"{self.rate_limit_per_minute} requests per 60 seconds",
                )
            if sum(1 for n in self.notifications if n.key_type != "test") >= self.daily_limit:
                return _error(
                    429,
                    "TooManyRequestsError",
                    f"Exceeded send limits ({self.daily_limit}) for today",
                )
            self._minute.append(now)
            body = self.template
            for name in placeholders:
                body = body.replace(f"(({name}))", str(personalisation[name]))
            notification = Notification(
                id=str(uuid.uuid4()),
                to="+" + formatted,
                body=body,
                reference=payload.get("reference"),
                template_id=self.template_id,
                sms_sender_id=sender,
                key_type=kind,
                created_at=datetime.now(UTC),
            )
            self.notifications.append(notification)
            self.requests.append(RequestRecord(payload, "created", time.time()))
        self._schedule_receipt(notification, formatted)
        return 201, {
            "id": notification.id,
            "reference": notification.reference,
            "content": {"body": body, "from_number": "NUDGE"},
            "uri": f"{self.base_url}/v2/notifications/{notification.id}",
            "template": {
                "id": self.template_id,
                "version": 1,
                "uri": f"{self.base_url}/services/{self.service_id}/templates/{self.template_id}",
            },
            "scheduled_for": None,
        }

    def _list(self, kind: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            # a test key sees only test-key notifications, as in Notify
            items = [
                n
                for n in reversed(self.notifications)
                if (n.key_type == "test") == (kind == "test")
                and (not query.get("reference") or n.reference == query["reference"])
                and (not query.get("status") or n.status == query["status"])
                and query.get("template_type", "sms") == "sms"
            ]
        if query.get("older_than"):
            ids = [n.id for n in items]
            if query["older_than"] not in ids:
                items = []
            else:
                items = items[ids.index(query["older_than"]) + 1 :]
        page = items[:PAGE_SIZE]
        links = {"current": f"{self.base_url}/v2/notifications?{urlencode(query)}"}
        if page:
            following = urlencode({**query, "older_than": page[-1].id})
            links["next"] = f"{self.base_url}/v2/notifications?{following}"
        return 200, {"notifications": [self._serialise(n) for n in page], "links": links}

    def _received(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            items = list(reversed(self.received))
        if query.get("older_than"):
            ids = [t.id for t in items]
            items = (
                items[ids.index(query["older_than"]) + 1 :] if query["older_than"] in ids else []
            )
        page = items[:PAGE_SIZE]
        links = {"current": f"{self.base_url}/v2/received-text-messages"}
        if page:
            links["next"] = f"{self.base_url}/v2/received-text-messages?older_than={page[-1].id}"
        return 200, {
            "received_text_messages": [
                {
                    "id": t.id,
                    "created_at": _stamp(t.created_at),
                    "service_id": self.service_id,
                    "notify_number": t.notify_number,
                    "user_number": t.user_number,
                    "content": t.content,
                }
                for t in page
            ],
            "links": links,
        }

    def _serialise(self, n: Notification) -> dict[str, Any]:
        return {
            "id": n.id,
            "reference": n.reference,
            "email_address": None,
            "phone_number": n.to,
            "line_1": None,
            "type": "sms",
            "status": n.status,
            "template": {"id": n.template_id, "version": 1, "uri": ""},
            "body": n.body,
            "subject": None,
            "created_at": _stamp(n.created_at),
            "created_by_name": None,
            "sent_at": _stamp(n.created_at),
            "completed_at": None,
            "scheduled_for": None,
        }

    # -- delivery receipts ---------------------------------------------------------------
    def _schedule_receipt(self, notification: Notification, formatted: str) -> None:
        with self._lock:
            if notification.key_type == "test":
                outcome = TEST_NUMBER_OUTCOMES.get(formatted, "delivered")
            else:
                names = list(self.outcomes)
                outcome = self._random.choices(names, [self.outcomes[n] for n in names])[0]
            notification.outcome = outcome
            notification.status = "sending"
            if not self.status_callback_url:
                notification.status = outcome
                return
            times = 2 if self._random.random() < self.duplicate_rate else 1
            due = time.monotonic() + self.callback_delay
            for step in range(times):
                heapq.heappush(
                    self._pending,
                    _Pending(
                        due + step * 0.001,
                        next(self._seq),
                        self.status_callback_url,
                        {"notification_id": notification.id},
                        self.callback_token,
                    ),
                )
            self._wake.notify_all()

    def receipt_payload(self, notification: Notification) -> dict[str, Any]:
        """Notify's delivery receipt callback body."""
        now = _stamp(datetime.now(UTC))
        return {
            "id": notification.id,
            "reference": notification.reference,
            "to": notification.to.lstrip("+"),
            "status": notification.status,
            "created_at": _stamp(notification.created_at),
            "completed_at": now,
            "sent_at": _stamp(notification.created_at),
            "notification_type": "sms",
            "template_id": notification.template_id,
            "template_version": 1,
        }

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
                notification = next(
                    n for n in self.notifications if n.id == item.payload["notification_id"]
                )
                notification.status = notification.outcome or "delivered"
                payload = self.receipt_payload(notification)
            try:
                self.send_callback(item.url, payload)
            finally:
                with self._lock:
                    self._in_flight -= 1

    def send_callback(self, url: str, payload: dict[str, Any]) -> int | None:
        """Deliver one callback now, as Notify does: JSON with the service's bearer token."""
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.callback_token}",
        }
        try:
            answered: int | None = self.callback_sender(url, payload, headers)
        except Exception:  # Nudge down: this callback is lost, as Notify gives up too
            answered = None
        with self._lock:
            self.callbacks.append(CallbackRecord(url, payload, headers, answered))
        return answered


def inbound_payload(text: ReceivedText) -> dict[str, Any]:
    """Notify's received-text callback body."""
    return {
        "id": text.id,
        "source_number": text.user_number,
        "destination_number": text.notify_number,
        "message": text.content,
        "date_received": _stamp(text.created_at),
    }


def _handler_for(fake: FakeNotify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
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

        def _tracked(self, work: Callable[[], None]) -> None:
            with fake._lock:
                fake._active += 1
            try:
                work()
            finally:
                with fake._lock:
                    fake._active -= 1

        def do_GET(self) -> None:  # noqa: N802
            self._tracked(self._get)

        def do_POST(self) -> None:  # noqa: N802
            self._tracked(self._post)

        def _get(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            kind, error = fake._authenticate(self.headers.get("Authorization"))
            if kind is None:
                self._answer(*error)
                return
            with fake._lock:
                down = bool(fake._faults) and fake._faults[0][0] == "status"
                fault = fake._faults.pop(0) if down else None
            if fault is not None:
                self._answer(*_error(int(fault[1]), "Exception", "Internal server error"))
                return
            if parts.path == "/v2/notifications":
                self._answer(*fake._list(kind, query))
            elif parts.path.startswith("/v2/notifications/"):
                wanted = parts.path.rsplit("/", 1)[-1]
                with fake._lock:
                    found = [n for n in fake.notifications if n.id == wanted]
                if found:
                    self._answer(200, fake._serialise(found[0]))
                else:
                    self._answer(*_error(404, "NoResultFound", "No result found"))
            elif parts.path == "/v2/received-text-messages":
                self._answer(*fake._received(query))
            else:
                self._answer(*_error(404, "NotFound", "Not Found"))

        def _post(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if urlsplit(self.path).path != "/v2/notifications/sms":
                self._answer(*_error(404, "NotFound", "Not Found"))
                return
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                self._answer(*_error(400, "BadRequestError", "Invalid JSON supplied in POST data"))
                return
            kind, error = fake._authenticate(self.headers.get("Authorization"))
            if kind is None:
                with fake._lock:
                    fake.requests.append(RequestRecord(payload, "unauthorised", time.time()))
                self._answer(*error)
                return
            with fake._lock:
                fault = fake._faults.pop(0) if fake._faults else None
            if fault is not None:
                what, argument = fault
                if what == "status":
                    status = int(argument)
                    with fake._lock:
                        fake.requests.append(RequestRecord(payload, f"error:{status}", time.time()))
                    if status == 429:
                        self._answer(
                            *_error(
                                429,
                                "RateLimitError",
                                "Exceeded rate limit for key type LIVE of 3000 requests"
                                " per 60 seconds",
                            )
                        )
                    else:
                        self._answer(*_error(status, "Exception", "Internal server error"))
                    return
                if what == "drop":
                    if argument:
                        fake._send(kind, payload)
                    with fake._lock:
                        fake.requests.append(RequestRecord(payload, "dropped", time.time()))
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if what == "hang":
                    with fake._lock:
                        fake.requests.append(RequestRecord(payload, "hung", time.time()))
                    time.sleep(argument)
            status, answer = fake._send(kind, payload)
            if status != 201:
                with fake._lock:
                    fake.requests.append(
                        RequestRecord(
                            payload, f"refused:{answer['errors'][0]['error']}", time.time()
                        )
                    )
            with contextlib.suppress(OSError):
                self._answer(status, answer)

    return Handler


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="A fake GOV.UK Notify API on loopback.")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--callback-base", default="http://127.0.0.1:5000")
    parser.add_argument("--callback-token", default="fake-notify-callback-token")
    parser.add_argument("--delay", type=float, default=0.5)
    args = parser.parse_args(argv)
    base = args.callback_base.rstrip("/")
    fake = FakeNotify(
        port=args.port,
        status_callback_url=base + "/webhooks/notify/status",
        inbound_callback_url=base + "/webhooks/notify/inbound",
        callback_token=args.callback_token,
        callback_delay=args.delay,
    ).start()
    print(f"fake Notify at {fake.base_url}", flush=True)
    print(f"NUDGE_NOTIFY_API_KEY={fake.key('live')}", flush=True)
    print(f"NUDGE_NOTIFY_TEMPLATE_ID={fake.template_id}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
