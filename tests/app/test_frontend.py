"""The frontend: the example nginx configuration serves the page, /healthz, and proxies /api/."""

from __future__ import annotations

from pathlib import Path

import pytest
from localrun import Nginx, free_port

from .conftest import new_id, request

FRONTEND = Path(__file__).resolve().parents[2] / "app" / "frontend"


def local_config(port: int, backend_port: int) -> str:
    """The example configuration with only the port, the root and the backend address changed."""
    text = (FRONTEND / "nginx-webstack.conf").read_text()
    for old, new in (
        ("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;"),
        ("listen [::]:80 default_server;", ""),
        ("root /var/www/webstack;", f"root {FRONTEND / 'site'};"),
        ("server 127.0.0.1:8080;", f"server 127.0.0.1:{backend_port};"),
    ):
        assert old in text, f"the example configuration no longer has {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def frontend(backend, tmp_path_factory):
    port = free_port()
    nginx = Nginx(tmp_path_factory.mktemp("nginx"), local_config(port, backend.port))
    nginx.start(port)
    yield f"http://127.0.0.1:{port}"
    nginx.stop()


def test_the_page_is_served_and_fetches_an_item_through_api(frontend):
    page = request(frontend, "GET", "/")
    script = request(frontend, "GET", "/app.js")

    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert b'<script src="app.js"></script>' in page.body
    assert script.status == 200
    assert b"fetch(`/api/items/" in script.body
    assert page.headers["x-content-type-options"] == "nosniff"


def test_healthz_answers_without_the_backend(frontend):
    reply = request(frontend, "GET", "/healthz")
    assert (reply.status, reply.body) == (200, b"ok\n")


def test_api_is_proxied_to_the_backend_with_the_trace_id(frontend):
    item_id = new_id()
    written = request(frontend, "PUT", f"/api/items/{item_id}", {"name": "through nginx"})
    first = request(frontend, "GET", f"/api/items/{item_id}", headers={"X-Amzn-Trace-Id": "Root=1-abc-def"})
    second = request(frontend, "GET", f"/api/items/{item_id}")

    assert written.status == 201
    assert (first.status, first.cache, first.json["name"]) == (200, "miss", "through nginx")
    assert first.headers["x-request-id"] == "1-abc-def"
    assert second.cache == "hit"
    assert request(frontend, "GET", "/missing.html").status == 404
