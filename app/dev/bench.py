#!/usr/bin/env python3
"""Benchmark of the backend on this machine: cache hits, misses, and nginx as the ceiling.

    make app-bench                                  (APP_BENCH_ARGS="--duration 10 --rounds 3")
    .venv/bin/python app/dev/bench.py --help

Starts Redis (TLS, AUTH) and MariaDB (TLS) as the tests do, seeds the items
table, starts ``webstack-backend serve`` and nginx, then runs wrk at a fixed
concurrency against, in turn:

- nginx serving a static file of the size of an item's JSON: the ceiling;
- cache hits: GET of 1000 items already in Redis, in random order;
- cache misses: GET of items read for the first time (each a MySQL read and a
  store into Redis).

Each scenario gets a warm-up, then a measured run; with --rounds N the scenarios
alternate N times and the median of each is kept (a busy machine varies).
Everything runs in a temporary folder and is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from localrun import Backend, MariaDB, Nginx, Redis, binary, free_port, make_tls

HOT_ITEMS = 1000
SEEDED_ITEMS = 400_000
TOKEN = "bench-redis-token-0123456789abcdef"  # noqa: S105 - a throwaway local server's
PASSWORD = "bench-mysql-password-0123456789"  # noqa: S105 - a throwaway local server's
ITEM_JSON = b'{"id":1,"name":"item 1","description":"seeded for the benchmark"}'

HITS_LUA = f"""
request = function()
  return wrk.format("GET", "/api/items/" .. math.random(1, {HOT_ITEMS}))
end
"""
# Every request a new id: rows HOT_ITEMS+1 .. SEEDED_ITEMS exist and were never read.
MISSES_LUA = """
local next_id = {start}
request = function()
  next_id = next_id + 1
  return wrk.format("GET", "/api/items/" .. next_id)
