"""One deployed stack for the whole test session, and the ordered changes made to it.

Deploying prod and staging takes minutes, so the integration tests of every
layer share one deployment instead of each building its own. The stack lives
in its own emulator and moves through ``STEPS`` in order, once:

    deploy            provision prod, then staging's site.yml (with a SAML and an OIDC provider; the bundle published)
    rerun             scale both frontends out, then rerun staging and prod (a no-op that keeps the scale-out)
    check             --check --diff of site.yml on the deployed staging
    rotate            rotate-secrets.yml on staging: a bad rotate_secrets (refused), --check, then for real with
                      -v, resuming a MySQL password an interrupted run left as AWSPENDING
    layers-alone      each layer alone, and each layer selection README.md shows, on staging then prod (no-ops);
                      prod's edge alone with Cognito switched on and no identity outputs (refused)
    refused           prod's teardown without confirmation; staging's teardown asking for the edge
    instance-type     staging's frontend instance type changed, provisioned with the compute layer alone, twice
    new-image         Debian publishes a new image: staging's compute layer alone, then with compute_ami_refresh,
                      then again
    provider-dropped  staging's OIDC provider removed from the inventory, the identity layer alone, twice
    staging-teardown  staging torn down (from the changed inventory), then again
    prod-teardown     prod torn down with confirmation and the shared edge, then again

A step records each playbook run (output, recap, and the requests the
emulator answered during it) and what it needs to compare before and after
(snapshots taken by the step itself). Tests only read: a test marked
``@pytest.mark.stack("refused")`` runs once the stack has reached that step
and before any later step; ``pytest_collection_modifyitems`` (conftest.py)
sorts the marked tests by step, so the order of files never matters, and a
test selected alone still brings the stack to its step first.

Staging's deploy, rerun, check, rotation, instance-type change and teardowns run with
Ansible's stock ``linear`` strategy, and prod's (and the layers-alone runs)
with the project's default (ansible.cfg), so both strategies stay under test.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, Emulator, Run, make_inventory, run_playbook, tags

STEPS = [
    "deploy",
    "rerun",
    "check",
    "rotate",
    "layers-alone",
    "refused",
    "instance-type",
    "new-image",
    "provider-dropped",
    "staging-teardown",
    "prod-teardown",
]

OIDC_SECRET = "oidc-client-secret-7f3a9c"  # noqa: S105 -- a test value, stored in the emulator's Secrets Manager
SAML_METADATA = """<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
      Location="https://idp.example.com/saml/sso"/>
  </IDPSSODescriptor>
</EntityDescriptor>
"""
IDENTITY_PROVIDERS = [
    {"name": "corp-saml", "type": "SAML", "attribute_mapping": {"email": "mail"}},
    {
        "name": "corp-oidc",
        "type": "OIDC",
        "issuer": "https://idp.example.com",
        "client_id": "webstack-staging",
        "client_secret_name": "webstack-staging/idp/corp-oidc",
    },
]
# Staging's runs (but the layers-alone ones) use the stock strategy; prod's ansible.cfg's default.
STOCK_STRATEGY = {"ANSIBLE_STRATEGY": "linear"}
LAYERS = ["shared_edge", "network", "data", "identity", "edge", "compute", "monitoring"]


def readme_layer_selections() -> list[list[str]]:
    """Every ``provision_layers`` list README.md shows in an example command, in order."""
    text = (ROOT / "README.md").read_text()
    return [json.loads(found) for found in re.findall(r'"provision_layers":\s*(\[[^\]]*\])', text)]


def layer_selections() -> list[list[str]]:
    """What the layers-alone step runs on each environment: every layer alone, then README's selections."""
    selections = [[layer] for layer in LAYERS]
    return selections + [found for found in readme_layer_selections() if found not in selections]


def alone_run_name(env: str, layers: list[str]) -> str:
    return f"alone-{env}-{'-'.join(layers)}"


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]


# --------------------------------------------------------------------------- #
# Snapshots: what one environment owns, as the emulator reports it
# --------------------------------------------------------------------------- #
def live_nats(ec2: Any, environment: str) -> list[dict[str, Any]]:
    nats = ec2.describe_nat_gateways(Filter=[{"Name": "state", "Values": ["pending", "available"]}])["NatGateways"]
    return [nat for nat in nats if tags(nat).get("Environment") == environment]


