"""The data layer of both environments, as the emulator reports it (the shared deployment, stack.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import Emulator, changed_tasks, inventory_vars, mutating, only_layers, run_playbook, tags
from .stack import Stack, data_layer

pytestmark = pytest.mark.integration

PROD = inventory_vars("prod")
STAGING = inventory_vars("staging")


def instance(aws: Any, identifier: str) -> dict[str, Any]:
    return aws.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def group(aws: Any, identifier: str) -> dict[str, Any]:
    elasticache = aws.client("elasticache")
    return elasticache.describe_replication_groups(ReplicationGroupId=identifier)["ReplicationGroups"][0]


def secret_value(aws: Any, name: str) -> str:
    return aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def parameter(aws: Any, name: str) -> str:
    return aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]


def backup_plan_ids(aws: Any, prefix: str) -> list[str]:
    plans = aws.client("backup").list_backup_plans()["BackupPlansList"]
    return [p["BackupPlanId"] for p in plans if p["BackupPlanName"].startswith(f"{prefix}-")]


def backup_vaults(aws: Any, prefix: str) -> list[str]:
    vaults = aws.client("backup").list_backup_vaults()["BackupVaultList"]
    return [v["BackupVaultName"] for v in vaults if v["BackupVaultName"].startswith(f"{prefix}-")]


def role_names(aws: Any) -> list[str]:
    return [role["RoleName"] for role in aws.client("iam").list_roles()["Roles"]]


BACKUP_TASKS = [
    "Ensure the backup vault's KMS key exists, with yearly rotation",
    "Ensure the backup vault exists, encrypted with the environment's key",
    "Ensure AWS Backup's service role exists, for this account only",
    "Ensure the daily backup plan keeps each recovery point for data_backup_retention_days",
    "Report the selection a check-mode run would create with the plan",
]


# On an empty account the data layer predicts against stand-ins (lookup.yml): its AWS Backup tasks report
# what the first run creates, the selection included, without a write.
def test_check_mode_predicts_prod_aws_backup_and_writes_nothing(empty_account: Emulator) -> None:
    mark = empty_account.mark()

    run = run_playbook(empty_account, "inventories/prod", "provision.yml", *only_layers("data"), "--check", "--diff")

    assert run.returncode == 0, run.output[-5000:]
    changed = " ".join(changed_tasks(run.output, "data"))
    assert [task for task in BACKUP_TASKS if task not in changed] == []
    assert "would name arn:aws:rds:us-east-1:123456789012:db:webstack-prod-mysql" in " ".join(run.output.split())
    assert mutating(empty_account.since(mark)) == []


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_provision_builds_the_data_layer(stack: Stack, inventory: str) -> None:
    run = stack.runs[f"provision-{inventory}"]
    assert run.returncode == 0, run.output
    assert changed_tasks(run.output, "data")


@pytest.mark.stack("deploy")
def test_long_creations_start_together_and_are_awaited_at_the_end(stack: Stack) -> None:
    actions = [request["action"] for request in stack.runs["provision-prod"].requests]
    assert actions.index("CreateDBInstance") < actions.index("CreateReplicationGroup")
    assert actions.index("CreateReplicationGroup") < actions.index("CreateDBInstanceReadReplica")
    output = " ".join(stack.runs["provision-prod"].output.split())
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


@pytest.mark.stack("deploy")
def test_prod_mysql_is_multi_az_encrypted_private_and_protected(stack: Stack) -> None:
    primary = instance(stack, "webstack-prod-mysql")
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
    assert primary["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert primary["MasterUsername"] == "webstack_admin"
    (parameter_group,) = primary["DBParameterGroups"]
    assert parameter_group["DBParameterGroupName"] == "webstack-prod-mysql8-4"
    ec2 = stack.client("ec2")
    (mysql_sg,) = ec2.describe_security_groups(GroupNames=["webstack-prod-mysql"])["SecurityGroups"]
    assert [g["VpcSecurityGroupId"] for g in primary["VpcSecurityGroups"]] == [mysql_sg["GroupId"]]
    subnets = {s["SubnetIdentifier"] for s in primary["DBSubnetGroup"]["Subnets"]}
    data_subnets = ec2.describe_subnets(
        Filters=[{"Name": "tag:Environment", "Values": ["Production"]}, {"Name": "tag:Tier", "Values": ["data"]}]
    )["Subnets"]
    assert subnets == {s["SubnetId"] for s in data_subnets}
    assert tags({"Tags": primary["TagList"]})["Environment"] == "Production"


@pytest.mark.stack("deploy")
def test_prod_read_replica_runs_in_another_az(stack: Stack) -> None:
    primary = instance(stack, "webstack-prod-mysql")
    replica = instance(stack, "webstack-prod-mysql-replica")
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == "webstack-prod-mysql"
    assert replica["AvailabilityZone"] != primary["AvailabilityZone"]
    assert replica["AvailabilityZone"] in PROD["webstack_azs"]
    assert replica["StorageEncrypted"] is True
    assert replica["PubliclyAccessible"] is False
    assert replica["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"


@pytest.mark.stack("deploy")
def test_staging_mysql_is_single_az_small_and_unprotected(stack: Stack) -> None:
    primary = instance(stack, "webstack-staging-mysql")
    assert primary["MultiAZ"] is False
    assert primary["AvailabilityZone"] == STAGING["webstack_azs"][0]
    assert primary["DBInstanceClass"] == STAGING["data_mysql_instance_class"]
    assert primary["StorageEncrypted"] is True
    assert primary["PubliclyAccessible"] is False
    assert primary["DeletionProtection"] is False
    assert primary["EngineVersion"].startswith("8.4.")
    assert primary["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert primary["MasterUsername"] == "webstack_admin"
    ids = [i["DBInstanceIdentifier"] for i in stack.client("rds").describe_db_instances()["DBInstances"]]
    assert "webstack-staging-mysql-replica" not in ids


@pytest.mark.stack("deploy")
def test_prod_redis_fails_over_across_azs_with_encryption_and_auth(stack: Stack) -> None:
    redis = group(stack, "webstack-prod-redis")
    assert redis["AutomaticFailover"] == "enabled"
    assert redis["MultiAZ"] == "enabled"
    assert redis["AtRestEncryptionEnabled"] is True
    assert redis["TransitEncryptionEnabled"] is True
    assert redis["AuthTokenEnabled"] is True
    assert len(redis["NodeGroups"][0]["NodeGroupMembers"]) == 1 + PROD["data_redis_replicas"]
    assert redis["CacheNodeType"] == PROD["data_redis_node_type"]


@pytest.mark.stack("deploy")
def test_staging_redis_is_one_node(stack: Stack) -> None:
    redis = group(stack, "webstack-staging-redis")
    assert len(redis["NodeGroups"][0]["NodeGroupMembers"]) == 1
    assert redis["AutomaticFailover"] == "disabled"
    assert redis["AtRestEncryptionEnabled"] is True
    assert redis["TransitEncryptionEnabled"] is True
    assert redis["AuthTokenEnabled"] is True


@pytest.mark.stack("deploy")
def test_prod_mysql_is_backed_up_daily_into_a_vault_encrypted_with_a_rotated_key(stack: Stack) -> None:
    backup, kms, iam = stack.client("backup"), stack.client("kms"), stack.client("iam")
    (plan_id,) = backup_plan_ids(stack, "webstack-prod")
    plan = backup.get_backup_plan(BackupPlanId=plan_id)
    assert plan["BackupPlan"]["BackupPlanName"] == "webstack-prod-mysql-daily"
    (rule,) = plan["BackupPlan"]["Rules"]
    assert rule["ScheduleExpression"] == "cron(0 5 ? * * *)"
    assert rule["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert rule["Lifecycle"] == {"DeleteAfterDays": PROD["data_backup_retention_days"]} == {"DeleteAfterDays": 14}
    assert (rule["StartWindowMinutes"], rule["CompletionWindowMinutes"]) == (60, 480)
    assert rule["TargetBackupVaultName"] == "webstack-prod-backup"
    assert backup.list_tags(ResourceArn=plan["BackupPlanArn"])["Tags"]["Environment"] == "Production"

    vault = backup.describe_backup_vault(BackupVaultName="webstack-prod-backup")
    key = kms.describe_key(KeyId="alias/webstack-prod-backup")["KeyMetadata"]
    assert vault["EncryptionKeyArn"] == key["Arn"]
    assert (key["KeyManager"], key["KeyState"]) == ("CUSTOMER", "Enabled")
    assert kms.get_key_rotation_status(KeyId=key["Arn"])["KeyRotationEnabled"] is True
    key_tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
    assert key_tags["Environment"] == "Production"
    assert backup.list_tags(ResourceArn=vault["BackupVaultArn"])["Tags"]["Name"] == "webstack-prod-backup"

    (listed,) = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    selection = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=listed["SelectionId"])["BackupSelection"]
    assert selection["SelectionName"] == "webstack-prod-mysql"
    assert selection["Resources"] == [instance(stack, "webstack-prod-mysql")["DBInstanceArn"]]
    role = iam.get_role(RoleName="webstack-prod-backup")["Role"]
    assert selection["IamRoleArn"] == role["Arn"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    account = stack.client("sts").get_caller_identity()["Account"]
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    attached = iam.list_attached_role_policies(RoleName="webstack-prod-backup")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
    ]


@pytest.mark.stack("deploy")
def test_staging_opts_out_of_aws_backup(stack: Stack) -> None:
    assert STAGING["data_backup_enabled"] is False
    assert backup_plan_ids(stack, "webstack-staging") == []
    assert backup_vaults(stack, "webstack-staging") == []
    assert "webstack-staging-backup" not in role_names(stack)
    aliases = [a["AliasName"] for a in stack.client("kms").list_aliases()["Aliases"]]
    assert "alias/webstack-staging-backup" not in aliases
    assert "alias/webstack-prod-backup" in aliases


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("prefix", ["webstack-prod", "webstack-staging"])
def test_secrets_exist_and_never_appear_in_the_output(stack: Stack, prefix: str) -> None:
    mysql = json.loads(secret_value(stack, f"{prefix}/mysql/master"))
    token = secret_value(stack, f"{prefix}/redis/auth-token")
    assert mysql["username"] == "webstack_admin"
    assert len(mysql["password"]) == 32
    assert len(token) == 64
    assert stack.runs, "the deployment's runs (both with --diff) are recorded"
    for run in stack.runs.values():
        assert mysql["password"] not in run.output
        assert token not in run.output


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", [PROD, STAGING], ids=["prod", "staging"])
def test_each_secret_denies_reading_to_all_but_the_instance_roles_and_the_deployer(
    stack: Stack, env: dict[str, Any]
) -> None:
    prefix = env["webstack_prefix"]
    caller = stack.client("sts").get_caller_identity()
    readers = [f"arn:aws:iam::{caller['Account']}:role/{prefix}-*-instance", caller["Arn"]]
    secrets = stack.client("secretsmanager")
    for name in (f"{prefix}/mysql/master", f"{prefix}/redis/auth-token"):
        policy = json.loads(secrets.get_resource_policy(SecretId=name)["ResourcePolicy"])
        (statement,) = policy["Statement"]
        assert statement["Effect"] == "Deny", name
        assert statement["Principal"] == "*"
        assert statement["Action"] == "secretsmanager:GetSecretValue"
        assert statement["Condition"] == {"StringNotLike": {"aws:PrincipalArn": readers}}
    # The instance roles the compute layer made match the pattern the policy lets through.
    roles = [role["RoleName"] for role in stack.client("iam").list_roles()["Roles"]]
    assert {f"{prefix}-frontend-instance", f"{prefix}-backend-instance"} <= set(roles)


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", [PROD, STAGING], ids=["prod", "staging"])
def test_outputs_are_published_in_ssm(stack: Stack, env: dict[str, Any]) -> None:
    prefix = env["webstack_prefix"]
    primary = instance(stack, f"{prefix}-mysql")
    redis = group(stack, f"{prefix}-redis")
    path = f"/{prefix}/data"
    assert parameter(stack, f"{path}/mysql/writer-endpoint") == primary["Endpoint"]["Address"]
    reader = instance(stack, f"{prefix}-mysql-replica") if env["data_mysql_read_replica"] else primary
    assert parameter(stack, f"{path}/mysql/reader-endpoint") == reader["Endpoint"]["Address"]
    assert parameter(stack, f"{path}/mysql/port") == "3306"
    assert parameter(stack, f"{path}/mysql/secret-name") == f"{prefix}/mysql/master"
    assert parameter(stack, f"{path}/redis/primary-endpoint") == redis["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    assert parameter(stack, f"{path}/redis/secret-name") == f"{prefix}/redis/auth-token"


@pytest.mark.stack("rerun")
@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_second_run_changes_nothing_and_keeps_the_secrets(stack: Stack, inventory: str) -> None:
    run = stack.runs[f"rerun-{inventory}"]
    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert changed_tasks(run.output, "data") == []
    assert mutating(run.requests) == []
    assert stack.recorded[f"secrets-after-rerun-{inventory}"] == stack.recorded[f"secrets-before-rerun-{inventory}"]
    prefix = f"webstack-{inventory}"
    assert (secret_value(stack, f"{prefix}/mysql/master"), secret_value(stack, f"{prefix}/redis/auth-token")) == (
        stack.recorded[f"secrets-before-rerun-{inventory}"]
    )


@pytest.mark.stack("refused")
def test_prod_teardown_without_confirmation_touches_nothing(stack: Stack) -> None:
    run = stack.runs["teardown-prod-unconfirmed"]
    assert run.returncode != 0
    assert "confirm_teardown" in run.output
    assert mutating(run.requests) == []
    assert ("webstack-prod-mysql", True) in stack.recorded["prod-data-after-refusal"]["instances"]
    assert instance(stack, "webstack-prod-mysql")["DeletionProtection"] is True


@pytest.mark.stack("staging-teardown")
def test_staging_teardown_removes_the_data_layer_and_spares_prod(stack: Stack) -> None:
    run = stack.runs["teardown-staging"]
    assert run.returncode == 0, run.output
    rds = stack.client("rds")
    ids = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    assert sorted(ids) == ["webstack-prod-mysql", "webstack-prod-mysql-replica"]
    groups = stack.client("elasticache").describe_replication_groups()["ReplicationGroups"]
    live = [g["ReplicationGroupId"] for g in groups if g["Status"] != "deleting"]
    assert live == ["webstack-prod-redis"]
    names = [s["Name"] for s in stack.client("secretsmanager").list_secrets()["SecretList"]]
    # The layer's own secrets go; the identity provider's secret, which the user created, stays.
    assert [n for n in names if n.startswith("webstack-staging/")] == ["webstack-staging/idp/corp-oidc"]
    ssm = stack.client("ssm").get_parameters_by_path(Path="/webstack-staging", Recursive=True)["Parameters"]
    assert ssm == []
    assert parameter(stack, "/webstack-prod/data/mysql/secret-name") == "webstack-prod/mysql/master"
    assert data_layer(stack, "webstack-prod") == stack.recorded["prod-before-staging-teardown"]["data"]


@pytest.mark.stack("prod-teardown")
def test_prod_teardown_with_confirmation_takes_a_final_snapshot(stack: Stack) -> None:
    run = stack.runs["teardown-prod"]
    assert run.returncode == 0, run.output
    rds = stack.client("rds")
    assert rds.describe_db_instances()["DBInstances"] == []
    snapshots = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["DBInstanceIdentifier"] for s in snapshots] == ["webstack-prod-mysql"]
    assert snapshots[0]["DBSnapshotIdentifier"].startswith("webstack-prod-mysql-final-")


ROTATED = ["webstack-staging/mysql/master", "webstack-staging/redis/auth-token"]


@pytest.mark.stack("rotate")
def test_a_bad_rotate_secrets_is_refused_before_any_aws_call(stack: Stack) -> None:
    run = stack.runs["rotate-refused"]
    assert run.returncode != 0, run.output
    assert "rotate_secrets" in run.output and "ldap" in run.output
    assert run.requests == []


@pytest.mark.stack("rotate")
def test_rotation_in_check_mode_says_it_would_rotate_and_changes_nothing(stack: Stack) -> None:
    run = stack.runs["rotate-check"]
    assert run.returncode == 0, run.output
    assert run.changed > 0, run.output
    assert mutating(run.requests) == []
    assert stack.recorded["rotation-after-check"] == stack.recorded["rotation-before-staging"]


@pytest.mark.stack("rotate")
def test_rotation_changes_both_secrets_and_sets_them_on_rds_and_elasticache(stack: Stack) -> None:
    run = stack.runs["rotate"]
    assert run.returncode == 0, run.output
    assert run.changed > 0
    before, after = stack.recorded["rotation-before-staging"], stack.recorded["rotation-after-staging"]
    for name in ROTATED:
        assert after[name]["current"] != before[name]["current"], name
        # AWSPENDING is gone: the rotation finished; the old value stays as AWSPREVIOUS.
        assert after[name]["labels"] == ["AWSCURRENT", "AWSPREVIOUS"], name
    # The password an interrupted run left as AWSPENDING is the one set and promoted, the username kept.
    assert after[ROTATED[0]]["current"] == stack.recorded["rotation-interrupted-value"]
    assert json.loads(after[ROTATED[0]]["current"])["username"] == json.loads(before[ROTATED[0]]["current"])["username"]
    assert len(after[ROTATED[1]]["current"]) == 64
    enabled, modified = after["auth token"]
    assert enabled is True
    assert modified > before["auth token"][1]
    # moto reports no master password and no pending change for it: the request is what shows it.
    sent = [(request["service"], request["action"]) for request in run.requests]
    assert sent.count(("rds", "ModifyDBInstance")) == 1
    assert sent.count(("elasticache", "ModifyReplicationGroup")) == 2  # ROTATE, then SET
    assert instance(stack, "webstack-staging-mysql")["DBInstanceStatus"] == "available"
    assert group(stack, "webstack-staging-redis")["Status"] == "available"


@pytest.mark.stack("rotate")
def test_rotation_never_shows_a_secret_even_with_verbose_output(stack: Stack) -> None:
    before, after = stack.recorded["rotation-before-staging"], stack.recorded["rotation-after-staging"]
    values = []
    for name in ROTATED:
        for state in (before, after):
            value = state[name]["current"]
            values.append(json.loads(value)["password"] if name.endswith("/master") else value)
    for name in ("rotate-check", "rotate"):
        output = stack.runs[name].output
        for value in values:
            assert value not in output, name
    assert "censored" in stack.runs["rotate"].output


@pytest.mark.stack("rotate")
def test_rotating_staging_leaves_prod_alone(stack: Stack) -> None:
    assert stack.recorded["rotation-after-prod"] == stack.recorded["rotation-before-prod"]


# No backup job ever ran on the emulator, so the vault is empty and goes (a vault holding recovery
# points would stay, with its key and role: AWS refuses to delete it).
@pytest.mark.stack("prod-teardown")
def test_prod_teardown_removes_aws_backup_and_schedules_the_key_deletion(stack: Stack) -> None:
    assert stack.runs["teardown-prod"].returncode == 0
    assert backup_plan_ids(stack, "webstack-prod") == []
    assert backup_vaults(stack, "webstack-prod") == []
    assert "webstack-prod-backup" not in role_names(stack)
    key = stack.client("kms").describe_key(KeyId="alias/webstack-prod-backup")["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
    again = stack.runs["teardown-prod-again"]
    assert again.returncode == 0, again.output[-5000:]
    assert changed_tasks(again.output, "data") == []
    assert [action for action in mutating(again.requests) if "backup" in action.lower()] == []


# The emulator's AWS Backup (scripts/emulator.py, patch_backup_selections; docs/EMULATOR.md E42), which the
# data layer's backup tasks and their teardown rely on.
def test_the_emulator_answers_aws_backup_as_aws_does(empty_account: Emulator) -> None:
    backup, kms = empty_account.client("backup"), empty_account.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as missing:
        backup.describe_backup_vault(BackupVaultName="emulator-check")
    assert missing.value.response["Error"]["Code"] == "AccessDeniedException"
    backup.create_backup_vault(BackupVaultName="emulator-check", EncryptionKeyArn=key)
    rule = {"RuleName": "daily", "TargetBackupVaultName": "emulator-check", "Lifecycle": {"DeleteAfterDays": 14}}
    plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": "emulator-check", "Rules": [rule]})[
        "BackupPlanId"
    ]
    role = "arn:aws:iam::123456789012:role/emulator-check"
    chosen = {"SelectionName": "db", "IamRoleArn": role, "Resources": ["arn:aws:rds:us-east-1:123456789012:db:x"]}

    made = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=chosen, CreatorRequestId="once")
    again = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=chosen, CreatorRequestId="once")

    assert again["SelectionId"] == made["SelectionId"]
    (listed,) = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    assert (listed["SelectionName"], listed["IamRoleArn"]) == ("db", role)
    selection = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=made["SelectionId"])["BackupSelection"]
    assert selection["Resources"] == chosen["Resources"]
    assert selection["Conditions"] == {"StringEquals": [], "StringLike": [], "StringNotEquals": [], "StringNotLike": []}
    with pytest.raises(ClientError) as refused:
        backup.delete_backup_plan(BackupPlanId=plan_id)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"

    updated = {**rule, "Lifecycle": {"DeleteAfterDays": 21}}
    backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={"BackupPlanName": "emulator-check", "Rules": [updated]})
    (kept,) = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["Rules"]
    assert kept["Lifecycle"] == {"DeleteAfterDays": 21}

    point = backup.start_backup_job(
        BackupVaultName="emulator-check", ResourceArn=chosen["Resources"][0], IamRoleArn=role
    )["RecoveryPointArn"]
    assert backup.describe_backup_vault(BackupVaultName="emulator-check")["NumberOfRecoveryPoints"] == 1
    with pytest.raises(ClientError) as holds:
        backup.delete_backup_vault(BackupVaultName="emulator-check")
    assert holds.value.response["Error"]["Code"] == "InvalidRequestException"
    backup.delete_recovery_point(BackupVaultName="emulator-check", RecoveryPointArn=point)
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="emulator-check")["RecoveryPoints"] == []

    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=made["SelectionId"])
    backup.delete_backup_plan(BackupPlanId=plan_id)
    backup.delete_backup_vault(BackupVaultName="emulator-check")
    assert backup.list_backup_vaults()["BackupVaultList"] == []
    assert backup.list_backup_plans()["BackupPlansList"] == []
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
