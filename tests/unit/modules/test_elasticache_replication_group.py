"""Unit tests of plugins/modules/elasticache_replication_group.py.

moto answers Create/Describe/Modify/DeleteReplicationGroup and the tag calls; it does not
implement IncreaseReplicaCount, DecreaseReplicaCount, nor the member cache clusters
(DescribeCacheClusters says CacheClusterNotFound), so those paths run against botocore's Stubber.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from conftest import run_module, spy_module_clients, stubbed_module_client
from moto import mock_aws

MODULE = "elasticache_replication_group"
GROUP_ID = "webstack-sessions"
ARN = f"arn:aws:elasticache:us-east-1:123456789012:replicationgroup:{GROUP_ID}"
TOKEN = "s3cret-auth-token-0123456789"  # noqa: S105 - a test value
MUTATING_PREFIXES = ("Create", "Modify", "Delete", "Increase", "Decrease", "AddTags", "RemoveTags")

BASE_ARGS: dict[str, Any] = {
    "replication_group_id": GROUP_ID,
    "description": "Session store",
    "engine": "redis",
    "node_type": "cache.t4g.small",
    "replicas_per_node_group": 1,
    "automatic_failover": True,
    "multi_az": True,
    "at_rest_encryption": True,
    "transit_encryption": True,
    "port": 6380,
    "snapshot_window": "03:00-04:00",
    "snapshot_retention_limit": 3,
    "tags": {"Project": "webstack", "Layer": "data"},
}


# --- harness ------------------------------------------------------------------------------


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every ElastiCache call the module makes, as (operation, parameters)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    spy_module_clients(monkeypatch, calls)
    return calls


def mutating(calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [call for call in calls if call[0].startswith(MUTATING_PREFIXES)]


@pytest.fixture
def moto(aws_env: None, api_calls: list) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def stubber(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The module's client is a stubbed one; every expected call must be queued and made."""
    with stubbed_module_client(monkeypatch, "elasticache") as stub:
        yield stub


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def create_group(capsys: pytest.CaptureFixture[str], api_calls: list, **overrides: Any) -> dict[str, Any]:
    result = run({**BASE_ARGS, **overrides}, capsys)
    assert result["changed"] is True, result
    api_calls.clear()
    return result


# --- stubbed responses --------------------------------------------------------------------


def member(cluster_id: str, role: str) -> dict[str, Any]:
    return {"CacheClusterId": cluster_id, "CacheNodeId": "0001", "CurrentRole": role}


def stub_group(replicas: int = 1, failover: str = "enabled", multi_az: str = "enabled") -> dict[str, Any]:
    members = [member(f"{GROUP_ID}-001", "primary")]
    members += [member(f"{GROUP_ID}-{n + 2:03}", "replica") for n in range(replicas)]
    return {
        "ReplicationGroupId": GROUP_ID,
        "Description": "Session store",
        "Status": "available",
        "MemberClusters": [m["CacheClusterId"] for m in members],
        "NodeGroups": [
            {
                "NodeGroupId": "0001",
                "Status": "available",
                "PrimaryEndpoint": {"Address": "master.example", "Port": 6380},
                "NodeGroupMembers": members,
            }
        ],
        "AutomaticFailover": failover,
        "MultiAZ": multi_az,
        "SnapshotRetentionLimit": 3,
        "SnapshotWindow": "03:00-04:00",
        "CacheNodeType": "cache.t4g.small",
        "AuthTokenEnabled": False,
        "TransitEncryptionEnabled": True,
        "AtRestEncryptionEnabled": True,
        "ARN": ARN,
        "Engine": "redis",
    }


def stub_cluster() -> dict[str, Any]:
    return {
        "CacheClusterId": f"{GROUP_ID}-001",
        "EngineVersion": "7.1.0",
        "CacheSubnetGroupName": "webstack-data",
        "SecurityGroups": [
            {"SecurityGroupId": "sg-b", "Status": "active"},
            {"SecurityGroupId": "sg-a", "Status": "active"},
        ],
        "CacheParameterGroup": {"CacheParameterGroupName": "webstack-redis7", "ParameterApplyStatus": "in-sync"},
        "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
    }


def expect_read(stub: Stubber, group: dict[str, Any], cluster: dict[str, Any] | None = None) -> None:
    """The reads the module starts with: the group, its tags, its primary cluster."""
    stub.add_response("describe_replication_groups", {"ReplicationGroups": [group]}, {"ReplicationGroupId": GROUP_ID})
    stub.add_response("list_tags_for_resource", {"TagList": []}, {"ResourceName": ARN})
    stub.add_response(
        "describe_cache_clusters", {"CacheClusters": [cluster or stub_cluster()]}, {"CacheClusterId": f"{GROUP_ID}-001"}
    )