end
"""


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: float, connections: int, threads: int, script: Path | None = None) -> dict[str, float]:
    command = [binary("wrk"), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1)),
        "requests": float(re.search(r"(\d+) requests in", output).group(1)),
    }
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["errors"] = float(bad.group(1) if bad else 0) + (sum(map(float, errors.groups())) if errors else 0)
    return result


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        children.setdefault(int(stat[1]), []).append(int(entry))
        times[int(entry)] = (int(stat[11]) + int(stat[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def measured(server: int, url: str, seconds: float, args: argparse.Namespace, script: Path | None = None) -> dict:
    """wrk's result, with the server's CPU time per request (microseconds) and the load average after it."""
    before = cpu_seconds(server)
    result = wrk(url, seconds, args.connections, args.threads, script)
    result["cpu_us"] = (cpu_seconds(server) - before) * 1e6 / max(result["requests"], 1)
    result["load"] = os.getloadavg()[0]
    return result


def seed(mariadb: MariaDB) -> None:
    import pymysql

    connection = pymysql.connect(unix_socket=str(mariadb.socket), user="root", database="app", autocommit=True)
    with connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM items")
        cursor.execute("SET SESSION max_recursive_iterations = %s", (SEEDED_ITEMS + 1,))
        cursor.execute(
            "INSERT INTO items (id, name, description) "
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s) "
            "SELECT n, CONCAT('item ', n), 'seeded for the benchmark' FROM seq",
            (SEEDED_ITEMS,),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds of each measured run (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each measured run")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="backend and nginx workers")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the scenarios N times, keep medians")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="webstack-bench-") as temp:
        directory = Path(temp)
        # nginx's workers (user nobody when started as root) read the static file from here.
        directory.chmod(0o755)
        tls = make_tls(directory / "tls")
        redis = Redis(directory / "redis", tls, TOKEN)
        mariadb = MariaDB(directory / "mariadb", tls, "admin", PASSWORD)
        site = directory / "site"
        site.mkdir()
        (site / "item.json").write_bytes(ITEM_JSON)
        nginx_port = free_port()
        nginx = Nginx(
            directory / "nginx",
            f"server {{ listen 127.0.0.1:{nginx_port}; root {site}; location / {{ try_files $uri =404; }} }}\n",
        )
        env = {
            "WEBSTACK_REDIS_URL": redis.url,
            "WEBSTACK_REDIS_AUTH_TOKEN": TOKEN,
            "WEBSTACK_REDIS_CA_FILE": str(tls.ca),
            "WEBSTACK_MYSQL_URL": mariadb.url(),
            "WEBSTACK_MYSQL_CA_FILE": str(tls.ca),
        }
        backend = Backend(directory / "backend", ["--workers", str(args.workers), "--cache-ttl", "3600"], env)
        try:
            redis.start()
            mariadb.initialise()
            subprocess.run(
                [str(Path(sys.executable).parent / "webstack-backend"), "migrate"],
                env={**os.environ, **env},
                check=True,
                capture_output=True,
            )
            seed(mariadb)
            backend.start()
            nginx.start(nginx_port, workers=args.workers)
            hits_lua = directory / "hits.lua"
            hits_lua.write_text(HITS_LUA)
            # Warm the cache with the hot items (each read once is a miss, then hits).
            wrk(backend.base, 3, args.connections, args.threads, hits_lua)

            results: dict[str, list[dict[str, float]]] = {"nginx static file": [], "cache hits": [], "cache misses": []}
            next_miss = HOT_ITEMS
            for _ in range(args.rounds):
                static = f"http://127.0.0.1:{nginx_port}/item.json"
                wrk(static, args.warmup, args.connections, args.threads)
                results["nginx static file"].append(measured(nginx.process.pid, static, args.duration, args))
                wrk(backend.base, args.warmup, args.connections, args.threads, hits_lua)
                results["cache hits"].append(measured(backend.process.pid, backend.base, args.duration, args, hits_lua))
                for last, seconds in ((False, args.warmup), (True, args.duration)):
                    misses_lua = directory / "misses.lua"
                    misses_lua.write_text(MISSES_LUA.format(start=next_miss))
                    result = measured(backend.process.pid, backend.base, seconds, args, misses_lua)
                    next_miss += int(result["requests"]) + args.connections
                    if next_miss > SEEDED_ITEMS:
                        raise SystemExit(f"more misses than seeded items ({SEEDED_ITEMS}): shorten --duration")
                    if last:
                        results["cache misses"].append(result)
        finally:
            nginx.stop()
            backend.stop()
            redis.stop()
            mariadb.stop()

    print(
        f"\nwrk -t{args.threads} -c{args.connections}, {args.duration:g} s per run, {args.rounds} round(s), "
        f"{args.workers} backend and nginx worker(s), {os.cpu_count()} cores; Redis and MariaDB with TLS"
    )
    print(f"{'scenario':<20} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'CPU us/req':>11} {'load':>6}")
    medians: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        keys = ("rps", "p50", "p99", "errors", "cpu_us", "load")
        medians[name] = {key: statistics.median(run[key] for run in runs) for key in keys}
        m = medians[name]
        print(
            f"{name:<20} {m['rps']:>10.0f} {m['p50']:>8.2f} {m['p99']:>8.2f} {m['errors']:>7.0f}"
            f" {m['cpu_us']:>11.1f} {m['load']:>6.2f}"
        )
    print(
        "CPU us/req: CPU time of the server's processes (nginx, or the backend) per request, which the"
        " machine's load changes little; load: the 1-minute load average after the run"
        f" ({os.cpu_count()} cores: above that, other processes compete for them)"
    )
    ratio = medians["cache hits"]["rps"] / medians["nginx static file"]["rps"]
    p99 = medians["cache hits"]["p99"]
    met = ratio >= 0.3 and p99 < 5
    print(f"cache hits / nginx: {ratio:.2f} (target >= 0.30), hits p99 {p99:.2f} ms (target < 5): "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
