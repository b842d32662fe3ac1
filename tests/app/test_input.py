"""What the service refuses, and how it says so."""

from __future__ import annotations

import os
import subprocess

import pytest

from .conftest import BACKEND, new_id


@pytest.mark.parametrize(
    ("body", "error", "detail"),
    [
        (b'{"name": ', "invalid JSON", "the body is not JSON"),
        (b"[1, 2]", "invalid item", "expected a JSON object, found list"),
        (b'{"description": "no name"}', "invalid item", "field 'name' must be a non-empty string"),
        (b'{"name": ""}', "invalid item", "field 'name' must be a non-empty string"),
        (b'{"name": 5}', "invalid item", "field 'name' must be a non-empty string"),
        (b'{"name": "x", "colour": "red"}', "invalid item", "unknown fields ['colour']"),
        (b'{"name": "x", "description": 7}', "invalid item", "field 'description' must be a string"),
        (b'{"name": "x", "id": 1}', "invalid item", "field 'id' is 1, the path says"),
    ],
)
def test_a_bad_body_is_400_saying_what_is_wrong(api, body, error, detail):
    reply = api("PUT", f"/api/items/{new_id()}", body, {"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.json["error"] == error
    assert detail in reply.json["detail"]


@pytest.mark.parametrize("raw", ["abc", "1.5", "-3", "0", "99999999999999999999", "%C2%B2"])
def test_an_id_that_is_not_a_positive_integer_is_400(api, raw):
    for method, body in (("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)):
        reply = api(method, f"/api/items/{raw}", body)
        assert reply.status == 400, (method, raw)
        assert reply.json["error"] == "invalid id"
        assert "expected a positive integer" in reply.json["detail"]


def test_an_oversized_body_is_413(api):
    reply = api("PUT", f"/api/items/{new_id()}", b'{"name": "' + b"x" * 70_000 + b'"}')
    assert reply.status == 413
    assert reply.json["error"] == "body too large"
    assert "expected at most 65536 bytes" in reply.json["detail"]


def test_unknown_routes_and_methods_answer_json(api):
    assert api("GET", "/nowhere").json["error"] == "not found"
    reply = api("POST", f"/api/items/{new_id()}", {"name": "x"})
    assert (reply.status, reply.json["error"]) == (405, "method not allowed")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBSTACK_")}
    return {**env, **extra}


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        ([], {}, "--redis-url"),
        (["--redis-url", "redis://127.0.0.1:1/0"], {}, "--mysql-url"),
        (["--redis-url", "http://x", "--mysql-url", "mysql://u:p@h/db"], {}, "--redis-url"),
        (["--redis-url", "redis://h/0", "--mysql-url", "mysql://h/db"], {}, "--mysql-url"),
        ([], {"WEBSTACK_PORT": "eighty"}, "--port (env WEBSTACK_PORT): expected int, found 'eighty'"),
        (["--workers", "0", "--redis-url", "redis://h/0", "--mysql-url", "mysql://u:p@h/db"], {}, "--workers"),
    ],
)
def test_a_missing_or_wrong_option_at_start_exits_non_zero_naming_it(args, env, named):
    result = subprocess.run([BACKEND, "serve", *args], env=clean_env(**env), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_help_documents_every_option_and_its_environment_variable():
    result = subprocess.run([BACKEND, "serve", "--help"], capture_output=True, text=True, check=True)
    for option in ("--redis-url", "--mysql-url", "--mysql-reader-url", "--parameter-path", "--port", "--workers",
                   "--cache-ttl", "--log-level", "--host", "--redis-auth-token", "--mysql-ca-file"):  # fmt: skip
        assert option in result.stdout
        assert "WEBSTACK_" + option.lstrip("-").replace("-", "_").upper() in result.stdout
