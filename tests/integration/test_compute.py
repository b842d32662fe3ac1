"""The compute layer of both environments, as the emulator reports it.

The deployed-stack tests read the shared deployment (stack.py) at their step:
the groups, launch templates, IAM, bucket, internal ALB and outputs; reruns
that keep a scale-out; a changed instance type rolling through staging's
group (a launch template version 2); staging's teardown from that state, then
again. Check mode on an empty account, refused inputs and the emulator's
launch-template versions run in this worker's own emulator.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import Emulator, actions, changed_tasks, inventory_vars, make_inventory, mutating, run_playbook, tags
from .stack import NEW_IMAGE, Stack, compute_layer

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
    "ec2:CreateTags",
}


def group(aws: Any, name: str) -> dict[str, Any]:
    (found,) = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return found


def template_version(aws: Any, name: str, version: str = "$Default") -> dict[str, Any]:
    (found,) = aws.client("ec2").describe_launch_template_versions(LaunchTemplateName=name, Versions=[version])[
        "LaunchTemplateVersions"
    ]
    return found


def target_group_arn(aws: Any, name: str) -> str:
    return aws.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]


def app_subnets(aws: Any, environment: str) -> dict[str, str]:
    subnets = aws.client("ec2").describe_subnets(
        Filters=[{"Name": "tag:Environment", "Values": [environment]}, {"Name": "tag:Tier", "Values": ["app"]}]
    )["Subnets"]
    return {subnet["AvailabilityZone"]: subnet["SubnetId"] for subnet in subnets}


def security_group_id(aws: Any, name: str) -> str:
    (found,) = aws.client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])[
        "SecurityGroups"
    ]
    return found["GroupId"]


def parameter(aws: Any, name: str) -> str:
    return aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]


def account(aws: Any) -> str:
    return aws.client("sts").get_caller_identity()["Account"]


def user_data(aws: Any, prefix: str, tier: str) -> str:
    return base64.b64decode(template_version(aws, f"{prefix}-{tier}")["LaunchTemplateData"]["UserData"]).decode()


# --------------------------------------------------------------------------- #
# Check mode and provisioning
# --------------------------------------------------------------------------- #
def test_check_mode_on_an_empty_account_creates_nothing(empty_account: Emulator) -> None:
    mark = empty_account.mark()

    run = run_playbook(empty_account, "inventories/staging", "provision.yml", "--check", "--diff")

    assert run.returncode == 0, run.output
    assert "ELB health checks: frontend, absent" in run.output
    assert mutating(empty_account.since(mark)) == []


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("inventory", ["staging", "prod"])
def test_provision(stack: Stack, inventory: str) -> None:
    run = stack.runs[f"provision-{inventory}"]

    assert run.returncode == 0, run.output
    assert changed_tasks(run.output, "compute")


# --------------------------------------------------------------------------- #
# What was built
# --------------------------------------------------------------------------- #
@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("tier", TIERS)
def test_groups_span_the_inventory_azs_behind_their_target_group(stack: Stack, env: str, tier: str) -> None:
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    found = group(stack, f"{prefix}-{tier}")
    subnets = app_subnets(stack, inventory["webstack_environment"])

    assert sorted(found["VPCZoneIdentifier"].split(",")) == sorted(subnets[az] for az in inventory["webstack_azs"])
    assert sorted(found["AvailabilityZones"]) == sorted(inventory["webstack_azs"])
    assert found["MinSize"] == inventory[f"compute_{tier}_min_size"]
    assert found["MaxSize"] == inventory[f"compute_{tier}_max_size"]
    assert found["DesiredCapacity"] == inventory[f"compute_{tier}_desired_capacity"]
    assert found["TargetGroupARNs"] == [target_group_arn(stack, f"{prefix}-{tier}")]
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


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("tier", TIERS)
def test_launch_templates_require_imdsv2_encrypt_and_stay_private(stack: Stack, env: str, tier: str) -> None:
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    version = template_version(stack, f"{prefix}-{tier}")
    data = version["LaunchTemplateData"]

    assert version["VersionNumber"] == 1
    assert data["ImageId"] == parameter(stack, DEBIAN_AMI)
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
    assert interface["Groups"] == [security_group_id(stack, f"{prefix}-{tier}")]
    assert "SecurityGroupIds" not in data
    profile = f"arn:aws:iam::{account(stack)}:instance-profile/{prefix}-{tier}-instance"
    assert data["IamInstanceProfile"]["Arn"] == profile
    # The emulator's DescribeLaunchTemplates shows only the tags given at creation; DescribeTags shows all.
    filters = [{"Name": "resource-id", "Values": [version["LaunchTemplateId"]]}]
    template_tags = tags(stack.client("ec2").describe_tags(Filters=filters))
    assert template_tags["Tier"] == tier
    assert template_tags["Environment"] == inventory["webstack_environment"]


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_running_instances_carry_their_templates_imdsv2_role_and_encrypted_root(stack: Stack, env: str) -> None:
    """What a check of running instances sees (docs/EMULATOR.md E40): the template's IMDSv2 options,
    instance profile and encrypted root volume, and no other volume."""
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    ec2 = stack.client("ec2")
    for tier in TIERS:
        ids = [i["InstanceId"] for i in group(stack, f"{prefix}-{tier}")["Instances"]]
        assert ids
        for instance in (i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]):
            assert instance["MetadataOptions"]["HttpTokens"] == "required"
            assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
            assert instance["IamInstanceProfile"]["Arn"].endswith(f":instance-profile/{prefix}-{tier}-instance")
            assert instance["RootDeviceName"] == "/dev/xvda"
            filters = [{"Name": "attachment.instance-id", "Values": [instance["InstanceId"]]}]
            volumes = ec2.describe_volumes(Filters=filters)["Volumes"]
            assert [(v["Attachments"][0]["Device"], v["Size"], v["Encrypted"]) for v in volumes] == [
                ("/dev/xvda", inventory["compute_root_volume_size"], True)
            ]


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("tier", TIERS)
def test_user_data_fetches_and_applies_the_tier_bundle(stack: Stack, env: str, tier: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    script = user_data(stack, prefix, tier)

    assert script.startswith("#!/bin/bash\n")
    syntax = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    instance = json.loads(script.split("<<'JSON'\n", 1)[1].split("\nJSON\n", 1)[0])
    assert instance == {
        "webstack_asg": f"{prefix}-{tier}",
        "webstack_bucket": f"{prefix}-bootstrap-{account(stack)}",
        "webstack_bundle_key": f"bundles/{tier}/bundle.tar.gz",
        "webstack_environment": ENVS[env]["webstack_environment"],
        "webstack_health_check_path": "/healthz",
        "webstack_metrics_namespace": prefix,
        "webstack_parameter_path": f"/{prefix}",
        "webstack_prefix": prefix,
        "webstack_project": "webstack",
        "webstack_region": "us-east-1",
        "webstack_service_port": 80 if tier == "frontend" else 8080,
        "webstack_tier": tier,
    }
    # The bundle's fetch and the instance's tagging: Python that compiles.
    snippets = [part.split("\nPY\n", 1)[0] for part in script.split("<<'PY'")[1:]]
    assert len(snippets) == 2
    for number, snippet in enumerate(snippets):
        compile(snippet.split("\n", 1)[1], f"user-data-python-{number}", "exec")
    # Ansible from the bundle's wheels, the bundle's site.yml (the boot path itself: tests/hosts/test_boot_path.py).
    assert '-r "$wheels/ansible.txt"' in script
    assert 'ANSIBLE_CONFIG=/opt/webstack/bundle/ansible.cfg "$venv/bin/ansible-playbook" site.yml' in script
    assert "--extra-vars=@/etc/webstack/instance.json" in script
    assert "amazon-ssm-agent" in script


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_scaling_policies_track_the_inventory_targets(stack: Stack, env: str) -> None:
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    autoscaling = stack.client("autoscaling")
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
    tg = target_group_arn(stack, f"{prefix}-frontend")
    (public_alb,) = stack.client("elbv2").describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0][
        "LoadBalancerArns"
    ]
    assert spec["ResourceLabel"] == f"{public_alb.split(':loadbalancer/')[1]}/{tg.split(':')[-1]}"


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("tier", TIERS)
def test_instance_roles_allow_no_more_than_listed(stack: Stack, env: str, tier: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    name = f"{prefix}-{tier}-instance"
    bucket = f"{prefix}-bootstrap-{account(stack)}"
    iam = stack.client("iam")

    role = iam.get_role(RoleName=name)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    assert [s.get("Condition") for s in trust["Statement"]] == [
        {"StringEqualsIfExists": {"aws:SourceAccount": account(stack)}}
    ]
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [SSM_CORE]
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [name]
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [name]

    document = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
    allowed_resources = (
        f"arn:aws:secretsmanager:us-east-1:{account(stack)}:secret:{prefix}/",
        f"arn:aws:ssm:us-east-1:{account(stack)}:parameter/{prefix}",
        f"arn:aws:s3:::{bucket}/bundles/{tier}/",
        f"arn:aws:logs:us-east-1:{account(stack)}:log-group:/{prefix}/",
    )
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        statement_actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert set(statement_actions) <= ALLOWED_ACTIONS, statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            if resource == "*":
                assert statement_actions == ["cloudwatch:PutMetricData"], statement
                # The environment's own namespace: the one its agent writes to and its alarms read.
                assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": prefix}}
            elif resource == f"arn:aws:ec2:us-east-1:{account(stack)}:instance/*":
                # Only itself, only its bundle version (roles/compute/templates/user_data.sh.j2, step 6).
                assert statement_actions == ["ec2:CreateTags"]
                assert statement["Condition"] == {
                    "StringEquals": {
                        "aws:ARN": "${ec2:SourceInstanceARN}",
                        "aws:ResourceTag/Environment": ENVS[env]["webstack_environment"],
                    },
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["webstack:bundle-version"]},
                }
            elif resource == f"arn:aws:s3:::{bucket}":
                assert statement_actions == ["s3:ListBucket"]
                assert statement["Condition"] == {"StringLike": {"s3:prefix": [f"bundles/{tier}/*"]}}
            else:
                assert resource.startswith(allowed_resources), resource


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_bootstrap_bucket_is_encrypted_versioned_and_private(stack: Stack, env: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    bucket = f"{prefix}-bootstrap-{account(stack)}"
    s3 = stack.client("s3")

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


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_internal_alb_forwards_to_the_backend_from_the_app_subnets(stack: Stack, env: str) -> None:
    inventory = ENVS[env]
    prefix = inventory["webstack_prefix"]
    elbv2 = stack.client("elbv2")
    (alb,) = elbv2.describe_load_balancers(Names=[f"{prefix}-internal"])["LoadBalancers"]

    assert alb["Scheme"] == "internal"
    subnets = app_subnets(stack, inventory["webstack_environment"])
    assert sorted(az["SubnetId"] for az in alb["AvailabilityZones"]) == sorted(subnets.values())
    assert len(alb["AvailabilityZones"]) >= 2
    assert alb["SecurityGroups"] == [security_group_id(stack, f"{prefix}-internal-alb")]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    backend = target_group_arn(stack, f"{prefix}-backend")
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 80)
    assert [(a["Type"], a["TargetGroupArn"]) for a in listener["DefaultActions"]] == [("forward", backend)]
    (target_group,) = elbv2.describe_target_groups(TargetGroupArns=[backend])["TargetGroups"]
    assert (target_group["Protocol"], target_group["Port"]) == ("HTTP", 8080)
    assert target_group["HealthCheckPath"] == "/healthz"
    attributes = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=alb["LoadBalancerArn"])["Attributes"]
    }
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    protected = inventory.get("compute_internal_alb_deletion_protection", False)
    assert attributes["deletion_protection.enabled"] == str(protected).lower()
    assert protected is (env == "prod")


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_outputs_are_published_in_ssm(stack: Stack, env: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    (alb,) = stack.client("elbv2").describe_load_balancers(Names=[f"{prefix}-internal"])["LoadBalancers"]
    path = f"/{prefix}/compute"

    assert parameter(stack, f"{path}/internal-alb-dns") == alb["DNSName"]
    assert parameter(stack, f"{path}/internal-alb-port") == "80"
    assert parameter(stack, f"{path}/bucket") == f"{prefix}-bootstrap-{account(stack)}"
    assert parameter(stack, f"{path}/bundle-prefix") == "bundles/"
    assert parameter(stack, f"{path}/frontend-asg") == f"{prefix}-frontend"
    assert parameter(stack, f"{path}/backend-asg") == f"{prefix}-backend"


# --------------------------------------------------------------------------- #
# Reruns and changes
# --------------------------------------------------------------------------- #
@pytest.mark.stack("rerun")
@pytest.mark.parametrize("inventory", ["staging", "prod"])
def test_second_run_changes_nothing_and_keeps_a_scale_out(stack: Stack, inventory: str) -> None:
    prefix = ENVS[inventory]["webstack_prefix"]
    scaled = ENVS[inventory]["compute_frontend_max_size"]
    # The step set the frontend's desired capacity to its maximum before the rerun.
    assert stack.recorded[f"scaled-out-{inventory}"] == scaled

    run = stack.runs[f"rerun-{inventory}"]

    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert changed_tasks(run.output, "compute") == []
    assert mutating(run.requests) == []
    assert group(stack, f"{prefix}-frontend")["DesiredCapacity"] == scaled


@pytest.mark.stack("check")
def test_check_mode_on_a_deployed_environment_predicts_no_change(stack: Stack) -> None:
    run = stack.runs["check-staging"]

    assert run.returncode == 0, run.output
    assert changed_tasks(run.output, "compute") == []
    assert mutating(run.requests) == []


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
    emulator: Emulator, tmp_path: Path, changes: dict[str, Any], named: str
) -> None:
    inventory = make_inventory(tmp_path, "staging", changes)
    mark = emulator.mark()

    run = run_playbook(emulator, inventory, "provision.yml")

    assert run.returncode != 0
    assert named in run.output, run.output
    assert "Check the compute inputs" in run.output
    sent = actions(emulator.since(mark))
    assert mutating(emulator.since(mark)) == []
    assert set(sent) <= {"DescribeImages"}, sent
    if "compute_ami_id" in changes and changes["compute_ami_id"].startswith("ami-"):
        assert sent == ["DescribeImages"]


def test_production_refuses_a_single_instance_tier(emulator: Emulator, tmp_path: Path) -> None:
    inventory = make_inventory(tmp_path, "prod", {"compute_backend_min_size": 1, "compute_backend_desired_capacity": 1})
    mark = emulator.mark()

    run = run_playbook(emulator, inventory, "provision.yml")

    assert run.returncode != 0
    assert "compute_backend_min_size: 1 is too few for Production" in " ".join(run.output.split())
    assert mutating(emulator.since(mark)) == []


# --------------------------------------------------------------------------- #
# A changed instance type, then teardown from that state
# --------------------------------------------------------------------------- #
# In staging, so that staging's teardown below meets templates with two versions. The
# compute layer alone is provisioned: it reads what it stands on by names and tags.
@pytest.mark.stack("instance-type")
def test_a_new_instance_type_makes_a_template_version_and_rolls_the_group(stack: Stack) -> None:
    run = stack.runs["instance-type"]

    assert run.returncode == 0, run.output
    sent = actions(run.requests)
    assert sent.count("CreateLaunchTemplateVersion") == 1
    # The group is not updated: the refresh names the new version and moves the group when it succeeds.
    assert sent.count("UpdateAutoScalingGroup") == 0
    assert sent.count("StartInstanceRefresh") == 1
    latest = template_version(stack, "webstack-staging-frontend", "$Latest")
    assert latest["VersionNumber"] == 2
    assert latest["DefaultVersion"] is True
    assert latest["LaunchTemplateData"]["InstanceType"] == "t3.large"
    assert latest["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"
    # The new version's user data reads back as the first one's: the same script.
    first = template_version(stack, "webstack-staging-frontend", "1")["LaunchTemplateData"]["UserData"]
    assert latest["LaunchTemplateData"]["UserData"] == first
    assert user_data(stack, "webstack-staging", "frontend").startswith("#!/bin/bash\n")
    assert group(stack, "webstack-staging-frontend")["LaunchTemplate"]["Version"] == "2"
    assert group(stack, "webstack-staging-backend")["LaunchTemplate"]["Version"] == "1"
    autoscaling = stack.client("autoscaling")
    (refresh,) = autoscaling.describe_instance_refreshes(AutoScalingGroupName="webstack-staging-frontend")[
        "InstanceRefreshes"
    ]
    # Launch before terminating, roll back a failed refresh (issue 18).
    assert refresh["Preferences"]["MinHealthyPercentage"] == STAGING["compute_min_healthy_percentage"] == 100
    assert refresh["Preferences"]["MaxHealthyPercentage"] == STAGING["compute_max_healthy_percentage"] == 200
    assert refresh["Preferences"]["AutoRollback"] is True
    assert refresh["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "2"
    backend = autoscaling.describe_instance_refreshes(AutoScalingGroupName="webstack-staging-backend")
    assert backend["InstanceRefreshes"] == []
    assert group(stack, "webstack-prod-frontend")["LaunchTemplate"]["Version"] == "1"
    assert compute_layer(stack, "webstack-prod") == stack.recorded["prod-compute-before-instance-type"]

    again = stack.runs["instance-type-again"]

    assert again.returncode == 0, again.output
    assert again.changed == 0, again.output
    assert mutating(again.requests) == []


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


@pytest.mark.stack("staging-teardown")
def test_staging_teardown_after_a_second_template_version_removes_its_tiers_and_spares_prod(stack: Stack) -> None:
    staging = stack.recorded["staging-compute-before-teardown"]
    prod_before = stack.recorded["prod-before-staging-teardown"]["compute"]
    # What the instance-type and new-image steps left: the teardown meets templates with several
    # versions (frontend 3, backend 2), the groups on the latest.
    assert [v[0] for v in staging["launch templates"]["webstack-staging-frontend"]["versions"]] == [1, 2, 3]
    assert [v[0] for v in staging["launch templates"]["webstack-staging-backend"]["versions"]] == [1, 2]
    assert staging["groups"]["webstack-staging-frontend"]["launch_template"]["Version"] == "3"
    assert all(staging[kind] for kind in NOTHING), staging
    assert all(prod_before[kind] for kind in NOTHING), prod_before

    # Run from the inventory staging was last provisioned from (the changed instance type),
    # with two versions of a bundle in the bucket.
    run = stack.runs["teardown-staging"]

    assert run.returncode == 0, run.output
    assert "Failed to delete template versions" not in run.output, run.output
    sent = actions(run.requests)
    assert sent.count("DeleteLaunchTemplateVersions") == 2  # each template's older versions
    assert sent.count("DeleteLaunchTemplate") == 2
    assert compute_layer(stack, "webstack-staging") == NOTHING
    assert compute_layer(stack, "webstack-prod") == prod_before
    template_ids = [t["id"] for t in staging["launch templates"].values()]
    leftover = stack.client("ec2").describe_tags(Filters=[{"Name": "resource-id", "Values": template_ids}])["Tags"]
    assert leftover == []


@pytest.mark.stack("staging-teardown")
def test_a_second_staging_teardown_changes_nothing(stack: Stack) -> None:
    run = stack.runs["teardown-staging-again"]

    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert mutating(run.requests) == []
    assert compute_layer(stack, "webstack-staging") == NOTHING
    assert compute_layer(stack, "webstack-prod") == stack.recorded["prod-before-staging-teardown"]["compute"]


# moto deletes a protected load balancer, AWS refuses (docs/EMULATOR.md E35): the order of the tasks shows
# the protection lifted first.
@pytest.mark.stack("prod-teardown")
def test_prod_teardown_lifts_the_internal_alb_deletion_protection_before_deleting_it(stack: Stack) -> None:
    run = stack.runs["teardown-prod"]

    assert run.returncode == 0, run.output[-5000:]
    changed = [" ".join(task.split()) for task in changed_tasks(run.output, "compute")]
    lifted = "TASK [compute : Ensure the internal ALB's deletion protection is lifted] *"
    deleted = "TASK [compute : Ensure the internal ALB is deleted] *"
    assert [task.rstrip("*").rstrip() + " *" for task in changed if "internal ALB" in task][:2] == [lifted, deleted]
    assert stack.client("elbv2").describe_load_balancers()["LoadBalancers"] == []


# The emulator's DeleteLaunchTemplateVersions (scripts/emulator.py), which the teardown above relies on.
def test_the_emulator_deletes_launch_template_versions_but_not_the_default(empty_account: Emulator) -> None:
    ec2 = empty_account.client("ec2")
    data = {"ImageId": parameter(empty_account, DEBIAN_AMI), "UserData": base64.b64encode(b"#!/bin/sh\n").decode()}
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


# --------------------------------------------------------------------------- #
# Debian publishes a new image
# --------------------------------------------------------------------------- #
@pytest.mark.stack("new-image")
def test_a_new_debian_image_rolls_nothing_until_asked_for(stack: Stack) -> None:
    kept = stack.runs["new-image-kept"]

    assert kept.returncode == 0, kept.output
    assert kept.changed == 0, kept.output
    assert mutating(kept.requests) == []
    assert NEW_IMAGE not in stack.recorded["images-after-new-image-kept"].values()


@pytest.mark.stack("new-image")
def test_compute_ami_refresh_makes_one_version_and_one_refresh_per_group(stack: Stack) -> None:
    run = stack.runs["new-image-refresh"]

    assert run.returncode == 0, run.output
    sent = actions(run.requests)
    assert sent.count("CreateLaunchTemplateVersion") == 2
    assert sent.count("StartInstanceRefresh") == 2
    for tier in ("frontend", "backend"):
        latest = template_version(stack, f"webstack-staging-{tier}", "$Latest")
        assert latest["LaunchTemplateData"]["ImageId"] == NEW_IMAGE
        assert group(stack, f"webstack-staging-{tier}")["LaunchTemplate"]["Version"] == str(latest["VersionNumber"])
    published = stack.client("ssm").get_parameter(Name="/webstack-staging/compute/ami-id")["Parameter"]["Value"]
    assert published == NEW_IMAGE
    assert compute_layer(stack, "webstack-prod") == stack.recorded["prod-compute-before-new-image"]

    again = stack.runs["new-image-again"]
    assert again.returncode == 0, again.output
    assert again.changed == 0, again.output
    assert mutating(again.requests) == []
