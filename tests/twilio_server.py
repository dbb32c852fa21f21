"""A local HTTP server that speaks Twilio's REST API for Messages, Calls and an MMS's Media.

The real ``twilio`` SDK is pointed at it (``client.api.base_url``); it is the
test suite's only double, and it sits at the network edge.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Recorded:
    """One request the SDK made: which resource, the account, its form fields."""

    resource: str
    account_sid: str
    auth_ok: bool
    form: dict
    sid: str | None = None
    status: int = 201


@dataclass
class Scripted:
    """A canned answer: HTTP status plus Twilio error code (and a Retry-After header), or a hang (timeout)."""

    status: int
    code: int | None = None
    message: str = ""
    delay: float = 0.0
    accept_then_hang: bool = False
    drop_connection: bool = False
    retry_after: str | None = None


@dataclass
class TwilioState:
    account_sid: str
    auth_token: str
    requests: list = field(default_factory=list)
    scripts: dict = field(default_factory=lambda: {"Messages": deque(), "Calls": deque()})
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    # MMS media: (message SID, media SID) -> (bytes, content type); scripted download failures; deletes seen.
    media: dict = field(default_factory=dict)
    media_failures: dict = field(default_factory=dict)
    media_downloads: list = field(default_factory=list)
    media_deleted: list = field(default_factory=list)
    delete_failures: dict = field(default_factory=dict)
    delete_attempts: list = field(default_factory=list)


class FakeTwilio:
    """Start/stop the server, script failures, and read what was sent."""

    def __init__(self, account_sid: str, auth_token: str, *, keep_alive: bool = False):
        self.state = TwilioState(account_sid, auth_token)
        self.keep_alive = keep_alive
        self._serve(0)

    def _serve(self, port: int) -> None:
        attrs: dict = {"state": self.state}
        if self.keep_alive:
            # Twilio's API keeps connections open, so the SDK's requests session reuses one per
            # process; the tests' default closes each (HTTP/1.0), which costs a connect per send.
            # No Nagle: headers and body are two writes, and Nagle would hold the second for an ACK.
            attrs.update(protocol_version="HTTP/1.1", disable_nagle_algorithm=True)
        handler = type("Handler", (_Handler,), attrs)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What to set as TWILIO_API_BASE_URL."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def go_down(self) -> None:
        """An outage: stop listening, so every request is refused at connect (as when Twilio is unreachable)."""
        self._port = self.server.server_address[1]
        self.stop()

    def come_back(self) -> None:
        """The outage ends: listen again on the same port, with what was recorded before."""
        self._serve(self._port)
        self.start()

    def script(self, resource: str, *answers: Scripted) -> None:
        """Queue answers for the next requests to ``Messages`` or ``Calls``; then back to 201."""
        with self.state.lock:
            self.state.scripts[resource].extend(answers)

    def reset(self) -> None:
        """Forget recorded requests and unused scripts: the server lives for the session, a test sees only its own."""
        with self.state.lock:
            self.state.requests.clear()
            for q in self.state.scripts.values():
                q.clear()
            for store in (self.state.media, self.state.media_failures, self.state.media_downloads,
                          self.state.media_deleted, self.state.delete_failures, self.state.delete_attempts):
                store.clear()

    def add_media(self, message_sid: str, media_sid: str, data: bytes, content_type: str) -> str:
        """Hold one media item as Twilio does after an MMS; returns its MediaUrl (Twilio's documented form)."""
        with self.state.lock:
            self.state.media[(message_sid, media_sid)] = (data, content_type)
        return (f"https://api.twilio.com/2010-04-01/Accounts/{self.state.account_sid}/Messages/{message_sid}"
                f"/Media/{media_sid}")

    def fail_media(self, media_sid: str, times: int, status: int = 500) -> None:
        """Answer the next ``times`` downloads of ``media_sid`` with ``status``."""
        with self.state.lock:
            self.state.media_failures[media_sid] = [status] * times

    def fail_media_delete(self, media_sid: str, times: int, status: int = 500) -> None:
        """Answer the next ``times`` DELETEs of ``media_sid`` with ``status`` (the media stays)."""
        with self.state.lock:
            self.state.delete_failures[media_sid] = [status] * times

    def delete_attempts(self) -> list[str]:
        """The media SID of every DELETE tried, failed ones included, in order."""
        with self.state.lock:
            return list(self.state.delete_attempts)

    def media_left(self) -> list[tuple[str, str]]:
        """The (message SID, media SID) pairs Twilio still holds (never DELETEd)."""
        with self.state.lock:
            return sorted(self.state.media)

    def deleted_media(self) -> list[tuple[str, str]]:
        """Every DELETE of a Media resource, in order."""
        with self.state.lock:
            return list(self.state.media_deleted)

    def media_downloads(self) -> list[tuple[str, bool]]:
        """Every media download: (media SID, whether its basic auth was the account's)."""
        with self.state.lock:
            return list(self.state.media_downloads)

    def sent(self, resource: str = "Messages") -> list[Recorded]:
        """Requests Twilio accepted (answered 201) for ``resource``."""
        with self.state.lock:
            return [r for r in self.state.requests if r.resource == resource and r.status == 201]

    def attempts(self, resource: str = "Messages") -> list[Recorded]:
        """Every request for ``resource``, accepted or not."""
        with self.state.lock:
            return [r for r in self.state.requests if r.resource == resource]


class _Handler(BaseHTTPRequestHandler):
    state: TwilioState

    def log_message(self, *args):  # keep test output clean
        pass

    def _auth_ok(self) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.state.account_sid}:{self.state.auth_token}".encode()).decode()
        return self.headers.get("Authorization", "") == expected

    def _media_path(self) -> tuple[str, str, str] | None:
        # /2010-04-01/Accounts/{AC}/Messages/{MM}/Media/{ME}[.json]
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) != 7 or parts[:2] != ["2010-04-01", "Accounts"] or parts[3] != "Messages" or parts[5] != "Media":
            return None
        return parts[2], parts[4], parts[6].removesuffix(".json")

    def do_GET(self):
        found = self._media_path()
        if found is None:
            return self._json(404, {"code": 20404, "message": "not found", "status": 404})
        account, message_sid, media_sid = found
        auth_ok = self._auth_ok() and account == self.state.account_sid
        with self.state.lock:
            self.state.media_downloads.append((media_sid, auth_ok))
            failures = self.state.media_failures.get(media_sid)
            failure = failures.pop(0) if failures else None
            item = self.state.media.get((message_sid, media_sid))
        if not auth_ok:
            return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if failure is not None:
            return self._json(failure, {"code": 20500, "message": "Internal error", "status": failure})
        if item is None:
            return self._json(404, {"code": 20404, "message": "not found", "status": 404})
        data, content_type = item
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return None

    def do_DELETE(self):
        found = self._media_path()
        if found is None or not self._auth_ok():
            return self._json(404 if found is None else 401, {"code": 20404, "message": "not found", "status": 404})
        _account, message_sid, media_sid = found
        with self.state.lock:
            self.state.delete_attempts.append(media_sid)
            failures = self.state.delete_failures.get(media_sid)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            return self._json(failure, {"code": 20500, "message": "internal error", "status": failure})
        with self.state.lock:
            existed = self.state.media.pop((message_sid, media_sid), None) is not None
            if existed:
                self.state.media_deleted.append((message_sid, media_sid))
        if not existed:
            return self._json(404, {"code": 20404, "message": "not found", "status": 404})
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def do_POST(self):
        import time

        parts = self.path.split("?")[0].strip("/").split("/")
        # /2010-04-01/Accounts/{sid}/Messages.json
        if len(parts) != 4 or parts[0] != "2010-04-01" or parts[1] != "Accounts":
            return self._json(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        account, resource = parts[2], parts[3].removesuffix(".json")
        if resource not in ("Messages", "Calls"):
            return self._json(404, {"code": 20404, "message": "not found", "status": 404})
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.state.account_sid}:{self.state.auth_token}".encode()).decode()
        record = Recorded(resource, account, auth == expected, form)
        with self.state.lock:
            script = self.state.scripts[resource].popleft() if self.state.scripts[resource] else None
            self.state.requests.append(record)
        if script and script.drop_connection:
            # Read the request, then close without a word: the client cannot know what happened.
            record.status = 0
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        if not record.auth_ok or account != self.state.account_sid:
            record.status = 401
            return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if script and script.delay and not script.accept_then_hang:
            time.sleep(script.delay)
        if script and script.status != 201:
            record.status = script.status
            return self._json(script.status, {"code": script.code, "message": script.message or "error",
                                              "more_info": f"https://www.twilio.com/docs/errors/{script.code}",
                                              "status": script.status},
                              headers={"Retry-After": script.retry_after} if script.retry_after else None)
        prefix = "SM" if resource == "Messages" else "CA"
        sid = prefix + uuid.uuid4().hex
        record.sid = sid
        if script and script.accept_then_hang:
            time.sleep(script.delay)
        body = {"sid": sid, "account_sid": account, "status": "queued", "to": form.get("To"),
                "from": form.get("From"), "body": form.get("Body"), "num_segments": "1",
                "date_created": None, "error_code": None, "error_message": None,
                "uri": f"/2010-04-01/Accounts/{account}/{resource}/{sid}.json"}
        return self._json(201, body)

    def _json(self, status: int, payload: dict, headers: dict | None = None):
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
