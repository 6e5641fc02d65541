"""Local stand-ins for the outside world: an SMTP server (aiosmtpd) and an HTTP endpoint (http.server)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on localhost; point EMAIL_BACKEND (smtp) at ``mailbox.port``."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(port=free_port())
    received = mailbox.messages

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class Endpoint:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers in order; 200 once exhausted
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def http_endpoint(statuses: list[int] | None = None, delay: float = 0.0) -> Iterator[Endpoint]:
    endpoint = Endpoint(url="", statuses=list(statuses or []), delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            endpoint.requests.append({"headers": dict(self.headers), "raw": body, "json": json.loads(body)})
            if endpoint.delay:
                time.sleep(endpoint.delay)
            status = endpoint.statuses.pop(0) if endpoint.statuses else 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
