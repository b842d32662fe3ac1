"""The compute layer of both environments, as the emulator reports it.

The tests run in file order and share one emulator state: check mode on an
empty account, provisioning of staging and prod, the groups, launch templates,
IAM, bucket, internal ALB and outputs, reruns, refused inputs, a changed
instance type rolling through staging's group (a launch template version 2),
and staging's teardown from that state, then again.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import Emulator, inventory_vars, make_inventory, mutating, run_playbook, tags

pytestmark = pytest.mark.integration

PROD = inventory_vars("prod")
STAGING = inventory_vars("staging")
ENVS = {"prod": PROD, "staging": STAGING}
TIERS = ["frontend", "backend"]
DEBIAN_AMI = "/aws/service/debian/release/bookworm/latest/amd64"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
# What an instance policy may allow, and nothing else (roles/compute/templates/instance_policy.json.j2).
ALLOWED_ACTIONS = {
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:ListBucket",
    "cloudwatch:PutMetricData",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
    "logs:PutRetentionPolicy",
}
RUNS: dict[str, str] = {}
# The inventory each environment was last provisioned from, when not inventories/<env>.
DEPLOYED: dict[str, Path] = {}


def changed_tasks(output: str, role: str) -> list[str]:
    """The tasks of ``role`` that reported a change in a playbook's output."""
    changed, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:") and task.startswith(f"TASK [{role} : "):
            changed.append(task)
    return changed


def actions(requests: list[dict[str, str]]) -> list[str]:
    return [request["action"] for request in requests]


def group(fresh: Emulator, name: str) -> dict[str, Any]:
    (found,) = fresh.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ]
    return found


def template_version(fresh: Emulator, name: str, version: str = "$Default") -> dict[str, Any]:
    (found,) = fresh.client("ec2").describe_launch_template_versions(LaunchTemplateName=name, Versions=[version])[
        "LaunchTemplateVersions"
    ]
    return found


def target_group_arn(fresh: Emulator, name: str) -> str:
    return fresh.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]


def app_subnets(fresh: Emulator, environment: str) -> dict[str, str]:
    subnets = fresh.client("ec2").describe_subnets(
        Filters=[{"Name": "tag:Environment", "Values": [environment]}, {"Name": "tag:Tier", "Values": ["app"]}]
    )["Subnets"]
    return {subnet["AvailabilityZone"]: subnet["SubnetId"] for subnet in subnets}


def security_group_id(fresh: Emulator, name: str) -> str:
    (found,) = fresh.client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])[
        "SecurityGroups"
    ]
    return found["GroupId"]


def parameter(fresh: Emulator, name: str) -> str:
    return fresh.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]


def account(fresh: Emulator) -> str:
    return fresh.client("sts").get_caller_identity()["Account"]


def user_data(fresh: Emulator, prefix: str, tier: str) -> str:
    return base64.b64decode(template_version(fresh, f"{prefix}-{tier}")["LaunchTemplateData"]["UserData"]).decode()


# --------------------------------------------------------------------------- #
# Check mode and provisioning
# --------------------------------------------------------------------------- #
def test_check_mode_on_an_empty_account_creates_nothing(fresh: Emulator) -> None:
    mark = fresh.mark()

    run = run_playbook(fresh, "inventories/staging", "provision.yml", "--check", "--diff")

    assert run.returncode == 0, run.output
    assert "ELB health checks: frontend, absent" in run.output
    assert mutating(fresh.since(mark)) == []


@pytest.mark.parametrize("inventory", ["staging", "prod"])
def test_provision(fresh: Emulator, inventory: str) -> None:
    run = run_playbook(fresh, f"inventories/{inventory}", "provision.yml")

    assert run.returncode == 0, run.output
    RUNS[inventory] = run.output