def expect_result_read(stub: Stubber, group: dict[str, Any]) -> None:
    stub.add_response("describe_replication_groups", {"ReplicationGroups": [group]}, {"ReplicationGroupId": GROUP_ID})
    stub.add_response("list_tags_for_resource", {"TagList": []}, {"ResourceName": ARN})


STUB_ARGS: dict[str, Any] = {"replication_group_id": GROUP_ID, "wait": False}


# --- create, rerun, modify, delete (moto) ------------------------------------------------


def test_create_makes_the_group_with_replica_failover_and_tags(moto: None, api_calls: list, capsys) -> None:
    result = run({**BASE_ARGS, "auth_token": TOKEN, "engine_version": "7.1"}, capsys)

    assert result["changed"] is True
    group = result["replication_group"]
    assert group["replication_group_id"] == GROUP_ID
    assert group["member_clusters"] == [f"{GROUP_ID}-001", f"{GROUP_ID}-002"]
    assert (group["automatic_failover"], group["multi_az"]) == ("enabled", "enabled")
    assert group["transit_encryption_enabled"] is True
    assert group["auth_token_enabled"] is True
    assert group["tags"] == {"Project": "webstack", "Layer": "data"}
    [(operation, request)] = mutating(api_calls)
    assert operation == "CreateReplicationGroup"
    assert request["ReplicasPerNodeGroup"] == 1
    assert request["Port"] == 6380
    assert request["AuthToken"] == TOKEN


def test_create_defaults_the_engine_to_redis(moto: None, api_calls: list, capsys) -> None:
    args = {key: value for key, value in BASE_ARGS.items() if key != "engine"}

    result = run(args, capsys)

    assert result["replication_group"]["engine"] == "redis"
    assert mutating(api_calls)[0][1]["Engine"] == "redis"


