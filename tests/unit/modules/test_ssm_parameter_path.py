"""ssm_parameter_path against moto, counting the calls it makes; errors through botocore's Stubber."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients, stubbed_module_client
from moto import mock_aws

PATH = "/webstack-prod/data"
TAGS = {"Project": "webstack", "Environment": "Production", "Tier": "data"}
OUTPUTS = {
    "mysql/writer-endpoint": "webstack-prod-mysql.example.internal",
    "mysql/port": "3306",
    "redis/tls": "true",
}
MUTATING = ("PutParameter", "DeleteParameter", "DeleteParameters", "AddTagsToResource", "RemoveTagsFromResource")


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: bool) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    extra = {f"_ansible_{flag}": value for flag, value in flags.items()}
    return run_module("ssm_parameter_path", {"path": PATH, **args, **extra}, capsys)


def publish(parameters: dict[str, Any], capsys: pytest.CaptureFixture[str], **args: Any) -> dict[str, Any]:
    return run({"parameters": parameters, "tags": TAGS, **args}, capsys)


@pytest.fixture
def ssm(aws_env: None) -> Iterator[Any]:
    """moto in-process; yields an SSM client to look at what the module left behind."""
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Every call the module's clients make from now on, as (operation, parameters)."""
    recorded: Calls = []
    spy_module_clients(monkeypatch, recorded)
    return recorded


def names(calls: Calls) -> list[str]:
    return [operation for operation, _ in calls]


def mutating(calls: Calls) -> list[str]:
    return [operation for operation, _ in calls if operation in MUTATING]


def stored(ssm: Any, path: str = PATH) -> dict[str, str]:
    """What SSM holds under ``path``, at any depth."""
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
    return {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}


def full(relative: dict[str, str]) -> dict[str, str]:
    return {f"{PATH}/{name}": value for name, value in relative.items()}


# --- present ---------------------------------------------------------------------------------