# --------------------------------------------------------------------------- #
# What was built
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("tier", TIERS)
def test_groups_span_the_inventory_azs_behind_their_target_group(fresh: Emulator, env: str, tier: str) -> None:
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    found = group(fresh, f"{prefix}-{tier}")
    subnets = app_subnets(fresh, inventory["webstack_environment"])

    assert sorted(found["VPCZoneIdentifier"].split(",")) == sorted(subnets[az] for az in inventory["webstack_azs"])
    assert sorted(found["AvailabilityZones"]) == sorted(inventory["webstack_azs"])
    assert found["MinSize"] == inventory[f"compute_{tier}_min_size"]
    assert found["MaxSize"] == inventory[f"compute_{tier}_max_size"]
    assert found["DesiredCapacity"] == inventory[f"compute_{tier}_desired_capacity"]
    assert found["TargetGroupARNs"] == [target_group_arn(fresh, f"{prefix}-{tier}")]
    assert found["HealthCheckType"] == "ELB"
    assert found["HealthCheckGracePeriod"] == inventory["compute_health_check_grace_period"]
    assert found["LaunchTemplate"]["LaunchTemplateName"] == f"{prefix}-{tier}"
    assert found["LaunchTemplate"]["Version"] == "1"
    assert {t["Key"]: (t["Value"], t["PropagateAtLaunch"]) for t in found["Tags"]} == {
        "Project": ("webstack", True),
        "Environment": (inventory["webstack_environment"], True),
        "Tier": (tier, True),
        "Name": (f"{prefix}-{tier}", True),
        "Owner": ("platform-team", True),
    }


def test_prod_runs_at_least_one_instance_per_az() -> None:
    for tier in TIERS:
        assert PROD[f"compute_{tier}_min_size"] >= max(2, len(PROD["webstack_azs"]))
    assert len(PROD["webstack_azs"]) >= 2
    assert len(STAGING["webstack_azs"]) == 1