def owned(ec2: Any, describe: str, key: str, environment: str, **extra: Any) -> list[dict[str, Any]]:
    filters = [
        {"Name": "tag:Project", "Values": ["webstack"]},
        {"Name": "tag:Environment", "Values": [environment]},
        *extra.pop("Filters", []),
    ]
    return getattr(ec2, describe)(Filters=filters, **extra)[key]


def network_layer(aws: Any, environment: str) -> dict[str, list[str]]:
    ec2 = aws.client("ec2")
    return {
        "subnets": sorted(s["SubnetId"] for s in owned(ec2, "describe_subnets", "Subnets", environment)),
        "groups": sorted(g["GroupId"] for g in owned(ec2, "describe_security_groups", "SecurityGroups", environment)),
        "nats": sorted(n["NatGatewayId"] for n in live_nats(ec2, environment)),
        "tables": sorted(t["RouteTableId"] for t in owned(ec2, "describe_route_tables", "RouteTables", environment)),
        "addresses": sorted(a["AllocationId"] for a in owned(ec2, "describe_addresses", "Addresses", environment)),
    }


def compute_layer(aws: Any, prefix: str) -> dict[str, Any]:
    """What the emulator reports of one environment's compute layer (and the instances of its groups)."""
    autoscaling, ec2, elbv2, iam, s3, ssm = (aws.client(s) for s in ("autoscaling", "ec2", "elbv2", "iam", "s3", "ssm"))

    def ours(name: str) -> bool:
        return name.startswith(f"{prefix}-")

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


def data_layer(aws: Any, prefix: str) -> dict[str, Any]:
    rds, elasticache, secrets, ssm, backup = (
        aws.client(s) for s in ("rds", "elasticache", "secretsmanager", "ssm", "backup")
    )
    return {
        "instances": sorted(
            (i["DBInstanceIdentifier"], i["DeletionProtection"])
            for i in rds.describe_db_instances()["DBInstances"]
            if i["DBInstanceIdentifier"].startswith(f"{prefix}-")
        ),
        "redis": sorted(
            g["ReplicationGroupId"]
            for g in elasticache.describe_replication_groups()["ReplicationGroups"]
            if g["ReplicationGroupId"].startswith(f"{prefix}-") and g["Status"] != "deleting"
        ),
        "secrets": sorted(
            s["Name"] for s in secrets.list_secrets()["SecretList"] if s["Name"].startswith(f"{prefix}/")
        ),
        "SSM outputs": {
            p["Name"]: p["Value"]
            for p in pages(ssm, "get_parameters_by_path", "Parameters", Path=f"/{prefix}/data", Recursive=True)
        },
        "backup": sorted(
            name
            for name in [p["BackupPlanName"] for p in backup.list_backup_plans()["BackupPlansList"]]
            + [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]]
            if name.startswith(f"{prefix}-")
        ),
    }


def secret_values(aws: Any, prefix: str) -> tuple[str, str]:
    secrets = aws.client("secretsmanager")
    return (
        secrets.get_secret_value(SecretId=f"{prefix}/mysql/master")["SecretString"],
        secrets.get_secret_value(SecretId=f"{prefix}/redis/auth-token")["SecretString"],
    )


