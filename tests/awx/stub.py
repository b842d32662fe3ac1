"""A tiny HTTP server that records every request, for what no real server is needed.

- As AWX's API for awx/apply.yml in check mode: the awx.awx modules read before
  they write (the object and every object it names, looked up by name), and in
  check mode they stop, reporting a change, at the first write. The stub answers
  every list with one object of the name asked for, and ``/api/v2/ping/``.
- As an AWS endpoint that must not be called: a run that refuses before any AWS
  call leaves the stub's log empty.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

RELATED = ("survey_spec", "credentials", "labels", "instance_groups", "workflow_nodes", "notification_templates")


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are in server.requests."""

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-API-Product-Name", "AWX")
        self.send_header("X-API-Product-Version", "24.6.1")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))
        url = urlparse(self.path)
        if url.path.rstrip("/") == "/api/v2/ping":
            self.answer(200, {"version": "24.6.1", "active_node": "stub"})
            return
        query = parse_qs(url.query)
        name = next(iter(query.get("name") or query.get("or__name") or query.get("identifier") or []), "stub")
        kind = url.path.rstrip("/").rsplit("/", 1)[-1]
        own = f"{url.path.rstrip('/')}/1/"
        found = {
            "id": 1,
            "name": name,
            "identifier": name,
            "type": kind.rstrip("s"),
            "url": own,
            # The job template module reads the survey it would replace; the others, associations.
            "related": {key: f"{own}{key}/" for key in RELATED},
            "summary_fields": {},
            # The inventory module reads the existing inventory's kind (a smart inventory is "smart").
            "kind": "",
        }
        self.answer(200, {"count": 1, "next": None, "previous": None, "results": [found]})

    def refuse(self) -> None:
        self.server.requests.append((self.command, self.path))
        self.answer(405, {"detail": "the stub accepts no write"})

    do_POST = do_PUT = do_PATCH = do_DELETE = refuse


@contextmanager
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