@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("tier", TIERS)
def test_launch_templates_require_imdsv2_encrypt_and_stay_private(fresh: Emulator, env: str, tier: str) -> None:
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    version = template_version(fresh, f"{prefix}-{tier}")
    data = version["LaunchTemplateData"]

    assert version["VersionNumber"] == 1
    assert data["ImageId"] == parameter(fresh, DEBIAN_AMI)
    assert data["InstanceType"] == inventory[f"compute_{tier}_instance_type"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpEndpoint"] == "enabled"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["BlockDeviceMappings"], data
    for mapping in data["BlockDeviceMappings"]:
        assert mapping["Ebs"]["Encrypted"] is True
    assert data["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == inventory["compute_root_volume_size"]
    (interface,) = data["NetworkInterfaces"]
    assert interface["AssociatePublicIpAddress"] is False
    assert interface["Groups"] == [security_group_id(fresh, f"{prefix}-{tier}")]
    assert "SecurityGroupIds" not in data
    profile = f"arn:aws:iam::{account(fresh)}:instance-profile/{prefix}-{tier}-instance"
    assert data["IamInstanceProfile"]["Arn"] == profile
    # The emulator's DescribeLaunchTemplates shows only the tags given at creation; DescribeTags shows all.
    filters = [{"Name": "resource-id", "Values": [version["LaunchTemplateId"]]}]
    template_tags = tags(fresh.client("ec2").describe_tags(Filters=filters))
    assert template_tags["Tier"] == tier
    assert template_tags["Environment"] == inventory["webstack_environment"]


@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("tier", TIERS)
def test_user_data_fetches_and_applies_the_tier_bundle(fresh: Emulator, env: str, tier: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    script = user_data(fresh, prefix, tier)

    assert script.startswith("#!/bin/bash\n")
    syntax = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    instance = json.loads(script.split("<<'JSON'\n", 1)[1].split("\nJSON\n", 1)[0])
    assert instance == {
        "webstack_asg": f"{prefix}-{tier}",
        "webstack_bucket": f"{prefix}-bootstrap-{account(fresh)}",
        "webstack_bundle_key": f"bundles/{tier}/bundle.tar.gz",
        "webstack_environment": ENVS[env]["webstack_environment"],
        "webstack_health_check_path": "/healthz",
        "webstack_metrics_namespace": "CWAgent",
        "webstack_parameter_path": f"/{prefix}",
        "webstack_prefix": prefix,
        "webstack_project": "webstack",
        "webstack_region": "us-east-1",
        "webstack_service_port": 80 if tier == "frontend" else 8080,
        "webstack_tier": tier,
    }
    fetch = script.split("<<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    compile(fetch, "user-data-fetch", "exec")
    assert "ansible-playbook --connection=local --inventory=localhost, site.yml" in script
    assert "--extra-vars=@/etc/webstack/instance.json" in script
    assert "amazon-ssm-agent" in script


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_scaling_policies_track_the_inventory_targets(fresh: Emulator, env: str) -> None:
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    autoscaling = fresh.client("autoscaling")
    for tier in TIERS:
        policies = {
            p["PolicyName"]: p
            for p in autoscaling.describe_policies(AutoScalingGroupName=f"{prefix}-{tier}")["ScalingPolicies"]
        }
        wanted = {f"{prefix}-{tier}-cpu"}
        if inventory[f"compute_{tier}_requests_per_target"]:
            wanted.add(f"{prefix}-{tier}-requests")
        assert set(policies) == wanted
        cpu = policies[f"{prefix}-{tier}-cpu"]
        assert cpu["PolicyType"] == "TargetTrackingScaling"
        assert cpu["TargetTrackingConfiguration"]["TargetValue"] == inventory[f"compute_{tier}_cpu_target"]
        spec = cpu["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]
        assert spec["PredefinedMetricType"] == "ASGAverageCPUUtilization"
    requests = autoscaling.describe_policies(PolicyNames=[f"{prefix}-frontend-requests"])["ScalingPolicies"][0]
    config = requests["TargetTrackingConfiguration"]
    assert config["TargetValue"] == inventory["compute_frontend_requests_per_target"]
    spec = config["PredefinedMetricSpecification"]
    assert spec["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    tg = target_group_arn(fresh, f"{prefix}-frontend")
    (public_alb,) = fresh.client("elbv2").describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0][
        "LoadBalancerArns"
    ]
    assert spec["ResourceLabel"] == f"{public_alb.split(':loadbalancer/')[1]}/{tg.split(':')[-1]}"


@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("tier", TIERS)
def test_instance_roles_allow_no_more_than_listed(fresh: Emulator, env: str, tier: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    name = f"{prefix}-{tier}-instance"
    bucket = f"{prefix}-bootstrap-{account(fresh)}"
    iam = fresh.client("iam")

    role = iam.get_role(RoleName=name)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [SSM_CORE]
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [name]
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [name]

    document = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
    allowed_resources = (
        f"arn:aws:secretsmanager:us-east-1:{account(fresh)}:secret:{prefix}/",
        f"arn:aws:ssm:us-east-1:{account(fresh)}:parameter/{prefix}",
        f"arn:aws:s3:::{bucket}/bundles/{tier}/",
        f"arn:aws:logs:us-east-1:{account(fresh)}:log-group:/{prefix}/",
    )
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        statement_actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert set(statement_actions) <= ALLOWED_ACTIONS, statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            if resource == "*":
                assert statement_actions == ["cloudwatch:PutMetricData"], statement
                assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}
            elif resource == f"arn:aws:s3:::{bucket}":
                assert statement_actions == ["s3:ListBucket"]
                assert statement["Condition"] == {"StringLike": {"s3:prefix": [f"bundles/{tier}/*"]}}
            else:
                assert resource.startswith(allowed_resources), resource


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_bootstrap_bucket_is_encrypted_versioned_and_private(fresh: Emulator, env: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    bucket = f"{prefix}-bootstrap-{account(fresh)}"
    s3 = fresh.client("s3")

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    bucket_tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert bucket_tags["Environment"] == ENVS[env]["webstack_environment"]


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_internal_alb_forwards_to_the_backend_from_the_app_subnets(fresh: Emulator, env: str) -> None:
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    elbv2 = fresh.client("elbv2")
    (alb,) = elbv2.describe_load_balancers(Names=[f"{prefix}-internal"])["LoadBalancers"]

    assert alb["Scheme"] == "internal"
    subnets = app_subnets(fresh, inventory["webstack_environment"])
    assert sorted(az["SubnetId"] for az in alb["AvailabilityZones"]) == sorted(subnets.values())
    assert len(alb["AvailabilityZones"]) >= 2
    assert alb["SecurityGroups"] == [security_group_id(fresh, f"{prefix}-internal-alb")]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    backend = target_group_arn(fresh, f"{prefix}-backend")
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 80)
    assert [(a["Type"], a["TargetGroupArn"]) for a in listener["DefaultActions"]] == [("forward", backend)]
    (target_group,) = elbv2.describe_target_groups(TargetGroupArns=[backend])["TargetGroups"]
    assert (target_group["Protocol"], target_group["Port"]) == ("HTTP", 8080)
    assert target_group["HealthCheckPath"] == "/healthz"


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_outputs_are_published_in_ssm(fresh: Emulator, env: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    (alb,) = fresh.client("elbv2").describe_load_balancers(Names=[f"{prefix}-internal"])["LoadBalancers"]
    path = f"/{prefix}/compute"

    assert parameter(fresh, f"{path}/internal-alb-dns") == alb["DNSName"]
    assert parameter(fresh, f"{path}/internal-alb-port") == "80"
    assert parameter(fresh, f"{path}/bucket") == f"{prefix}-bootstrap-{account(fresh)}"
    assert parameter(fresh, f"{path}/bundle-prefix") == "bundles/"
    assert parameter(fresh, f"{path}/frontend-asg") == f"{prefix}-frontend"
    assert parameter(fresh, f"{path}/backend-asg") == f"{prefix}-backend"


# --------------------------------------------------------------------------- #
# Reruns and changes
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("inventory", ["staging", "prod"])
def test_second_run_changes_nothing_and_keeps_a_scale_out(fresh: Emulator, inventory: str) -> None:
    prefix = ENVS[inventory]["webstack_prefix"]
    scaled = ENVS[inventory]["compute_frontend_max_size"]
    fresh.client("autoscaling").set_desired_capacity(AutoScalingGroupName=f"{prefix}-frontend", DesiredCapacity=scaled)
    mark = fresh.mark()

    run = run_playbook(fresh, f"inventories/{inventory}", "provision.yml")

    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert mutating(fresh.since(mark)) == []
    assert group(fresh, f"{prefix}-frontend")["DesiredCapacity"] == scaled


def test_check_mode_on_a_deployed_environment_predicts_no_change(fresh: Emulator) -> None:
    mark = fresh.mark()

    run = run_playbook(fresh, "inventories/staging", "provision.yml", "--check")

    assert run.returncode == 0, run.output
    assert changed_tasks(run.output, "compute") == []
    assert mutating(fresh.since(mark)) == []


# --------------------------------------------------------------------------- #
# Refused inputs
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"compute_backend_min_size": 3, "compute_backend_max_size": 2}, "compute_backend_min_size"),
        ({"compute_frontend_desired_capacity": 5}, "compute_frontend_desired_capacity"),
        ({"compute_backend_desired_capacity": 0}, "compute_backend_desired_capacity"),
        ({"compute_frontend_instance_type": "t3-small"}, "compute_frontend_instance_type"),
        ({"compute_backend_instance_type": "t3.huge"}, "compute_backend_instance_type"),
        ({"compute_ami_id": "ami-0123456789abcdef0"}, "compute_ami_id"),
        ({"compute_ami_id": "debian-12"}, "compute_ami_id"),
        ({"compute_asg_azs": ["us-east-1a", "us-east-1b"]}, "compute_asg_azs"),
    ],
    ids=[
        "min-above-max",
        "desired-above-max",
        "desired-below-min",
        "malformed-type",
        "unknown-size",
        "missing-ami",
        "malformed-ami",
        "az-not-in-staging",
    ],
)
def test_bad_input_is_refused_before_any_mutating_call(
    fresh: Emulator, tmp_path: Path, changes: dict[str, Any], named: str
) -> None:
    inventory = make_inventory(tmp_path, "staging", changes)
    mark = fresh.mark()

    run = run_playbook(fresh, inventory, "provision.yml")

    assert run.returncode != 0
    assert named in run.output, run.output
    assert "Check the compute inputs" in run.output
    sent = actions(fresh.since(mark))
    assert mutating(fresh.since(mark)) == []
    assert set(sent) <= {"DescribeImages"}, sent
    if "compute_ami_id" in changes and changes["compute_ami_id"].startswith("ami-"):
        assert sent == ["DescribeImages"]


def test_production_refuses_a_single_instance_tier(fresh: Emulator, tmp_path: Path) -> None:
    inventory = make_inventory(tmp_path, "prod", {"compute_backend_min_size": 1, "compute_backend_desired_capacity": 1})
    mark = fresh.mark()

    run = run_playbook(fresh, inventory, "provision.yml")

    assert run.returncode != 0
    assert "compute_backend_min_size: 1 is too few for Production" in " ".join(run.output.split())
    assert mutating(fresh.since(mark)) == []


# --------------------------------------------------------------------------- #
# A changed instance type, then teardown from that state
# --------------------------------------------------------------------------- #
# In staging, so that staging's teardown below meets templates with two versions.
def test_a_new_instance_type_makes_a_template_version_and_rolls_the_group(fresh: Emulator, tmp_path: Path) -> None:
    inventory = make_inventory(tmp_path, "staging", {"compute_frontend_instance_type": "t3.large"})
    mark = fresh.mark()

    run = run_playbook(fresh, inventory, "provision.yml")

    assert run.returncode == 0, run.output
    DEPLOYED["staging"] = inventory
    sent = actions(fresh.since(mark))
    assert sent.count("CreateLaunchTemplateVersion") == 1
    assert sent.count("UpdateAutoScalingGroup") == 1
    assert sent.count("StartInstanceRefresh") == 1
    latest = template_version(fresh, "webstack-staging-frontend", "$Latest")
    assert latest["VersionNumber"] == 2
    assert latest["DefaultVersion"] is True
    assert latest["LaunchTemplateData"]["InstanceType"] == "t3.large"
    assert latest["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"
    # The new version's user data reads back as the first one's: the same script.
    first = template_version(fresh, "webstack-staging-frontend", "1")["LaunchTemplateData"]["UserData"]
    assert latest["LaunchTemplateData"]["UserData"] == first
    assert user_data(fresh, "webstack-staging", "frontend").startswith("#!/bin/bash\n")
    assert group(fresh, "webstack-staging-frontend")["LaunchTemplate"]["Version"] == "2"
    assert group(fresh, "webstack-staging-backend")["LaunchTemplate"]["Version"] == "1"
    autoscaling = fresh.client("autoscaling")
    (refresh,) = autoscaling.describe_instance_refreshes(AutoScalingGroupName="webstack-staging-frontend")[
        "InstanceRefreshes"
    ]
    assert refresh["Preferences"]["MinHealthyPercentage"] == STAGING["compute_min_healthy_percentage"]
    backend = autoscaling.describe_instance_refreshes(AutoScalingGroupName="webstack-staging-backend")
    assert backend["InstanceRefreshes"] == []
    assert group(fresh, "webstack-prod-frontend")["LaunchTemplate"]["Version"] == "1"

    mark = fresh.mark()
    again = run_playbook(fresh, inventory, "provision.yml")

    assert again.returncode == 0, again.output
    assert again.changed == 0, again.output
    assert mutating(fresh.since(mark)) == []


def compute_layer(fresh: Emulator, prefix: str) -> dict[str, Any]:
    """What the emulator reports of one environment's compute layer (and the instances of its groups)."""
    autoscaling, ec2, elbv2, iam, s3, ssm = (
        fresh.client(s) for s in ("autoscaling", "ec2", "elbv2", "iam", "s3", "ssm")
    )

    def ours(name: str) -> bool:
        return name.startswith(f"{prefix}-")

    def pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]

    groups = {
        g["AutoScalingGroupName"]: {
            "launch_template": g["LaunchTemplate"],
            "sizes": (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]),
            "target groups": g["TargetGroupARNs"],
            "instances": sorted((i["InstanceId"], i["LaunchTemplate"]["Version"]) for i in g["Instances"]),
            "policies": sorted(
                p["PolicyName"]
                for p in autoscaling.describe_policies(AutoScalingGroupName=g["AutoScalingGroupName"])[
                    "ScalingPolicies"
                ]
            ),
        }
        for g in pages(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups")
        if ours(g["AutoScalingGroupName"])
    }
    templates = {
        t["LaunchTemplateName"]: {
            "id": t["LaunchTemplateId"],
            "default": t["DefaultVersionNumber"],
            "versions": [
                (v["VersionNumber"], v["LaunchTemplateData"]["InstanceType"], v["LaunchTemplateData"].get("UserData"))
                for v in ec2.describe_launch_template_versions(LaunchTemplateId=t["LaunchTemplateId"])[
                    "LaunchTemplateVersions"
                ]
            ],
        }
        for t in pages(ec2, "describe_launch_templates", "LaunchTemplates")
        if ours(t["LaunchTemplateName"])
    }
    roles = {
        r["RoleName"]: {
            "inline": iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"],
            "attached": [
                p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=r["RoleName"])["AttachedPolicies"]
            ],
        }
        for r in pages(iam, "list_roles", "Roles")
        if ours(r["RoleName"])
    }
    profiles = {
        p["InstanceProfileName"]: [r["RoleName"] for r in p["Roles"]]
        for p in pages(iam, "list_instance_profiles", "InstanceProfiles")
        if ours(p["InstanceProfileName"])
    }
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"{prefix}-bootstrap-"))
    load_balancers = {
        lb["LoadBalancerName"]: lb["LoadBalancerArn"]
        for lb in pages(elbv2, "describe_load_balancers", "LoadBalancers")
        if lb["LoadBalancerName"] == f"{prefix}-internal"
    }
    target_groups = {
        g["TargetGroupName"]: g["TargetGroupArn"]
        for g in pages(elbv2, "describe_target_groups", "TargetGroups")
        if g["TargetGroupName"] == f"{prefix}-backend"
    }
    parameters = {
        p["Name"]: p["Value"]
        for p in pages(ssm, "get_parameters_by_path", "Parameters", Path=f"/{prefix}/compute", Recursive=True)
    }
    return {
        "groups": groups,
        "launch templates": templates,
        "roles": roles,
        "instance profiles": profiles,
        "buckets": buckets,
        "internal ALB": load_balancers,
        "backend target group": target_groups,
        "SSM outputs": parameters,
    }