# --------------------------------------------------------------------------- #
# The stack and its steps
# --------------------------------------------------------------------------- #
@dataclass
class Stack:
    """The shared deployment: its emulator, the runs of each step, and what the steps recorded."""

    emulator: Emulator
    workdir: Path
    reached: int = -1
    broken: str = ""
    runs: dict[str, Run] = field(default_factory=dict)
    recorded: dict[str, Any] = field(default_factory=dict)
    inventories: dict[str, Path | str] = field(default_factory=dict)

    # The emulator's helpers, so that tests and snapshots take a Stack or an Emulator alike.
    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    def mark(self) -> int:
        return self.emulator.mark()

    def since(self, mark: int) -> list[dict[str, str]]:
        return self.emulator.since(mark)

    def play(self, name: str, inventory: Path | str, playbook: str, *args: str, stock: bool = False) -> Run:
        """Run a playbook, keep its output and the requests it sent under ``name``."""
        mark = self.mark()
        run = run_playbook(self.emulator, inventory, playbook, *args, extra_env=STOCK_STRATEGY if stock else None)
        run.requests = self.since(mark)
        self.runs[name] = run
        (self.workdir / f"{name}.log").write_text(run.output)
        return run

    def reach(self, step: str) -> None:
        """Run every step up to ``step`` that has not run yet; fail if the stack is already past it."""
        index = STEPS.index(step)
        if self.broken:
            pytest.fail(f"the shared stack broke earlier: {self.broken}")
        if index < self.reached:
            pytest.fail(
                f"the shared stack is past step {step!r} (it reached {STEPS[self.reached]!r}): "
                "tests marked with a step run in the order conftest.py sorts them"
            )
        while self.reached < index:
            name = STEPS[self.reached + 1]
            try:
                STEP_ACTIONS[name](self)
            except BaseException as error:
                self.broken = f"step {name!r}: {error}"
                raise
            self.reached += 1

    def require(self, run: Run) -> Run:
        """A run the next steps build on: a failure stops the stack, with the run's end in the message."""
        if run.returncode != 0:
            raise RuntimeError(f"rc={run.returncode}\n{run.output[-6000:]}")
        return run


def deploy(stack: Stack) -> None:
    folder = stack.workdir / "staging-idp"
    folder.mkdir()
    metadata = folder / "corp-saml.xml"
    metadata.write_text(SAML_METADATA)
    stack.client("secretsmanager").create_secret(Name="webstack-staging/idp/corp-oidc", SecretString=OIDC_SECRET)
    providers = [
        {**IDENTITY_PROVIDERS[0], "metadata_file": str(metadata)},
        IDENTITY_PROVIDERS[1],
    ]
    stack.inventories["prod"] = "inventories/prod"
    stack.inventories["staging"] = make_inventory(folder, "staging", {"identity_providers": providers})
    stack.require(stack.play("provision-prod", "inventories/prod", "provision.yml", "--diff"))
    # Staging runs site.yml: provision, then the host bundle published (configure finds no instance).
    stack.require(stack.play("provision-staging", stack.inventories["staging"], "site.yml", "--diff", stock=True))


def rerun(stack: Stack) -> None:
    autoscaling = stack.client("autoscaling")
    for env in ("staging", "prod"):
        prefix = f"webstack-{env}"
        stack.recorded[f"secrets-before-rerun-{env}"] = secret_values(stack, prefix)
        scaled = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{prefix}-frontend"])[
            "AutoScalingGroups"
        ][0]["MaxSize"]
        autoscaling.set_desired_capacity(AutoScalingGroupName=f"{prefix}-frontend", DesiredCapacity=scaled)
        stack.recorded[f"scaled-out-{env}"] = scaled
        playbook = "site.yml" if env == "staging" else "provision.yml"
        stack.play(f"rerun-{env}", stack.inventories[env], playbook, stock=env == "staging")
        stack.recorded[f"secrets-after-rerun-{env}"] = secret_values(stack, prefix)


def check(stack: Stack) -> None:
    stack.play("check-staging", stack.inventories["staging"], "site.yml", "--check", "--diff", stock=True)


def rotation_state(aws: Any, prefix: str) -> dict[str, Any]:
    """Each secret's labels and current value, and what the replication group says of its AUTH token."""
    secrets = aws.client("secretsmanager")
    redis = aws.client("elasticache").describe_replication_groups(ReplicationGroupId=f"{prefix}-redis")
    (group,) = redis["ReplicationGroups"]
    state: dict[str, Any] = {
        "auth token": (group["AuthTokenEnabled"], group["AuthTokenLastModifiedDate"]),
    }
    for name in (f"{prefix}/mysql/master", f"{prefix}/redis/auth-token"):
        state[name] = {
            "current": secrets.get_secret_value(SecretId=name)["SecretString"],
            "labels": sorted(
                label
                for labels in secrets.describe_secret(SecretId=name)["VersionIdsToStages"].values()
                for label in labels
            ),
        }
    return state


