"""The data layer of both environments, as the emulator reports it.

Runs after test_network.py in its own emulator state: provisions prod and
staging (network and data), checks RDS, ElastiCache, the secrets and the SSM
outputs, reruns, and tears staging down.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Emulator, inventory_vars, mutating, only_layers, run_playbook, tags

pytestmark = pytest.mark.integration

# This file tests its own layers; the others have their own test files.
LAYERS = only_layers("network", "data")

PROD = inventory_vars("prod")
STAGING = inventory_vars("staging")
RUNS: dict[str, str] = {}
REQUESTS: dict[str, list[str]] = {}


def instance(fresh: Emulator, identifier: str) -> dict[str, Any]:
    return fresh.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def group(fresh: Emulator, identifier: str) -> dict[str, Any]:
    elasticache = fresh.client("elasticache")
    return elasticache.describe_replication_groups(ReplicationGroupId=identifier)["ReplicationGroups"][0]


def secret_value(fresh: Emulator, name: str) -> str:
    return fresh.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def parameter(fresh: Emulator, name: str) -> str:
    return fresh.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]


@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_provision(fresh: Emulator, inventory: str) -> None:
    mark = fresh.mark()
    run = run_playbook(fresh, f"inventories/{inventory}", "provision.yml", *LAYERS, "--diff")
    assert run.returncode == 0, run.output
    RUNS[inventory] = run.output
    REQUESTS[inventory] = [request["action"] for request in fresh.since(mark)]


def test_long_creations_start_together_and_are_awaited_at_the_end() -> None:
    actions = REQUESTS["prod"]
    assert actions.index("CreateDBInstance") < actions.index("CreateReplicationGroup")
    assert actions.index("CreateReplicationGroup") < actions.index("CreateDBInstanceReadReplica")
    output = " ".join(RUNS["prod"].split())
    started_redis = output.index("TASK [data : Ensure the Redis replication group exists")
    first_wait = output.index("TASK [data : Wait for the primary to become available before its replica can start")
    waits = [
        "Wait for the RDS primary to become available: webstack-prod-mysql, up to 60 min, a look every 30 s",
        "Wait for the read replica to become available: webstack-prod-mysql-replica, up to 60 min",
        "Wait for Redis to become available: webstack-prod-redis, up to 60 min",
    ]
    # Redis is started before the play waits for anything; the waits name what and how long.
    assert started_redis < first_wait < min(output.index(wait) for wait in waits)
    assert "Waiting (up to 60 min each) for RDS primary webstack-prod-mysql, read replica" in output


def test_prod_mysql_is_multi_az_encrypted_private_and_protected(fresh: Emulator) -> None:
    primary = instance(fresh, "webstack-prod-mysql")
    assert primary["Engine"] == "mysql"
    assert primary["EngineVersion"] == PROD["data_mysql_engine_version"]
    assert primary["DBInstanceClass"] == PROD["data_mysql_instance_class"]
    assert primary["MultiAZ"] is True
    assert primary["StorageEncrypted"] is True
    assert primary["PubliclyAccessible"] is False
    assert primary["DeletionProtection"] is True
    assert primary["BackupRetentionPeriod"] == PROD["data_mysql_backup_retention_days"]
    assert primary["PreferredBackupWindow"] == PROD["data_mysql_backup_window"]
    assert primary["PreferredMaintenanceWindow"] == PROD["data_mysql_maintenance_window"]
    assert primary["DBSubnetGroup"]["DBSubnetGroupName"] == "webstack-prod-data"
    ec2 = fresh.client("ec2")
    (mysql_sg,) = ec2.describe_security_groups(GroupNames=["webstack-prod-mysql"])["SecurityGroups"]
    assert [g["VpcSecurityGroupId"] for g in primary["VpcSecurityGroups"]] == [mysql_sg["GroupId"]]
    subnets = {s["SubnetIdentifier"] for s in primary["DBSubnetGroup"]["Subnets"]}
    data_subnets = ec2.describe_subnets(
        Filters=[{"Name": "tag:Environment", "Values": ["Production"]}, {"Name": "tag:Tier", "Values": ["data"]}]
    )["Subnets"]
    assert subnets == {s["SubnetId"] for s in data_subnets}
    assert tags({"Tags": primary["TagList"]})["Environment"] == "Production"


def test_prod_read_replica_runs_in_another_az(fresh: Emulator) -> None:
    primary = instance(fresh, "webstack-prod-mysql")
    replica = instance(fresh, "webstack-prod-mysql-replica")
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == "webstack-prod-mysql"
    assert replica["AvailabilityZone"] != primary["AvailabilityZone"]
    assert replica["AvailabilityZone"] in PROD["webstack_azs"]
    assert replica["StorageEncrypted"] is True
    assert replica["PubliclyAccessible"] is False


def test_staging_mysql_is_single_az_small_and_unprotected(fresh: Emulator) -> None:
    primary = instance(fresh, "webstack-staging-mysql")
    assert primary["MultiAZ"] is False
    assert primary["AvailabilityZone"] == STAGING["webstack_azs"][0]
    assert primary["DBInstanceClass"] == STAGING["data_mysql_instance_class"]
    assert primary["StorageEncrypted"] is True
    assert primary["PubliclyAccessible"] is False
    assert primary["DeletionProtection"] is False
    ids = [i["DBInstanceIdentifier"] for i in fresh.client("rds").describe_db_instances()["DBInstances"]]
    assert "webstack-staging-mysql-replica" not in ids


def test_prod_redis_fails_over_across_azs_with_encryption_and_auth(fresh: Emulator) -> None:
    redis = group(fresh, "webstack-prod-redis")
    assert redis["AutomaticFailover"] == "enabled"
    assert redis["MultiAZ"] == "enabled"
    assert redis["AtRestEncryptionEnabled"] is True
    assert redis["TransitEncryptionEnabled"] is True
    assert redis["AuthTokenEnabled"] is True
    assert len(redis["NodeGroups"][0]["NodeGroupMembers"]) == 1 + PROD["data_redis_replicas"]
    assert redis["CacheNodeType"] == PROD["data_redis_node_type"]


def test_staging_redis_is_one_node(fresh: Emulator) -> None:
    redis = group(fresh, "webstack-staging-redis")
    assert len(redis["NodeGroups"][0]["NodeGroupMembers"]) == 1
    assert redis["AutomaticFailover"] == "disabled"
    assert redis["AtRestEncryptionEnabled"] is True
    assert redis["TransitEncryptionEnabled"] is True
    assert redis["AuthTokenEnabled"] is True


@pytest.mark.parametrize("prefix", ["webstack-prod", "webstack-staging"])
def test_secrets_exist_and_never_appear_in_the_output(fresh: Emulator, prefix: str) -> None:
    mysql = json.loads(secret_value(fresh, f"{prefix}/mysql/master"))
    token = secret_value(fresh, f"{prefix}/redis/auth-token")
    assert mysql["username"] == "admin"
    assert len(mysql["password"]) == 32
    assert len(token) == 64
    for output in RUNS.values():
        assert mysql["password"] not in output
        assert token not in output


@pytest.mark.parametrize("env", [PROD, STAGING], ids=["prod", "staging"])
def test_outputs_are_published_in_ssm(fresh: Emulator, env: dict[str, Any]) -> None:
    prefix = env["webstack_prefix"]
    primary = instance(fresh, f"{prefix}-mysql")
    redis = group(fresh, f"{prefix}-redis")
    path = f"/{prefix}/data"
    assert parameter(fresh, f"{path}/mysql/writer-endpoint") == primary["Endpoint"]["Address"]
    reader = instance(fresh, f"{prefix}-mysql-replica") if env["data_mysql_read_replica"] else primary
    assert parameter(fresh, f"{path}/mysql/reader-endpoint") == reader["Endpoint"]["Address"]
    assert parameter(fresh, f"{path}/mysql/port") == "3306"
    assert parameter(fresh, f"{path}/mysql/secret-name") == f"{prefix}/mysql/master"
    assert parameter(fresh, f"{path}/redis/primary-endpoint") == redis["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    assert parameter(fresh, f"{path}/redis/secret-name") == f"{prefix}/redis/auth-token"


@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_second_run_changes_nothing_and_keeps_the_secrets(fresh: Emulator, inventory: str) -> None:
    prefix = f"webstack-{inventory}"
    before = (secret_value(fresh, f"{prefix}/mysql/master"), secret_value(fresh, f"{prefix}/redis/auth-token"))
    mark = fresh.mark()
    run = run_playbook(fresh, f"inventories/{inventory}", "provision.yml", *LAYERS)
    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert mutating(fresh.since(mark)) == []
    after = (secret_value(fresh, f"{prefix}/mysql/master"), secret_value(fresh, f"{prefix}/redis/auth-token"))
    assert after == before


def test_staging_teardown_removes_the_data_layer_and_spares_prod(fresh: Emulator) -> None:
    run = run_playbook(fresh, "inventories/staging", "teardown.yml")
    assert run.returncode == 0, run.output
    rds = fresh.client("rds")
    ids = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    assert ids == ["webstack-prod-mysql", "webstack-prod-mysql-replica"] or sorted(ids) == sorted(
        ["webstack-prod-mysql", "webstack-prod-mysql-replica"]
    )
    groups = fresh.client("elasticache").describe_replication_groups()["ReplicationGroups"]
    live = [g["ReplicationGroupId"] for g in groups if g["Status"] != "deleting"]
    assert live == ["webstack-prod-redis"]
    names = [s["Name"] for s in fresh.client("secretsmanager").list_secrets()["SecretList"]]
    assert not [n for n in names if n.startswith("webstack-staging/")]
    ssm = fresh.client("ssm").get_parameters_by_path(Path="/webstack-staging", Recursive=True)["Parameters"]
    assert ssm == []
    assert parameter(fresh, "/webstack-prod/data/mysql/secret-name") == "webstack-prod/mysql/master"


def test_prod_teardown_without_confirmation_touches_nothing(fresh: Emulator) -> None:
    mark = fresh.mark()
    run = run_playbook(fresh, "inventories/prod", "teardown.yml")
    assert run.returncode != 0
    assert "confirm_teardown" in run.output
    assert mutating(fresh.since(mark)) == []
    assert instance(fresh, "webstack-prod-mysql")["DeletionProtection"] is True


def test_prod_teardown_with_confirmation_takes_a_final_snapshot(fresh: Emulator) -> None:
    run = run_playbook(fresh, "inventories/prod", "teardown.yml", "-e", "confirm_teardown=webstack-prod")
    assert run.returncode == 0, run.output
    rds = fresh.client("rds")
    assert rds.describe_db_instances()["DBInstances"] == []
    snapshots = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["DBInstanceIdentifier"] for s in snapshots] == ["webstack-prod-mysql"]
    assert snapshots[0]["DBSnapshotIdentifier"].startswith("webstack-prod-mysql-final-")