def test_create_writes_every_value_with_its_tags_and_description(
    ssm: Any, calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = publish(OUTPUTS, capsys, description="webstack-prod data layer: {name}")

    assert result["changed"] is True
    assert result["created"] == sorted(full(OUTPUTS))
    assert (result["updated"], result["deleted"]) == ([], [])
    assert result["parameters"] == full(OUTPUTS)
    assert stored(ssm) == full(OUTPUTS)
    for name in full(OUTPUTS):
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
        assert {t["Key"]: t["Value"] for t in tags} == TAGS
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": [PATH], "Option": "Recursive"}])
    assert {p["Name"]: (p["Type"], p["Description"]) for p in described["Parameters"]} == {
        f"{PATH}/{name}": ("String", f"webstack-prod data layer: {name}") for name in OUTPUTS
    }
    assert Counter(names(calls)) == {"GetParametersByPath": 1, "PutParameter": 3}
    assert not [params for operation, params in calls if operation == "PutParameter" and "Overwrite" in params]


def test_same_values_again_read_the_path_once_and_write_nothing(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(OUTPUTS, capsys)
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)

    result = publish(OUTPUTS, capsys)

    assert result["changed"] is False
    assert (result["created"], result["updated"], result["deleted"]) == ([], [], [])
    assert result["parameters"] == full(OUTPUTS)
    assert names(calls) == ["GetParametersByPath"]
    assert calls[0][1] == {"Path": PATH, "Recursive": True, "WithDecryption": False, "MaxResults": 10}


def test_one_changed_value_is_one_overwrite(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(OUTPUTS, capsys)
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)
    changed = {**OUTPUTS, "mysql/writer-endpoint": "webstack-prod-mysql-2.example.internal"}

    result = publish(changed, capsys, _ansible_diff=True)

    name = f"{PATH}/mysql/writer-endpoint"
    assert result["changed"] is True
    assert (result["created"], result["updated"], result["deleted"]) == ([], [name], [])
    assert result["diff"] == {"before": full(OUTPUTS), "after": full(changed)}
    assert names(calls) == ["GetParametersByPath", "PutParameter"]
    assert calls[1][1] == {"Name": name, "Value": changed["mysql/writer-endpoint"], "Type": "String", "Overwrite": True}
    assert stored(ssm) == full(changed)
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == TAGS  # the overwrite keeps the creation's tags


def test_a_parameter_no_longer_wanted_is_purged_and_nothing_outside_the_path(
    ssm: Any, calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(OUTPUTS, capsys)
    ssm.put_parameter(Name=f"{PATH}/old/deep/name", Value="stale", Type="String")
    ssm.put_parameter(Name="/webstack-prod/database", Value="a sibling with the same prefix", Type="String")
    ssm.put_parameter(Name="/webstack-prod/compute/bucket", Value="another layer's", Type="String")
    calls.clear()

    result = publish(OUTPUTS, capsys)

    assert result["changed"] is True
    assert result["deleted"] == [f"{PATH}/old/deep/name"]
    assert names(calls) == ["GetParametersByPath", "DeleteParameters"]
    assert stored(ssm) == full(OUTPUTS)
    assert stored(ssm, "/webstack-prod") == {
        **full(OUTPUTS),
        "/webstack-prod/database": "a sibling with the same prefix",
        "/webstack-prod/compute/bucket": "another layer's",
    }


def test_purge_false_keeps_what_is_not_listed(ssm: Any, calls: Calls, capsys: pytest.CaptureFixture[str]) -> None:
    publish(OUTPUTS, capsys)
    ssm.put_parameter(Name=f"{PATH}/extra", Value="kept", Type="String")
    calls.clear()

    result = publish(OUTPUTS, capsys, purge=False)

    assert result["changed"] is False
    assert result["deleted"] == []
    assert result["parameters"] == {**full(OUTPUTS), f"{PATH}/extra": "kept"}
    assert mutating(calls) == []
    assert stored(ssm)[f"{PATH}/extra"] == "kept"


def test_integers_and_booleans_compare_as_the_strings_stored(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = publish({"mysql/port": 3306, "redis/port": "6379", "redis/tls": True}, capsys)
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)

    again = publish({"mysql/port": "3306", "redis/port": 6379, "redis/tls": "True"}, capsys)

    assert first["parameters"] == full({"mysql/port": "3306", "redis/port": "6379", "redis/tls": "True"})
    assert again["changed"] is False
    assert names(calls) == ["GetParametersByPath"]


def test_more_than_ten_parameters_are_read_in_pages_and_deleted_in_batches_of_ten(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    many = {f"output-{n:02}": f"value {n}" for n in range(23)}
    publish(many, capsys)
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)

    again = publish(many, capsys)
    purged = publish({"output-00": "value 0"}, capsys)

    assert again["changed"] is False
    assert again["parameters"] == full(many)
    assert names(calls)[:3] == ["GetParametersByPath"] * 3  # 10 + 10 + 3
    deletes = [params["Names"] for operation, params in calls if operation == "DeleteParameters"]
    assert [len(batch) for batch in deletes] == [10, 10, 2]
    assert sorted(name for batch in deletes for name in batch) == purged["deleted"]
    assert stored(ssm) == full({"output-00": "value 0"})


# --- check mode ------------------------------------------------------------------------------


def test_check_mode_create_reports_the_values_and_writes_nothing(
    ssm: Any, calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = publish(OUTPUTS, capsys, _ansible_check_mode=True, _ansible_diff=True)

    assert result["changed"] is True
    assert result["created"] == sorted(full(OUTPUTS))
    assert result["diff"] == {"before": {}, "after": full(OUTPUTS)}
    assert names(calls) == ["GetParametersByPath"]
    assert stored(ssm) == {}


def test_check_mode_modify_reports_the_change_and_writes_nothing(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(OUTPUTS, capsys)
    ssm.put_parameter(Name=f"{PATH}/extra", Value="stale", Type="String")
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)
    changed = {**OUTPUTS, "mysql/port": 3307, "redis/port": 6379}

    result = publish(changed, capsys, _ansible_check_mode=True, _ansible_diff=True)

    assert result["changed"] is True
    assert (result["created"], result["updated"], result["deleted"]) == (
        [f"{PATH}/redis/port"],
        [f"{PATH}/mysql/port"],
        [f"{PATH}/extra"],
    )
    assert result["diff"]["before"] == {**full(OUTPUTS), f"{PATH}/extra": "stale"}
    after = full({**OUTPUTS, "mysql/port": "3307", "redis/port": "6379"})
    assert result["diff"]["after"] == result["parameters"] == after
    assert names(calls) == ["GetParametersByPath"]
    assert stored(ssm) == {**full(OUTPUTS), f"{PATH}/extra": "stale"}


def test_check_mode_absent_reports_the_deletions_and_deletes_nothing(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(OUTPUTS, capsys)
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)

    result = run({"state": "absent"}, capsys, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["deleted"] == sorted(full(OUTPUTS))
    assert result["diff"] == {"before": full(OUTPUTS), "after": {}}
    assert names(calls) == ["GetParametersByPath"]
    assert stored(ssm) == full(OUTPUTS)


# --- absent ----------------------------------------------------------------------------------


def test_absent_deletes_everything_under_the_path_and_a_second_absent_only_reads(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(OUTPUTS, capsys)
    ssm.put_parameter(Name=f"{PATH}/not/listed", Value="also mine", Type="String")
    ssm.put_parameter(Name="/webstack-staging/data/mysql/port", Value="3306", Type="String")
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)

    first = run({"state": "absent"}, capsys)
    second = run({"state": "absent"}, capsys)

    assert first["changed"] is True
    assert first["deleted"] == sorted([*full(OUTPUTS), f"{PATH}/not/listed"])
    assert first["parameters"] == {}
    assert second["changed"] is False
    assert second["deleted"] == []
    assert names(calls) == ["GetParametersByPath", "DeleteParameters", "GetParametersByPath"]
    assert stored(ssm) == {}
    assert stored(ssm, "/webstack-staging") == {"/webstack-staging/data/mysql/port": "3306"}


# --- SecureString values stay hidden ----------------------------------------------------------


def test_secure_string_values_are_never_returned_or_diffed(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(OUTPUTS, capsys)
    secret = f"{PATH}/legacy/password"
    ssm.put_parameter(Name=secret, Value="hunter2-plain", Type="SecureString")
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)

    kept = publish(OUTPUTS, capsys, purge=False, _ansible_diff=True)
    purged = publish(OUTPUTS, capsys, _ansible_diff=True)

    assert kept["changed"] is False
    assert secret not in kept["parameters"]
    assert secret not in kept["diff"]["before"]
    assert purged["deleted"] == [secret]  # the name only
    assert "hunter2" not in repr(kept) + repr(purged)
    assert all(params.get("WithDecryption") is False for op, params in calls if op == "GetParametersByPath")


def test_a_wanted_name_that_is_a_secure_string_is_refused(
    ssm: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ssm.put_parameter(Name=f"{PATH}/mysql/port", Value="hunter2-plain", Type="SecureString")
    calls: Calls = []
    spy_module_clients(monkeypatch, calls)

    result = publish(OUTPUTS, capsys)

    assert result["failed"] is True
    assert f"{PATH}/mysql/port exist as SecureString" in result["msg"]
    assert "hunter2" not in repr(result)
    assert mutating(calls) == []


# --- inputs and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"path": "/", "state": "absent"}, "path '/' is not an SSM parameter path"),
        ({"path": "webstack-prod/data", "parameters": {}}, "is not an SSM parameter path"),
        ({"parameters": {"/mysql/port": "3306"}}, "'/mysql/port' is not a name relative to /webstack-prod/data"),
        ({"parameters": {"mysql/port": ""}}, "mysql/port has an empty value"),
        ({"parameters": {"mysql/port": None}}, "mysql/port has an empty value"),
        ({}, "state is present but all of the following are missing: parameters"),
    ],
)
def test_bad_inputs_fail_before_any_call(
    aws_env: None, calls: Calls, args: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(args, capsys)

    assert result["failed"] is True
    assert message in result["msg"]
    assert calls == []


def test_a_read_error_fails_with_the_path_and_the_aws_error(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with stubbed_module_client(monkeypatch, "ssm") as stub:
        stub.add_client_error(
            "get_parameters_by_path",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform ssm:GetParametersByPath",
        )
        result = publish(OUTPUTS, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to read the SSM parameters under {PATH}")
    assert "User is not authorized to perform ssm:GetParametersByPath" in result["msg"]
    assert result["error"]["code"] == "AccessDeniedException"


def test_a_write_error_names_the_parameter_and_reports_what_was_done(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with stubbed_module_client(monkeypatch, "ssm") as stub:
        stub.add_response("get_parameters_by_path", {"Parameters": []})
        stub.add_response("put_parameter", {"Version": 1, "Tier": "Standard"})
        stub.add_client_error(
            "put_parameter", service_error_code="ParameterLimitExceeded", service_message="limit reached"
        )
        result = publish({"a": "1", "b": "2"}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to create the SSM parameter {PATH}/b")
    assert result["error"]["code"] == "ParameterLimitExceeded"
    assert result["created"] == [f"{PATH}/a"]
    assert result["changed"] is True