NOTHING = {
    "groups": {},
    "launch templates": {},
    "roles": {},
    "instance profiles": {},
    "buckets": [],
    "internal ALB": {},
    "backend target group": {},
    "SSM outputs": {},
}
PROD_BEFORE_TEARDOWN: dict[str, Any] = {}


def test_staging_teardown_after_a_second_template_version_removes_its_tiers_and_spares_prod(fresh: Emulator) -> None:
    staging = compute_layer(fresh, "webstack-staging")
    # What the previous test left: the teardown meets a template with two versions, the group on the second.
    assert [v[0] for v in staging["launch templates"]["webstack-staging-frontend"]["versions"]] == [1, 2]
    assert staging["groups"]["webstack-staging-frontend"]["launch_template"]["Version"] == "2"
    assert all(staging[kind] for kind in NOTHING), staging
    PROD_BEFORE_TEARDOWN.update(compute_layer(fresh, "webstack-prod"))
    assert all(PROD_BEFORE_TEARDOWN[kind] for kind in NOTHING), PROD_BEFORE_TEARDOWN
    bucket = f"webstack-staging-bootstrap-{account(fresh)}"
    s3 = fresh.client("s3")
    # The bucket refuses requests without TLS, and the emulator speaks plain HTTP.
    s3.delete_bucket_policy(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="bundles/frontend/bundle.tar.gz", Body=b"one")
    s3.put_object(Bucket=bucket, Key="bundles/frontend/bundle.tar.gz", Body=b"two")
    mark = fresh.mark()

    # The inventory staging was last provisioned from (the changed instance type).
    run = run_playbook(fresh, DEPLOYED.get("staging", "inventories/staging"), "teardown.yml")

    assert run.returncode == 0, run.output
    assert "Failed to delete template versions" not in run.output, run.output
    sent = actions(fresh.since(mark))
    assert sent.count("DeleteLaunchTemplateVersions") == 1  # the frontend's version 1; the backend has one version
    assert sent.count("DeleteLaunchTemplate") == 2
    assert compute_layer(fresh, "webstack-staging") == NOTHING
    assert compute_layer(fresh, "webstack-prod") == PROD_BEFORE_TEARDOWN
    template_ids = [t["id"] for t in staging["launch templates"].values()]
    leftover = fresh.client("ec2").describe_tags(Filters=[{"Name": "resource-id", "Values": template_ids}])["Tags"]
    assert leftover == []


