"""Cache-aside against real Redis and MariaDB: hits, misses, writes that evict, absences."""

from __future__ import annotations

import time

import orjson

from .conftest import new_id


def test_a_miss_then_a_hit(api):
    item_id = new_id()
    assert api("PUT", f"/api/items/{item_id}", {"name": "lamp", "description": "a desk lamp"}).status == 201

    first = api("GET", f"/api/items/{item_id}")
    second = api("GET", f"/api/items/{item_id}")

    assert (first.status, first.cache) == (200, "miss")
    assert (second.status, second.cache) == (200, "hit")
    assert first.json == second.json == {"id": item_id, "name": "lamp", "description": "a desk lamp"}
    assert second.headers["content-type"] == "application/json"


def test_a_write_evicts_and_the_next_read_shows_the_new_value(api):
    item_id = new_id()
    api("PUT", f"/api/items/{item_id}", {"name": "old"})
    api("GET", f"/api/items/{item_id}")
    assert api("GET", f"/api/items/{item_id}").cache == "hit"

    written = api("PUT", f"/api/items/{item_id}", {"name": "new", "description": "changed"})
    read = api("GET", f"/api/items/{item_id}")

    assert (written.status, written.cache) == (200, "evict")
    assert (read.status, read.cache) == (200, "miss")
    assert read.json == {"id": item_id, "name": "new", "description": "changed"}
    assert api("GET", f"/api/items/{item_id}").json["name"] == "new"


def test_a_delete_gives_404(api):
    item_id = new_id()
    api("PUT", f"/api/items/{item_id}", {"name": "gone soon"})
    api("GET", f"/api/items/{item_id}")

    deleted = api("DELETE", f"/api/items/{item_id}")
    after = api("GET", f"/api/items/{item_id}")

    assert deleted.status == 204
    assert after.status == 404
    assert after.json == {"error": "not found", "detail": f"no item {item_id}", "id": item_id}
    assert api("DELETE", f"/api/items/{item_id}").status == 404


def test_an_unknown_id_is_404_until_a_put_makes_it_200_at_once(api):
    item_id = new_id()
    first = api("GET", f"/api/items/{item_id}")
    # The absence is cached (the session's backend remembers it 30 s) ...
    second = api("GET", f"/api/items/{item_id}")
    assert (first.status, first.cache) == (404, "miss")
    assert (second.status, second.cache) == (404, "hit")

    # ... and a write clears it at once.
    assert api("PUT", f"/api/items/{item_id}", {"name": "new"}).status == 201
    assert api("GET", f"/api/items/{item_id}").status == 200


def test_the_request_log_has_one_json_line_per_request_with_the_alb_trace_id(api, backend):
    item_id = new_id()
    trace = "Root=1-67891233-abcdef012345678912345678;Self=1-67891233-12456789abcdef012345678"
    reply = api("GET", f"/api/items/{item_id}", headers={"X-Amzn-Trace-Id": trace})

    assert reply.headers["x-request-id"] == "1-67891233-abcdef012345678912345678"
    # The lines of one turn of the event loop are written at its end: a moment after the answer, at most.
    deadline = time.monotonic() + 5
    while True:
        lines = [orjson.loads(line) for line in backend.log.read_bytes().splitlines() if line.startswith(b"{")]
        logged = [line for line in lines if line.get("request_id") == "1-67891233-abcdef012345678912345678"]
        if logged or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(logged) == 1
    assert logged[0]["logger"] == "webstack.request"
    assert {k: logged[0][k] for k in ("method", "path", "status", "cache")} == {
        "method": "GET",
        "path": f"/api/items/{item_id}",
        "status": 404,
        "cache": "miss",
    }
    assert isinstance(logged[0]["latency_ms"], float)
    # Without a trace header the service makes an id up.
    assert len(api("GET", "/healthz").headers["x-request-id"]) == 16


def test_healthz_and_readyz(api):
    assert api("GET", "/healthz").status == 200
    ready = api("GET", "/readyz")
    assert (ready.status, ready.json["checks"]) == (200, {"redis": "ok", "mysql": "ok"})
