"""aws_resources_info against moto: what it finds, what it does not, the calls it makes; errors through the Stubber."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients, stubbed_module_client
from moto import mock_aws

PREFIX = "webstack-staging"
ENV_TAGS = {"Project": "webstack", "Environment": "Non-Production"}
VPC_TAGS = {"Name": "webstack-edge-vpc", "Project": "webstack"}
READ_ONLY = ("Describe", "Get", "List")

# Every kind asked for with the names a staging teardown uses.
COMPUTE = {
    "ssm_parameter_paths": [f"/{PREFIX}/compute"],
    "autoscaling_groups": [f"{PREFIX}-frontend", f"{PREFIX}-backend"],
    "launch_templates": [f"{PREFIX}-frontend", f"{PREFIX}-backend"],
    "load_balancers": [f"{PREFIX}-internal"],
    "target_groups": [f"{PREFIX}-backend"],
    "iam_roles": [f"{PREFIX}-frontend-instance", f"{PREFIX}-backend-instance"],
    "iam_instance_profiles": [f"{PREFIX}-frontend-instance", f"{PREFIX}-backend-instance"],
    "s3_bucket_prefixes": [f"{PREFIX}-bootstrap-"],
}
DATA = {
    "ssm_parameter_paths": [f"/{PREFIX}/data"],
    "rds_instances": [f"{PREFIX}-mysql", f"{PREFIX}-mysql-replica"],
    "rds_subnet_groups": [f"{PREFIX}-data"],
    "rds_parameter_groups": [f"{PREFIX}-mysql8-0"],
    "elasticache_replication_groups": [f"{PREFIX}-redis"],
    "elasticache_subnet_groups": [f"{PREFIX}-data"],
    "secrets": [f"{PREFIX}/mysql/master", f"{PREFIX}/redis/auth-token"],
    "backup_vaults": [f"{PREFIX}-backup"],
    "backup_plans": [f"{PREFIX}-mysql-daily"],
    "kms_key_aliases": [f"alias/{PREFIX}-backup"],
}
IDENTITY = {"ssm_parameter_paths": [f"/{PREFIX}/identity"], "cognito_user_pools": [f"{PREFIX}-users"]}
EDGE = {
    "target_groups": [f"{PREFIX}-frontend"],
    "listener_rules": [{"load_balancer": "webstack-edge-alb", "priority": 200, "protocol": "HTTPS"}],
    "route53_records": [{"zone": "example.com", "names": ["staging.example.com"], "types": ["A", "AAAA"]}],
}
SHARED_EDGE = {
    "load_balancers": ["webstack-edge-alb"],
    "wafv2_web_acls": ["webstack-edge-web-acl"],
    "wafv2_ip_sets": ["webstack-edge-allow", "webstack-edge-block"],
    "log_groups": ["aws-waf-logs-webstack-edge"],
    "acm_certificates": ["example.com"],
    "route53_zones": [{"name": "example.com", "comment_pattern": "[(]webstack-edge[)]$"}],
}
NETWORK = {"vpc_tags": VPC_TAGS, "ec2_tags": ENV_TAGS}
MONITORING = {
    "ssm_parameter_paths": [f"/{PREFIX}/monitoring"],
    "cloudwatch_dashboards": [PREFIX],
    "cloudwatch_alarm_prefixes": [f"{PREFIX}-"],
    "log_group_prefixes": [f"/{PREFIX}/"],
    "sns_topics": [f"{PREFIX}-alarms"],
}


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: bool) -> dict[str, Any]:
    extra = {f"_ansible_{flag}": value for flag, value in flags.items()}
    return run_module("aws_resources_info", {**args, **extra}, capsys)


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    recorded: Calls = []
    spy_module_clients(monkeypatch, recorded)
    return recorded


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def vpc_with_subnets() -> tuple[str, str, str]:
    """The shared VPC with a public subnet (shared) and a private one (staging's); their ids."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=tag_list(VPC_TAGS))
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    ec2.create_tags(Resources=[public["SubnetId"]], Tags=tag_list({"Project": "webstack", "Environment": "Shared"}))
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.32.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    return vpc, public["SubnetId"], private["SubnetId"]


def test_an_empty_account_has_nothing_of_any_layer(aws: None, calls: Calls, capsys: pytest.CaptureFixture[str]) -> None:
    for layer in (COMPUTE, DATA, IDENTITY, EDGE, SHARED_EDGE, NETWORK, MONITORING):
        result = run(layer, capsys)
        assert result["changed"] is False
        assert result["found"] is False, (layer, result["resources"])
        assert all(found == [] for found in result["resources"].values())
    assert all(operation.startswith(READ_ONLY) for operation, _ in calls)


def test_the_network_probe_on_an_empty_account_stops_after_the_vpc_and_the_addresses(
    aws: None, calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(NETWORK, capsys)

    assert result["vpc_ids"] == []
    assert Counter(operation for operation, _ in calls) == Counter({"DescribeVpcs": 1, "DescribeAddresses": 1})


def test_one_resource_left_of_a_layer_is_found(aws: None, calls: Calls, capsys: pytest.CaptureFixture[str]) -> None:
    client("iam").create_role(RoleName=f"{PREFIX}-backend-instance", AssumeRolePolicyDocument="{}")
    client("s3").create_bucket(Bucket=f"{PREFIX}-bootstrap-123456789012")
    client("s3").create_bucket(Bucket="webstack-prod-bootstrap-123456789012")
    client("ec2").create_launch_template(LaunchTemplateName=f"{PREFIX}-frontend", LaunchTemplateData={})
    client("ec2").create_launch_template(LaunchTemplateName="webstack-prod-frontend", LaunchTemplateData={})

    result = run(COMPUTE, capsys)

    assert result["found"] is True
    assert result["resources"]["iam_roles"] == [f"{PREFIX}-backend-instance"]
    assert result["resources"]["s3_bucket_prefixes"] == [f"{PREFIX}-bootstrap-123456789012"]
    assert result["resources"]["launch_templates"] == [f"{PREFIX}-frontend"]
    assert result["resources"]["autoscaling_groups"] == []
    # One read per name where the API fails on a missing name, one read for all the names elsewhere.
    assert Counter(operation for operation, _ in calls) == Counter(
        {
            "GetParametersByPath": 1,
            "DescribeAutoScalingGroups": 1,
            "DescribeLaunchTemplates": 1,
            "DescribeLoadBalancers": 1,
            "DescribeTargetGroups": 1,
            "GetRole": 2,
            "GetInstanceProfile": 2,
            "ListBuckets": 1,
        }
    )


def test_an_ssm_parameter_deep_under_the_path_counts(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    client("ssm").put_parameter(Name=f"/{PREFIX}/identity/pool/id", Value="x", Type="String")

    assert run(IDENTITY, capsys)["resources"]["ssm_parameter_paths"] == [f"/{PREFIX}/identity"]


def test_the_data_layer_kinds(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    client("secretsmanager").create_secret(Name=f"{PREFIX}/redis/auth-token", SecretString="x")
    client("rds").create_db_parameter_group(
        DBParameterGroupName=f"{PREFIX}-mysql8-0", DBParameterGroupFamily="mysql8.0", Description="x"
    )

    found = run(DATA, capsys)["resources"]

    assert found["secrets"] == [f"{PREFIX}/redis/auth-token"]
    assert found["rds_parameter_groups"] == [f"{PREFIX}-mysql8-0"]
    assert found["rds_instances"] == found["rds_subnet_groups"] == found["elasticache_replication_groups"] == []


def test_the_backup_kinds_count_what_a_teardown_still_has_to_remove(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    kms, backup = client("kms"), client("backup")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"alias/{PREFIX}-backup", TargetKeyId=key)
    backup.create_backup_vault(BackupVaultName=f"{PREFIX}-backup")
    backup.create_backup_vault(BackupVaultName="webstack-prod-backup")
    rule = {"RuleName": "daily", "TargetBackupVaultName": f"{PREFIX}-backup"}
    plan = backup.create_backup_plan(BackupPlan={"BackupPlanName": f"{PREFIX}-mysql-daily", "Rules": [rule]})

    found = run(DATA, capsys)["resources"]

    assert found["backup_vaults"] == [f"{PREFIX}-backup"]
    assert found["backup_plans"] == [f"{PREFIX}-mysql-daily"]
    assert found["kms_key_aliases"] == [f"alias/{PREFIX}-backup"]
    # A deleted plan and a key scheduled for deletion are gone as far as a teardown goes.
    backup.delete_backup_plan(BackupPlanId=plan["BackupPlanId"])
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    found = run(DATA, capsys)["resources"]
    assert found["backup_plans"] == found["kms_key_aliases"] == []


def test_a_secret_scheduled_for_deletion_counts_only_when_asked(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    secrets = client("secretsmanager")
    secrets.create_secret(Name=f"{PREFIX}/mysql/master", SecretString="x")
    secrets.delete_secret(SecretId=f"{PREFIX}/mysql/master", RecoveryWindowInDays=7)

    assert run({"secrets": DATA["secrets"]}, capsys)["found"] is False
    pending = run({"secrets": DATA["secrets"], "include_secrets_pending_deletion": True}, capsys)
    assert pending["resources"]["secrets"] == [f"{PREFIX}/mysql/master"]


def test_the_identity_pool_is_found_by_name(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    client("cognito-idp").create_user_pool(PoolName="webstack-prod-users")
    assert run(IDENTITY, capsys)["found"] is False

    client("cognito-idp").create_user_pool(PoolName=f"{PREFIX}-users")
    assert run(IDENTITY, capsys)["resources"]["cognito_user_pools"] == [f"{PREFIX}-users"]


def test_the_edge_entry_is_found_by_its_records_and_its_rule_priority(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    route53 = client("route53")
    zone = route53.create_hosted_zone(
        Name="example.com", CallerReference="1", HostedZoneConfig={"Comment": "Public zone (webstack-edge)"}
    )["HostedZone"]["Id"]
    assert run(EDGE, capsys)["found"] is False
    assert run({"route53_zones": SHARED_EDGE["route53_zones"]}, capsys)["resources"]["route53_zones"] == [
        zone.split("/")[-1]
    ]
    assert run({"route53_zones": [{"name": "example.com", "comment_pattern": "other"}]}, capsys)["found"] is False

    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "staging.example.com",
                        "Type": "AAAA",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "2001:db8::1"}],
                    },
                }
            ]
        },
    )
    assert run(EDGE, capsys)["resources"]["route53_records"] == ["staging.example.com AAAA"]

    vpc, public, _ = vpc_with_subnets()
    ec2, elbv2 = client("ec2"), client("elbv2")
    other = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    alb = elbv2.create_load_balancer(Name="webstack-edge-alb", Subnets=[public, other])["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="webstack-prod-frontend", Protocol="HTTP", Port=80, VpcId=vpc)
    forward = [{"Type": "forward", "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}]
    listener = elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=forward
    )["Listeners"][0]
    elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=200,
        Conditions=[{"Field": "host-header", "Values": ["staging.example.com"]}],
        Actions=forward,
    )
    # The rule is on an HTTP listener: only the HTTPS listeners were asked for.
    assert run({"listener_rules": EDGE["listener_rules"]}, capsys)["found"] is False
    any_listener = [{"load_balancer": "webstack-edge-alb", "priority": 200}]
    assert run({"listener_rules": any_listener}, capsys)["resources"]["listener_rules"] == ["webstack-edge-alb:200"]
    assert run({"listener_rules": [{"load_balancer": "webstack-edge-alb", "priority": 100}]}, capsys)["found"] is False


def test_the_shared_edge_kinds(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    client("logs").create_log_group(logGroupName="aws-waf-logs-webstack-edge-old")
    assert run({"log_groups": SHARED_EDGE["log_groups"]}, capsys)["found"] is False

    client("logs").create_log_group(logGroupName="aws-waf-logs-webstack-edge")
    client("wafv2").create_ip_set(
        Name="webstack-edge-block", Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=["192.0.2.0/24"]
    )
    client("acm").request_certificate(DomainName="example.com", SubjectAlternativeNames=["www.example.com"])

    found = run(SHARED_EDGE, capsys)["resources"]

    assert found["log_groups"] == ["aws-waf-logs-webstack-edge"]
    assert found["wafv2_ip_sets"] == ["webstack-edge-block"]
    assert found["acm_certificates"] == ["example.com"]
    assert found["wafv2_web_acls"] == found["load_balancers"] == []


def test_the_monitoring_kinds(aws: None, calls: Calls, capsys: pytest.CaptureFixture[str]) -> None:
    # The other environment's, and an Auto Scaling target-tracking alarm: none is staging's.
    client("logs").create_log_group(logGroupName="/webstack-prod/backend")
    client("sns").create_topic(Name="webstack-prod-alarms")
    alarm = {"EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}
    metric = {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "Period": 60, "Statistic": "Average"}
    client("cloudwatch").put_metric_alarm(AlarmName="webstack-prod-mysql-cpu", **alarm, **metric)
    client("cloudwatch").put_metric_alarm(AlarmName=f"TargetTracking-{PREFIX}-frontend-AlarmHigh", **alarm, **metric)
    assert run(MONITORING, capsys)["found"] is False

    client("logs").create_log_group(logGroupName=f"/{PREFIX}/backend")
    client("logs").create_log_group(logGroupName=f"/{PREFIX}/nginx/access")
    client("sns").create_topic(Name=f"{PREFIX}-alarms")
    client("cloudwatch").put_metric_alarm(AlarmName=f"{PREFIX}-mysql-cpu", **alarm, **metric)
    client("cloudwatch").put_dashboard(DashboardName=PREFIX, DashboardBody='{"widgets": []}')
    calls.clear()

    found = run(MONITORING, capsys)["resources"]

    assert found["log_group_prefixes"] == [f"/{PREFIX}/backend", f"/{PREFIX}/nginx/access"]
    assert found["sns_topics"] == [f"{PREFIX}-alarms"]
    assert found["cloudwatch_alarm_prefixes"] == [f"{PREFIX}-mysql-cpu"]
    assert found["cloudwatch_dashboards"] == [PREFIX]
    assert all(operation.startswith(READ_ONLY) for operation, _ in calls)


def test_the_network_is_found_by_its_tags_in_the_shared_vpc_only(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    vpc, _, private = vpc_with_subnets()
    untagged = run(NETWORK, capsys)
    assert untagged["found"] is False
    assert untagged["vpc_ids"] == [vpc]

    client("ec2").create_tags(Resources=[private], Tags=tag_list(ENV_TAGS))
    result = run(NETWORK, capsys)
    assert result["found"] is True
    assert result["resources"]["subnets"] == [private]
    # Another VPC's resources with the same tags are not this network's.
    assert run({**NETWORK, "vpc_tags": {"Name": "another-vpc"}}, capsys)["found"] is False


def test_a_nat_gateway_found_only_through_the_environments_elastic_ip(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A provision stopped after creating the NAT gateway, before tagging it."""
    _, public, _ = vpc_with_subnets()
    ec2 = client("ec2")
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_tags(Resources=[address], Tags=tag_list(ENV_TAGS))
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=address)["NatGateway"]["NatGatewayId"]

    found = run(NETWORK, capsys)["resources"]

    assert found["nat_gateways"] == [nat]
    assert found["elastic_ips"] == [address]


def test_check_mode_reads_the_same(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    client("iam").create_role(RoleName=f"{PREFIX}-frontend-instance", AssumeRolePolicyDocument="{}")
    assert run(COMPUTE, capsys, check_mode=True)["found"] is True


def test_an_error_is_not_taken_for_absence(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with stubbed_module_client(monkeypatch, "iam") as stub:
        stub.add_client_error("get_role", service_error_code="AccessDenied", service_message="not authorized")
        result = run({"iam_roles": [f"{PREFIX}-frontend-instance"]}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to look for IAM role {PREFIX}-frontend-instance")
    assert result["error"]["code"] == "AccessDenied"


def test_a_missing_name_is_absence(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with stubbed_module_client(monkeypatch, "elasticache") as stub:
        stub.add_client_error("describe_cache_parameter_groups", service_error_code="CacheParameterGroupNotFound")
        result = run({"elasticache_parameter_groups": [f"{PREFIX}-redis7"]}, capsys)

    assert result["found"] is False
    assert result["resources"] == {"elasticache_parameter_groups": []}


def test_a_replication_group_still_deleting_counts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS lists a group while it deletes it (the emulator drops it at once): the teardown must wait for it."""
    group = {"ReplicationGroupId": f"{PREFIX}-redis", "Status": "deleting"}
    with stubbed_module_client(monkeypatch, "elasticache") as stub:
        stub.add_response("describe_replication_groups", {"ReplicationGroups": [group]})
        result = run({"elasticache_replication_groups": [f"{PREFIX}-redis"]}, capsys)

    assert result["found"] is True
    assert result["resources"] == {"elasticache_replication_groups": [f"{PREFIX}-redis"]}