def test_rerun_with_the_same_options_changes_nothing(moto: None, api_calls: list, capsys) -> None:
    create_group(capsys, api_calls)

    result = run(BASE_ARGS, capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


def test_changed_description_sends_only_that_field(moto: None, api_calls: list, capsys) -> None:
    create_group(capsys, api_calls)

    result = run({**BASE_ARGS, "description": "Sessions and carts"}, capsys)

    assert result["changed"] is True
    assert result["replication_group"]["description"] == "Sessions and carts"
    assert mutating(api_calls) == [
        (
            "ModifyReplicationGroup",
            {
                "ReplicationGroupId": GROUP_ID,
                "ApplyImmediately": False,
                "ReplicationGroupDescription": "Sessions and carts",
            },
        )
    ]


def test_changed_tags_go_through_the_tag_calls_only(moto: None, api_calls: list, capsys) -> None:
    create_group(capsys, api_calls)

    result = run({**BASE_ARGS, "tags": {"Project": "webstack", "Owner": "ops"}}, capsys)

    assert result["changed"] is True
    assert result["replication_group"]["tags"] == {"Project": "webstack", "Owner": "ops"}
    assert mutating(api_calls) == [
        ("RemoveTagsFromResource", {"ResourceName": ARN, "TagKeys": ["Layer"]}),
        ("AddTagsToResource", {"ResourceName": ARN, "Tags": [{"Key": "Owner", "Value": "ops"}]}),
    ]


def test_delete_removes_the_group_with_a_final_snapshot(moto: None, api_calls: list, capsys) -> None:
    create_group(capsys, api_calls)

    args = {"replication_group_id": GROUP_ID, "state": "absent", "final_snapshot_identifier": "last", "wait": False}
    result = run(args, capsys)

    assert result["changed"] is True
    assert result["replication_group"] == {}
    assert mutating(api_calls) == [
        ("DeleteReplicationGroup", {"ReplicationGroupId": GROUP_ID, "FinalSnapshotIdentifier": "last"})
    ]
    status = boto3.client("elasticache").describe_replication_groups(ReplicationGroupId=GROUP_ID)
    assert status["ReplicationGroups"][0]["Status"] == "deleting"


def test_delete_of_an_absent_group_changes_nothing(moto: None, api_calls: list, capsys) -> None:
    result = run({"replication_group_id": GROUP_ID, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


def test_delete_of_a_group_being_deleted_changes_nothing(moto: None, api_calls: list, capsys) -> None:
    create_group(capsys, api_calls)
    boto3.client("elasticache").delete_replication_group(ReplicationGroupId=GROUP_ID)

    result = run({"replication_group_id": GROUP_ID, "state": "absent", "wait": False}, capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


# --- check mode and diff (moto) ----------------------------------------------------------


def test_check_mode_create_reports_changed_and_calls_nothing(moto: None, api_calls: list, capsys) -> None:
    result = run(BASE_ARGS, capsys, check_mode=True)

    assert result["changed"] is True
    assert mutating(api_calls) == []
    assert boto3.client("elasticache").describe_replication_groups()["ReplicationGroups"] == []


def test_check_mode_modify_and_delete_report_changed_and_call_nothing(moto: None, api_calls: list, capsys) -> None:
    create_group(capsys, api_calls)

    modify = run({**BASE_ARGS, "snapshot_retention_limit": 7, "tags": {}}, capsys, check_mode=True)
    delete = run({"replication_group_id": GROUP_ID, "state": "absent"}, capsys, check_mode=True)

    assert (modify["changed"], delete["changed"]) == (True, True)
    assert mutating(api_calls) == []
    live = boto3.client("elasticache").describe_replication_groups(ReplicationGroupId=GROUP_ID)["ReplicationGroups"][0]
    assert (live["SnapshotRetentionLimit"], live["Status"]) == (3, "available")


def test_diff_shows_the_attribute_before_and_after(moto: None, api_calls: list, capsys) -> None:
    create_group(capsys, api_calls)

    result = run({**BASE_ARGS, "snapshot_retention_limit": 7}, capsys, diff=True)

    before, after = result["diff"]["before"], result["diff"]["after"]
    assert (before["snapshot_retention_limit"], after["snapshot_retention_limit"]) == (3, 7)
    assert {key for key in before if before[key] != after.get(key)} == {"snapshot_retention_limit"}


def test_diff_of_a_create_starts_empty(moto: None, api_calls: list, capsys) -> None:
    result = run(BASE_ARGS, capsys, diff=True, check_mode=True)

    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["replicas_per_node_group"] == 1
    assert result["diff"]["after"]["tags"] == BASE_ARGS["tags"]


# --- immutable attributes and cross-field rules ------------------------------------------


@pytest.mark.parametrize(
    ("option", "live", "wanted"),
    [("port", 6380, 6381), ("at_rest_encryption", True, False), ("transit_encryption", True, False)],
)
def test_immutable_attribute_change_fails_naming_live_and_wanted(
    moto: None, api_calls: list, capsys, option: str, live: Any, wanted: Any
) -> None:
    create_group(capsys, api_calls)

    args = {**BASE_ARGS, option: wanted}
    if option == "transit_encryption":
        args.pop("auth_token", None)
    result = run(args, capsys)

    assert result["failed"] is True
    assert f"{option} (live: {live!r}, wanted: {wanted!r})" in result["msg"]
    assert mutating(api_calls) == []


def test_immutable_subnet_group_read_from_the_primary_cluster(stubber: Stubber, capsys) -> None:
    expect_read(stubber, stub_group())

    result = run({**STUB_ARGS, "cache_subnet_group_name": "other-subnets"}, capsys)

    assert result["failed"] is True
    assert "cache_subnet_group_name (live: 'webstack-data', wanted: 'other-subnets')" in result["msg"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"replicas_per_node_group": 0, "multi_az": False},
            "automatic_failover=true needs replicas_per_node_group >= 1",
        ),
        (
            {"replicas_per_node_group": 0, "automatic_failover": False},
            "multi_az=true needs replicas_per_node_group >= 1",
        ),
        ({"automatic_failover": False}, "multi_az=true needs automatic_failover=true"),
        ({"transit_encryption": False, "auth_token": TOKEN}, "auth_token needs transit_encryption=true"),
        ({"description": None}, "description is required to create replication group"),
    ],
)
def test_invalid_combination_fails_naming_the_option(
    moto: None, api_calls: list, capsys, overrides: dict[str, Any], message: str
) -> None:
    result = run({**BASE_ARGS, **overrides}, capsys)

    assert result["failed"] is True
    assert message in result["msg"]
    assert TOKEN not in json.dumps(result)
    assert mutating(api_calls) == []


def test_rules_apply_to_the_live_values_too(moto: None, api_calls: list, capsys) -> None:
    create_group(capsys, api_calls)

    result = run({"replication_group_id": GROUP_ID, "automatic_failover": False}, capsys)

    assert result["failed"] is True
    assert "multi_az=true needs automatic_failover=true" in result["msg"]


def test_token_strategy_without_token_fails(moto: None, api_calls: list, capsys) -> None:
    result = run({**BASE_ARGS, "auth_token_update_strategy": "rotate"}, capsys)

    assert result["failed"] is True
    assert "auth_token_update_strategy" in result["msg"] and "auth_token" in result["msg"]


# --- the AUTH token -----------------------------------------------------------------------


def test_auth_token_is_never_in_the_output(moto: None, api_calls: list, capsys) -> None:
    args = {**BASE_ARGS, "auth_token": TOKEN}
    created = run(args, capsys, diff=True)
    rerun = run(args, capsys, diff=True)
    rotated = run({**args, "auth_token_update_strategy": "rotate"}, capsys, diff=True)

    assert (created["changed"], rerun["changed"], rotated["changed"]) == (True, False, True)
    for result in (created, rerun, rotated):
        assert TOKEN not in json.dumps(result)
    assert rotated["diff"]["after"]["auth_token_update_strategy"] == "rotate"  # noqa: S105 - not a password
    modify = [request for operation, request in api_calls if operation == "ModifyReplicationGroup"]
    assert modify == [
        {
            "ReplicationGroupId": GROUP_ID,
            "ApplyImmediately": False,
            "AuthToken": TOKEN,
            "AuthTokenUpdateStrategy": "ROTATE",
        }
    ]


# --- replica count and cluster-level attributes (Stubber) --------------------------------


def test_more_replicas_call_increase_replica_count_only(stubber: Stubber, capsys) -> None:
    expect_read(stubber, stub_group(replicas=1))
    stubber.add_response(
        "increase_replica_count",
        {"ReplicationGroup": stub_group(replicas=2)},
        {"ReplicationGroupId": GROUP_ID, "NewReplicaCount": 2, "ApplyImmediately": True},
    )
    expect_result_read(stubber, stub_group(replicas=2))

    result = run({**STUB_ARGS, "replicas_per_node_group": 2, "automatic_failover": True}, capsys, diff=True)

    assert result["changed"] is True
    assert (
        result["diff"]["before"]["replicas_per_node_group"],
        result["diff"]["after"]["replicas_per_node_group"],
    ) == (
        1,
        2,
    )


def test_dropping_the_last_replica_disables_failover_first(stubber: Stubber, capsys) -> None:
    expect_read(stubber, stub_group(replicas=1))
    modify = {"ReplicationGroupId": GROUP_ID, "ApplyImmediately": False}
    modify |= {"AutomaticFailoverEnabled": False, "MultiAZEnabled": False}
    stubber.add_response("modify_replication_group", {"ReplicationGroup": stub_group()}, modify)
    stubber.add_response(  # the waiter between the two calls
        "describe_replication_groups", {"ReplicationGroups": [stub_group()]}, {"ReplicationGroupId": GROUP_ID}
    )
    stubber.add_response(
        "decrease_replica_count",
        {"ReplicationGroup": stub_group(replicas=0)},
        {"ReplicationGroupId": GROUP_ID, "NewReplicaCount": 0, "ApplyImmediately": True},
    )
    expect_result_read(stubber, stub_group(replicas=0, failover="disabled", multi_az="disabled"))

    args = {**STUB_ARGS, "replicas_per_node_group": 0, "automatic_failover": False, "multi_az": False}
    result = run(args, capsys)

    assert result["changed"] is True


def test_cluster_level_values_are_normalised_before_comparing(stubber: Stubber, capsys) -> None:
    expect_read(stubber, stub_group())

    args = {
        **STUB_ARGS,
        "engine_version": "7.1",
        "security_group_ids": ["sg-a", "sg-b"],
        "preferred_maintenance_window": "Sun:05:00-Sun:06:00",
        "cache_parameter_group_name": "webstack-redis7",
        "cache_subnet_group_name": "webstack-data",
    }
    result = run(args, capsys)

    assert result["changed"] is False


def test_new_engine_version_sends_only_engine_version(stubber: Stubber, capsys) -> None:
    expect_read(stubber, stub_group())
    stubber.add_response(
        "modify_replication_group",
        {"ReplicationGroup": stub_group()},
        {"ReplicationGroupId": GROUP_ID, "ApplyImmediately": True, "EngineVersion": "7.2"},
    )
    expect_result_read(stubber, stub_group())

    result = run({**STUB_ARGS, "engine_version": "7.2", "apply_immediately": True}, capsys)

    assert result["changed"] is True


# --- AWS errors ---------------------------------------------------------------------------


def test_aws_error_becomes_a_failed_result_with_its_message(stubber: Stubber, capsys) -> None:
    stubber.add_client_error(
        "describe_replication_groups",
        "ReplicationGroupNotFoundFault",
        "not found",
        expected_params={"ReplicationGroupId": GROUP_ID},
    )
    stubber.add_client_error(
        "create_replication_group",
        service_error_code="InvalidParameterCombination",
        service_message="Cache node type cache.t1.micro does not support encryption",
    )

    result = run({**BASE_ARGS, **STUB_ARGS, "node_type": "cache.t1.micro"}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to create replication group {GROUP_ID}")
    assert "does not support encryption" in result["msg"]
    assert result["error"]["code"] == "InvalidParameterCombination"
