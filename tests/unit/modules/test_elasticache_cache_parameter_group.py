"""Unit tests of plugins/modules/elasticache_cache_parameter_group.py.

moto implements no ElastiCache parameter-group call (Create/Describe/Modify/Reset/Delete
CacheParameterGroup, DescribeCacheParameters and DescribeEngineDefaultParameters all raise
NotImplementedError), so every test runs against botocore's Stubber: each expected call is
queued with its exact parameters, and a call that was not queued fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from conftest import run_module, stubbed_module_client

MODULE = "elasticache_cache_parameter_group"
NAME = "webstack-redis7"
ARN = f"arn:aws:elasticache:us-east-1:123456789012:parametergroup:{NAME}"
GROUP = {
    "CacheParameterGroupName": NAME,
    "CacheParameterGroupFamily": "redis7",
    "Description": "Session store parameters",
    "IsGlobal": False,
    "ARN": ARN,
}
ARGS: dict[str, Any] = {
    "name": NAME,
    "family": "redis7",
    "description": "Session store parameters",
    "parameters": {"maxmemory-policy": "allkeys-lru", "timeout": 300},
    "tags": {"Project": "webstack"},
}


@pytest.fixture
def stubber(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The module's client is a stubbed one; every expected call must be queued and made."""
    with stubbed_module_client(monkeypatch, "elasticache") as stub:
        yield stub


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def parameter(name: str, value: str, source: str = "user", **extra: Any) -> dict[str, Any]:
    return {
        "ParameterName": name,
        "ParameterValue": value,
        "Source": source,
        "DataType": "string",
        "IsModifiable": True,
        "ChangeType": "immediate",
        **extra,
    }


def defaults() -> list[dict[str, Any]]:
    return [
        parameter("maxmemory-policy", "volatile-lru", "system", AllowedValues="volatile-lru,allkeys-lru,noeviction"),
        parameter("timeout", "0", "system", DataType="integer"),
        parameter("appendonly", "no", "system", AllowedValues="yes,no"),
        parameter("databases", "16", "system", DataType="integer", ChangeType="requires-reboot"),
        parameter("cluster-enabled", "no", "system", IsModifiable=False),
    ]


def configured(**values: str) -> list[dict[str, Any]]:
    """The group's parameters: the defaults, with ``values`` set by the user."""
    result = []
    for item in defaults():
        name = item["ParameterName"]
        result.append({**item, "ParameterValue": values[name], "Source": "user"} if name in values else item)
    return result


def expect_absent(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_cache_parameter_groups",
        "CacheParameterGroupNotFound",
        f"CacheParameterGroup {NAME} not found.",
        expected_params={"CacheParameterGroupName": NAME},
    )


def expect_existing(
    stub: Stubber, parameters: list[dict[str, Any]], tags: dict[str, str] | None = None, read_tags: bool = True
) -> None:
    """The reads for an existing group; the parameters come back on two pages."""
    stub.add_response(
        "describe_cache_parameter_groups", {"CacheParameterGroups": [GROUP]}, {"CacheParameterGroupName": NAME}
    )
    stub.add_response(
        "describe_cache_parameters",
        {"Parameters": parameters[:2], "Marker": "page2"},
        {"CacheParameterGroupName": NAME},
    )
    stub.add_response(
        "describe_cache_parameters",
        {"Parameters": parameters[2:]},
        {"CacheParameterGroupName": NAME, "Marker": "page2"},
    )
    if read_tags:
        tag_list = [{"Key": key, "Value": value} for key, value in (tags or {"Project": "webstack"}).items()]
        stub.add_response("list_tags_for_resource", {"TagList": tag_list}, {"ResourceName": ARN})


def expect_modify(stub: Stubber, values: dict[str, str]) -> None:
    stub.add_response(
        "modify_cache_parameter_group",
        {"CacheParameterGroupName": NAME},
        {
            "CacheParameterGroupName": NAME,
            "ParameterNameValues": [{"ParameterName": k, "ParameterValue": v} for k, v in values.items()],
        },
    )


def expect_read_back(stub: Stubber, parameters: list[dict[str, Any]]) -> None:
    """The module reads the group back after a change and fails unless AWS reports the values sent."""
    stub.add_response("describe_cache_parameters", {"Parameters": parameters}, {"CacheParameterGroupName": NAME})


def expect_defaults(stub: Stubber, params: list[dict[str, Any]] | None = None) -> None:
    stub.add_response(
        "describe_engine_default_parameters",
        {"EngineDefaults": {"CacheParameterGroupFamily": "redis7", "Parameters": params or defaults()}},
        {"CacheParameterGroupFamily": "redis7"},
    )


CONFIGURED = configured(**{"maxmemory-policy": "allkeys-lru", "timeout": "300"})


# --- create, rerun, modify, delete --------------------------------------------------------