def rotate(stack: Stack) -> None:
    """Staging's secrets rotated; prod's must not move."""
    staging = stack.inventories["staging"]
    stack.play("rotate-refused", staging, "rotate-secrets.yml", "-e", '{"rotate_secrets": ["mysql", "ldap"]}')
    for env in ("staging", "prod"):
        stack.recorded[f"rotation-before-{env}"] = rotation_state(stack, f"webstack-{env}")
    stack.play("rotate-check", staging, "rotate-secrets.yml", "--check", stock=True)
    stack.recorded["rotation-after-check"] = rotation_state(stack, "webstack-staging")
    # A run interrupted after it stored the new MySQL password: the next one must set and promote that one.
    secrets = stack.client("secretsmanager")
    current = json.loads(secrets.get_secret_value(SecretId="webstack-staging/mysql/master")["SecretString"])
    pending = {**current, "password": "Interrupted0Run0Left0This0Value0"}
    secrets.put_secret_value(
        SecretId="webstack-staging/mysql/master", SecretString=json.dumps(pending), VersionStages=["AWSPENDING"]
    )
    stack.recorded["rotation-interrupted-value"] = json.dumps(pending)
    # No grace period between ROTATE and SET here: nothing reads the token.
    stack.play("rotate", staging, "rotate-secrets.yml", "-v", "-e", "data_rotate_redis_grace_seconds=0", stock=True)
    for env in ("staging", "prod"):
        stack.recorded[f"rotation-after-{env}"] = rotation_state(stack, f"webstack-{env}")


def layers_alone(stack: Stack) -> None:
    """Each layer alone on the deployed environments: a layer finds its upstream through the published outputs."""
    seconds: dict[str, float] = {}
    for env in ("staging", "prod"):
        for layers in layer_selections():
            name = alone_run_name(env, layers)
            started = time.monotonic()
            selected = ("-e", json.dumps({"provision_layers": layers}))
            # The project's default strategy for both: thirteen short runs, and staging's
            # deploy, rerun, check, instance-type and teardowns keep the stock strategy under test.
            stack.play(name, stack.inventories[env], "provision.yml", *selected)
            seconds[name] = round(time.monotonic() - started, 1)
    # Prod guarded by Cognito, whose identity layer never ran: the edge must refuse before any change.
    folder = stack.workdir / "prod-cognito"
    folder.mkdir()
    guarded = make_inventory(folder, "prod", {"webstack_cognito_enabled": True, "identity_deletion_protection": True})
    started = time.monotonic()
    stack.play("alone-prod-edge-unpublished-identity", guarded, "provision.yml", "-e", '{"provision_layers": ["edge"]}')
    seconds["alone-prod-edge-unpublished-identity"] = round(time.monotonic() - started, 1)
    stack.recorded["layers-alone-seconds"] = seconds
    (stack.workdir / "layers-alone-seconds.json").write_text(json.dumps(seconds, indent=2))


def refused(stack: Stack) -> None:
    stack.play("teardown-prod-unconfirmed", "inventories/prod", "teardown.yml")
    stack.recorded["prod-data-after-refusal"] = data_layer(stack, "webstack-prod")
    stack.play("teardown-edge-in-use", stack.inventories["staging"], "teardown.yml", "-e", "teardown_edge=true")


def instance_type(stack: Stack) -> None:
    stack.recorded["prod-compute-before-instance-type"] = compute_layer(stack, "webstack-prod")
    # On top of the inventory staging was deployed from (its identity providers stay).
    changed = Path(stack.inventories["staging"])
    overrides = changed / "group_vars" / "all" / "zz_test_overrides.yml"
    values = yaml.safe_load(overrides.read_text())
    values["compute_frontend_instance_type"] = "t3.large"
    overrides.write_text(yaml.safe_dump(values))
    compute_only = ("-e", json.dumps({"provision_layers": ["compute"]}))
    stack.play("instance-type", changed, "provision.yml", *compute_only, stock=True)
    stack.play("instance-type-again", changed, "provision.yml", *compute_only, stock=True)


# The Debian parameter staging's launch templates were built from.
DEBIAN_AMI_PARAMETER = "/aws/service/debian/release/bookworm/latest/amd64"
# Another of the AMIs moto loads: Debian's "newer image" in the new-image step.
NEW_IMAGE = "ami-0e9271c829888680e"