def test_a_second_staging_teardown_changes_nothing(fresh: Emulator) -> None:
    mark = fresh.mark()

    run = run_playbook(fresh, DEPLOYED.get("staging", "inventories/staging"), "teardown.yml")

    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert mutating(fresh.since(mark)) == []
    assert compute_layer(fresh, "webstack-staging") == NOTHING
    assert compute_layer(fresh, "webstack-prod") == PROD_BEFORE_TEARDOWN


# The emulator's DeleteLaunchTemplateVersions (scripts/emulator.py), which the teardown above relies on.
def test_the_emulator_deletes_launch_template_versions_but_not_the_default(fresh: Emulator) -> None:
    ec2 = fresh.client("ec2")
    data = {"ImageId": parameter(fresh, DEBIAN_AMI), "UserData": base64.b64encode(b"#!/bin/sh\n").decode()}
    template = ec2.create_launch_template(LaunchTemplateName="emulator-check", LaunchTemplateData=data)
    template_id = template["LaunchTemplate"]["LaunchTemplateId"]
    for instance_type in ("t3.small", "t3.medium"):
        ec2.create_launch_template_version(
            LaunchTemplateId=template_id, LaunchTemplateData={**data, "InstanceType": instance_type}
        )
    try:
        with pytest.raises(ClientError) as refused:
            ec2.delete_launch_template_versions(LaunchTemplateId=template_id, Versions=["1", "2"])
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"

        answer = ec2.delete_launch_template_versions(LaunchTemplateName="emulator-check", Versions=["2", "9"])

        item = {"LaunchTemplateId": template_id, "LaunchTemplateName": "emulator-check"}
        assert answer["SuccessfullyDeletedLaunchTemplateVersions"] == [{**item, "VersionNumber": 2}]
        (missing,) = answer["UnsuccessfullyDeletedLaunchTemplateVersions"]
        assert missing["VersionNumber"] == 9
        assert missing["ResponseError"]["Code"] == "launchTemplateVersionDoesNotExist"
        # Numbers are not reused, and every version keeps its user data.
        again = ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=data)
        assert again["LaunchTemplateVersion"]["VersionNumber"] == 4
        versions = ec2.describe_launch_template_versions(LaunchTemplateId=template_id)["LaunchTemplateVersions"]
        assert [v["VersionNumber"] for v in versions] == [1, 3, 4]
        assert {v["LaunchTemplateData"]["UserData"] for v in versions} == {data["UserData"]}
    finally:
        ec2.delete_launch_template(LaunchTemplateId=template_id)
    assert (
        ec2.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": ["emulator-check"]}])[
            "LaunchTemplates"
        ]
        == []
    )