def test_create_makes_the_group_and_sets_only_non_default_values(stubber: Stubber, capsys) -> None:
    expect_absent(stubber)
    expect_defaults(stubber)
    stubber.add_response(
        "create_cache_parameter_group",
        {"CacheParameterGroup": GROUP},
        {
            "CacheParameterGroupName": NAME,
            "CacheParameterGroupFamily": "redis7",
            "Description": "Session store parameters",
            "Tags": [{"Key": "Project", "Value": "webstack"}],
        },
    )
    expect_modify(stubber, {"maxmemory-policy": "allkeys-lru", "timeout": "300"})
    expect_read_back(stubber, CONFIGURED)

    result = run({**ARGS, "parameters": {**ARGS["parameters"], "appendonly": "no"}}, capsys)

    assert result["changed"] is True
    assert result["cache_parameter_group"]["cache_parameter_group_family"] == "redis7"
    assert result["cache_parameter_group"]["tags"] == {"Project": "webstack"}
    assert result["parameters"] == {"maxmemory-policy": "allkeys-lru", "timeout": "300"}


def test_rerun_with_the_same_values_changes_nothing(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)

    result = run(ARGS, capsys)

    assert result["changed"] is False
    assert result["parameters"] == {"maxmemory-policy": "allkeys-lru", "timeout": "300"}


def test_changed_value_sends_only_that_parameter(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, {"timeout": "600"})
    expect_read_back(stubber, configured(**{"maxmemory-policy": "allkeys-lru", "timeout": "600"}))

    result = run({**ARGS, "parameters": {"maxmemory-policy": "allkeys-lru", "timeout": 600}}, capsys)

    assert result["changed"] is True
    assert result["parameters"] == {"maxmemory-policy": "allkeys-lru", "timeout": "600"}
    assert result["parameters_requiring_reboot"] == []


def test_more_than_twenty_changes_are_sent_in_batches_of_twenty(stubber: Stubber, capsys) -> None:
    names = [f"param-{n:02}" for n in range(25)]
    expect_existing(stubber, [parameter(name, "0", "system") for name in names])
    expect_modify(stubber, {name: "1" for name in names[:20]})
    expect_modify(stubber, {name: "1" for name in names[20:]})
    expect_read_back(stubber, [parameter(name, "1") for name in names])

    result = run({**ARGS, "parameters": dict.fromkeys(names, 1)}, capsys)

    assert result["changed"] is True


def test_boolean_takes_the_form_the_parameter_allows(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, {"appendonly": "yes"})
    expect_read_back(stubber, configured(**{"maxmemory-policy": "allkeys-lru", "timeout": "300", "appendonly": "yes"}))

    result = run({**ARGS, "parameters": {**ARGS["parameters"], "appendonly": True}}, capsys)

    assert result["changed"] is True
    assert result["parameters"]["appendonly"] == "yes"


