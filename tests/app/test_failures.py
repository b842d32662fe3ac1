"""A store goes away and comes back; SIGTERM during a request."""

from __future__ import annotations

import signal
import threading
import time

import pymysql
from localrun import Backend

from .conftest import MYSQL_PASSWORD, MYSQL_USER, Reply, new_id, request


def eventually(check, timeout: float = 10.0):
    """The first truthy result of ``check()`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_redis_down_answers_from_mysql_and_recovers_without_a_restart(api, stores, backend):
    item_id = new_id()
    api("PUT", f"/api/items/{item_id}", {"name": "steady"})
    api("GET", f"/api/items/{item_id}")

    with stores.stopped(stores.redis):
        bypass = api("GET", f"/api/items/{item_id}")
        written = api("PUT", f"/api/items/{item_id}", {"name": "written while Redis was down"})
        ready = api("GET", "/readyz")
        after_write = api("GET", f"/api/items/{item_id}")

    assert (bypass.status, bypass.cache, bypass.json["name"]) == (200, "bypass", "steady")
    assert (written.status, written.cache) == (200, "bypass")
    assert (after_write.status, after_write.json["name"]) == (200, "written while Redis was down")
    assert ready.status == 503
    assert ready.json["failed"] == ["redis"]
    assert ready.json["checks"]["mysql"] == "ok"
    assert b'"cache degraded' in backend.log.read_bytes()

    # Redis is back (empty): a miss, then hits again, with the same backend process.
    def hit() -> Reply | None:
        reply = api("GET", f"/api/items/{item_id}")
        return reply if reply.cache == "hit" else None

    assert eventually(hit), "no cache hit within 10 s of Redis coming back"
    assert hit().json["name"] == "written while Redis was down"
    assert api("GET", "/readyz").status == 200
    assert b'"cache recovered' in backend.log.read_bytes()


def test_mariadb_down_serves_cached_items_refuses_others_and_recovers(api, stores):
    cached, uncached = new_id(), new_id()
    api("PUT", f"/api/items/{cached}", {"name": "cached"})
    api("PUT", f"/api/items/{uncached}", {"name": "not cached"})
    api("GET", f"/api/items/{cached}")

    with stores.stopped(stores.mariadb):
        hit = api("GET", f"/api/items/{cached}")
        refused = api("GET", f"/api/items/{uncached}")
        write = api("PUT", f"/api/items/{uncached}", {"name": "refused"})
        ready = api("GET", "/readyz")

    assert (hit.status, hit.cache, hit.json["name"]) == (200, "hit", "cached")
    assert refused.status == 503
    assert refused.headers["content-type"] == "application/json"
    assert refused.json == {
        "error": "service unavailable",
        "detail": "the mysql store does not answer; retry later",
        "store": "mysql",
    }
    assert b"Traceback" not in refused.body
    assert write.status == 503
    assert (ready.status, ready.json["failed"], ready.json["checks"]["redis"]) == (503, ["mysql"], "ok")

    # MariaDB is back: the same backend reads it again.
    recovered = eventually(lambda: (reply := api("GET", f"/api/items/{uncached}")).status == 200 and reply)
    assert recovered, "the backend did not read MariaDB again within 10 s"
    assert recovered.json["name"] == "not cached"
    assert api("GET", "/readyz").status == 200


def test_sigterm_lets_a_request_in_flight_finish(stores, tmp_path):
    item_id = new_id()
    backend = Backend(tmp_path, ["--store-timeout", "20"], stores.backend_env())
    backend.start()
    try:
        assert request(backend.base, "PUT", f"/api/items/{item_id}", {"name": "before"}).status == 201
        # A transaction holds the row: the next PUT waits on its lock, a slow request.
        lock = pymysql.connect(
            host="127.0.0.1",
            port=stores.mariadb.port,
            user=MYSQL_USER,
            password=MYSQL_PASSWORD,
            database="app",
            ssl={"ca": str(stores.tls.ca)},
        )
        replies: list[Reply] = []
        with lock.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT * FROM items WHERE id = %s FOR UPDATE", (item_id,))
            slow = threading.Thread(
                target=lambda: replies.append(
                    request(backend.base, "PUT", f"/api/items/{item_id}", {"name": "after SIGTERM"})
                )
            )
            slow.start()
            time.sleep(1.0)
            backend.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert backend.process.poll() is None, "the backend exited with a request in flight"
            cursor.execute("COMMIT")
        lock.close()
        slow.join(20)
        code = backend.process.wait(20)
    finally:
        backend.stop()

    assert [reply.status for reply in replies] == [200]
    # uvicorn ends by the signal it caught, once shutdown is complete (systemd counts that as a clean stop).
    assert code in (0, -signal.SIGTERM)
    log = backend.log.read_bytes()
    assert b'"backend stopped: pools closed"' in log