def new_image(stack: Stack) -> None:
    """Debian publishes a new image: kept out of a plain run, taken with compute_ami_refresh."""
    stack.recorded["prod-compute-before-new-image"] = compute_layer(stack, "webstack-prod")
    published = json.dumps({"name": DEBIAN_AMI_PARAMETER, "value": NEW_IMAGE}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.emulator.port}/webstack-emulator/publish-debian-ami", data=published, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback emulator
        pass
    compute_only = ("-e", json.dumps({"provision_layers": ["compute"]}))
    inventory = stack.inventories["staging"]
    stack.play("new-image-kept", inventory, "provision.yml", *compute_only, stock=True)
    ec2 = stack.client("ec2")
    stack.recorded["images-after-new-image-kept"] = {
        tier: ec2.describe_launch_template_versions(
            LaunchTemplateName=f"webstack-staging-{tier}", Versions=["$Latest"]
        )["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"]
        for tier in ("frontend", "backend")
    }
    stack.play(
        "new-image-refresh", inventory, "provision.yml", *compute_only, "-e", "compute_ami_refresh=true", stock=True
    )
    stack.play("new-image-again", inventory, "provision.yml", *compute_only, stock=True)


def provider_dropped(stack: Stack) -> None:
    """The OIDC provider leaves staging's inventory: the identity layer alone removes it from the pool."""
    overrides = Path(stack.inventories["staging"]) / "group_vars" / "all" / "zz_test_overrides.yml"
    values = yaml.safe_load(overrides.read_text())
    values["identity_providers"] = [item for item in values["identity_providers"] if item["name"] != "corp-oidc"]
    overrides.write_text(yaml.safe_dump(values))
    identity_only = ("-e", json.dumps({"provision_layers": ["identity"]}))
    stack.play("provider-dropped", stack.inventories["staging"], "provision.yml", *identity_only, stock=True)
    stack.play("provider-dropped-again", stack.inventories["staging"], "provision.yml", *identity_only, stock=True)


def staging_teardown(stack: Stack) -> None:
    stack.recorded["staging-compute-before-teardown"] = compute_layer(stack, "webstack-staging")
    stack.recorded["prod-before-staging-teardown"] = {
        "network": network_layer(stack, "Production"),
        "compute": compute_layer(stack, "webstack-prod"),
        "data": data_layer(stack, "webstack-prod"),
    }
    account = stack.client("sts").get_caller_identity()["Account"]
    s3 = stack.client("s3")
    bucket = f"webstack-staging-bootstrap-{account}"
    # A second version of the bundle the deploy published: the teardown removes every version.
    s3.put_object(Bucket=bucket, Key="bundles/frontend/bundle.tar.gz", Body=b"two")
    stack.play("teardown-staging", stack.inventories["staging"], "teardown.yml", stock=True)
    stack.play("teardown-staging-again", stack.inventories["staging"], "teardown.yml", stock=True)


def prod_teardown(stack: Stack) -> None:
    confirmed = ("-e", "confirm_teardown=webstack-prod", "-e", "teardown_edge=true")
    account = stack.client("sts").get_caller_identity()["Account"]
    # An access log the public ALB delivered: the edge's teardown empties the bucket before deleting it.
    stack.client("s3").put_object(
        Bucket=f"webstack-edge-alb-logs-{account}",
        Key=f"webstack-edge-alb/AWSLogs/{account}/elasticloadbalancing/us-east-1/log.gz",
        Body=b"log",
    )
    stack.play("teardown-prod", "inventories/prod", "teardown.yml", *confirmed)
    stack.play("teardown-prod-again", "inventories/prod", "teardown.yml", *confirmed)


STEP_ACTIONS: dict[str, Callable[[Stack], None]] = {
    "deploy": deploy,
    "rerun": rerun,
    "check": check,
    "rotate": rotate,
    "layers-alone": layers_alone,
    "refused": refused,
    "instance-type": instance_type,
    "new-image": new_image,
    "provider-dropped": provider_dropped,
    "staging-teardown": staging_teardown,
    "prod-teardown": prod_teardown,
}
assert list(STEP_ACTIONS) == STEPS