def test_parameters_left_out_stay_unless_purged(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_existing(stubber, CONFIGURED)
    stubber.add_response(
        "reset_cache_parameter_group",
        {"CacheParameterGroupName": NAME},
        {
            "CacheParameterGroupName": NAME,
            "ResetAllParameters": False,
            "ParameterNameValues": [{"ParameterName": "timeout"}],
        },
    )
    expect_read_back(stubber, configured(**{"maxmemory-policy": "allkeys-lru"}))

    kept = run({**ARGS, "parameters": {"maxmemory-policy": "allkeys-lru"}}, capsys)
    purged = run({**ARGS, "parameters": {"maxmemory-policy": "allkeys-lru"}, "purge_parameters": True}, capsys)

    assert kept["changed"] is False
    assert purged["changed"] is True
    assert purged["parameters"] == {"maxmemory-policy": "allkeys-lru"}


def test_changed_tags_go_through_the_tag_calls_only(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED, tags={"Project": "webstack", "Old": "yes"})
    stubber.add_response("remove_tags_from_resource", {"TagList": []}, {"ResourceName": ARN, "TagKeys": ["Old"]})
    stubber.add_response(
        "add_tags_to_resource", {"TagList": []}, {"ResourceName": ARN, "Tags": [{"Key": "Owner", "Value": "ops"}]}
    )

    result = run({**ARGS, "tags": {"Project": "webstack", "Owner": "ops"}}, capsys)

    assert result["changed"] is True
    assert result["cache_parameter_group"]["tags"] == {"Project": "webstack", "Owner": "ops"}


def test_reboot_only_parameters_are_listed_and_warned_about(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, {"databases": "32"})
    expect_read_back(stubber, configured(**{"maxmemory-policy": "allkeys-lru", "timeout": "300", "databases": "32"}))

    result = run({**ARGS, "parameters": {**ARGS["parameters"], "databases": 32}}, capsys)

    assert result["parameters_requiring_reboot"] == ["databases"]
    assert "apply databases only after a reboot" in json.dumps(result["warnings"])


def test_delete_removes_the_group(stubber: Stubber, capsys) -> None:
    stubber.add_response(
        "describe_cache_parameter_groups", {"CacheParameterGroups": [GROUP]}, {"CacheParameterGroupName": NAME}
    )
    stubber.add_response("delete_cache_parameter_group", {}, {"CacheParameterGroupName": NAME})

    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["changed"] is True
    assert result["cache_parameter_group"] == {}


def test_delete_of_an_absent_group_changes_nothing(stubber: Stubber, capsys) -> None:
    expect_absent(stubber)

    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["changed"] is False


# --- check mode and diff ------------------------------------------------------------------


def test_check_mode_create_reads_only_and_reports_changed(stubber: Stubber, capsys) -> None:
    expect_absent(stubber)
    expect_defaults(stubber)

    result = run(ARGS, capsys, check_mode=True)

    assert result["changed"] is True
    assert result["parameters"] == {"maxmemory-policy": "allkeys-lru", "timeout": "300"}


def test_check_mode_modify_and_delete_read_only_and_report_changed(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    stubber.add_response(
        "describe_cache_parameter_groups", {"CacheParameterGroups": [GROUP]}, {"CacheParameterGroupName": NAME}
    )

    modify = run({**ARGS, "parameters": {"timeout": 0}, "purge_parameters": True, "tags": {}}, capsys, check_mode=True)
    delete = run({"name": NAME, "state": "absent"}, capsys, check_mode=True)

    assert (modify["changed"], delete["changed"]) == (True, True)


def test_diff_shows_the_parameter_before_and_after(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, {"maxmemory-policy": "noeviction"})
    expect_read_back(stubber, configured(**{"maxmemory-policy": "noeviction", "timeout": "300"}))

    result = run({**ARGS, "parameters": {**ARGS["parameters"], "maxmemory-policy": "noeviction"}}, capsys, diff=True)

    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["parameters"] == {"maxmemory-policy": "allkeys-lru", "timeout": "300"}
    assert after["parameters"] == {"maxmemory-policy": "noeviction", "timeout": "300"}
    assert {key: before[key] for key in ("family", "description", "tags")} == {
        key: after[key] for key in ("family", "description", "tags")
    }


def test_diff_of_a_create_starts_empty(stubber: Stubber, capsys) -> None:
    expect_absent(stubber)
    expect_defaults(stubber)

    result = run(ARGS, capsys, check_mode=True, diff=True)

    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["family"] == "redis7"
    assert result["diff"]["after"]["parameters"] == {"maxmemory-policy": "allkeys-lru", "timeout": "300"}


# --- validation and AWS errors ------------------------------------------------------------


def test_unknown_parameter_fails_naming_it_before_creating(stubber: Stubber, capsys) -> None:
    expect_absent(stubber)
    expect_defaults(stubber)

    result = run({**ARGS, "parameters": {"maxmemory-polcy": "allkeys-lru"}}, capsys)

    assert result["failed"] is True
    assert result["msg"] == "parameters: 'maxmemory-polcy' is not a parameter of family redis7"


def test_unmodifiable_parameter_fails_naming_it(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED, read_tags=False)

    result = run({**ARGS, "parameters": {"cluster-enabled": "yes"}}, capsys)

    assert result["failed"] is True
    assert "'cluster-enabled' cannot be modified" in result["msg"]


def test_other_family_fails_naming_live_and_wanted(stubber: Stubber, capsys) -> None:
    stubber.add_response(
        "describe_cache_parameter_groups", {"CacheParameterGroups": [GROUP]}, {"CacheParameterGroupName": NAME}
    )

    result = run({**ARGS, "family": "valkey8"}, capsys)

    assert result["failed"] is True
    assert "family (live: 'redis7', wanted: 'valkey8')" in result["msg"]


@pytest.mark.parametrize("option", ["family", "description"])
def test_create_without_family_or_description_fails_naming_it(stubber: Stubber, capsys, option: str) -> None:
    expect_absent(stubber)

    result = run({**ARGS, option: None}, capsys)

    assert result["failed"] is True
    assert result["msg"] == f"{option} is required to create cache parameter group {NAME}"


def test_aws_error_becomes_a_failed_result_with_its_message(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    stubber.add_client_error(
        "modify_cache_parameter_group",
        service_error_code="InvalidParameterValue",
        service_message="Value 'x' is not valid for timeout",
    )

    result = run({**ARGS, "parameters": {"timeout": "x"}}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to set parameters ['timeout'] of {NAME}: ")
    assert result["msg"].endswith("Value 'x' is not valid for timeout")
    assert result["error"]["code"] == "InvalidParameterValue"


def test_group_in_use_cannot_be_deleted_and_says_so(stubber: Stubber, capsys) -> None:
    stubber.add_response(
        "describe_cache_parameter_groups", {"CacheParameterGroups": [GROUP]}, {"CacheParameterGroupName": NAME}
    )
    stubber.add_client_error(
        "delete_cache_parameter_group",
        service_error_code="InvalidCacheParameterGroupState",
        service_message="Parameter group is in use",
    )

    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["failed"] is True
    assert "Failed to delete cache parameter group" in result["msg"]
    assert "in use" in json.dumps(result)
