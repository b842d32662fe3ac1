"""How the layers hand off: what each publishes in SSM Parameter Store is what AWS (the emulator) holds.

The shared edge (its own role, shared_edge) publishes under
/webstack-edge/shared-edge/, each environment's network under
/<prefix>/network/ and its entry on the edge under /<prefix>/edge/. The next
layers read these and nothing else, so the values must be the live ids; a
layer run before its upstream published them stops before any change, naming
what is missing. Teardowns remove what they published.
"""

from __future__ import annotations

import json

import pytest

from .conftest import Emulator, mutating, only_layers, run_playbook, tags
from .stack import Stack

pytestmark = pytest.mark.integration

SHARED_PATH = "/webstack-edge/shared-edge/"
ENVIRONMENTS = {"prod": "Production", "staging": "Non-Production"}


def published(stack: Stack, path: str) -> dict[str, str]:
    """The parameters under ``path``, by their names relative to it."""
    pages = stack.client("ssm").get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
    return {item["Name"][len(path) :]: item["Value"] for page in pages for item in page["Parameters"]}


@pytest.mark.stack("deploy")
def test_the_shared_edge_publishes_its_live_ids(stack: Stack) -> None:
    outputs = published(stack, SHARED_PATH)
    ec2, elbv2 = stack.client("ec2"), stack.client("elbv2")

    vpc = ec2.describe_vpcs(VpcIds=[outputs["vpc-id"]])["Vpcs"][0]
    assert tags(vpc)["Name"] == "webstack-edge-vpc"
    assert outputs["vpc-cidr"] == vpc["CidrBlock"]
    public = json.loads(outputs["public-subnet-ids"])
    subnets = ec2.describe_subnets(SubnetIds=list(public.values()))["Subnets"]
    assert {subnet["SubnetId"]: subnet["AvailabilityZone"] for subnet in subnets} == {v: k for k, v in public.items()}
    assert all(tags(subnet)["Tier"] == "public" for subnet in subnets)

    alb = elbv2.describe_load_balancers(Names=["webstack-edge-alb"])["LoadBalancers"][0]
    assert outputs["alb-arn"] == alb["LoadBalancerArn"]
    assert outputs["alb-dns-name"] == alb["DNSName"]
    assert outputs["alb-zone-id"] == alb["CanonicalHostedZoneId"]
    assert len(outputs) <= 9, "one page of GetParametersByPath holds ten, and the tenth asks for another"
    listeners = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert outputs["https-listener-arn"] == next(item["ListenerArn"] for item in listeners if item["Port"] == 443)
    zone = stack.client("route53").get_hosted_zone(Id=outputs["hosted-zone-id"])["HostedZone"]
    assert zone["Name"] == "example.com."
    certificate = stack.client("acm").describe_certificate(CertificateArn=outputs["certificate-arn"])["Certificate"]
    assert certificate["Status"] == "ISSUED"


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_network_publishes_the_environments_subnets_and_groups(stack: Stack, env: str) -> None:
    outputs = published(stack, f"/webstack-{env}/network/")
    ec2 = stack.client("ec2")

    assert outputs["vpc-id"] == published(stack, SHARED_PATH)["vpc-id"]
    for tier in ("app", "data"):
        ids = json.loads(outputs[f"{tier}-subnet-ids"])
        subnets = ec2.describe_subnets(SubnetIds=list(ids.values()))["Subnets"]
        assert {s["AvailabilityZone"]: s["SubnetId"] for s in subnets} == ids
        assert {(tags(s)["Tier"], tags(s)["Environment"]) for s in subnets} == {(tier, ENVIRONMENTS[env])}
    groups = json.loads(outputs["security-group-ids"])
    assert sorted(groups) == sorted(
        f"webstack-{env}-{name}" for name in ("frontend", "internal-alb", "backend", "redis", "mysql")
    )
    found = ec2.describe_security_groups(GroupIds=list(groups.values()))["SecurityGroups"]
    assert {group["GroupName"]: group["GroupId"] for group in found} == groups


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_edge_publishes_the_target_group_its_host_rule_forwards_to(stack: Stack, env: str) -> None:
    outputs = published(stack, f"/webstack-{env}/edge/")
    group = stack.client("elbv2").describe_target_groups(Names=[f"webstack-{env}-frontend"])["TargetGroups"][0]

    assert outputs["frontend-target-group-arn"] == group["TargetGroupArn"]
    assert outputs["load-balancer-arn"] in group["LoadBalancerArns"]
    assert outputs["url"].startswith("https://")


def test_a_layer_before_its_upstream_stops_naming_the_missing_outputs(empty_account: Emulator) -> None:
    mark = empty_account.mark()

    run = run_playbook(empty_account, "inventories/staging", "provision.yml", *only_layers("network"))

    flat = " ".join(run.output.split())
    assert run.returncode != 0
    assert "/webstack-edge/shared-edge/vpc-id" in flat, run.output[-3000:]
    assert '"provision_layers": ["shared_edge", "network"]' in flat
    assert mutating(empty_account.since(mark)) == []


@pytest.mark.stack("prod-teardown")
def test_teardowns_remove_every_published_output(stack: Stack) -> None:
    pages = stack.client("ssm").get_paginator("describe_parameters").paginate()
    names = [item["Name"] for page in pages for item in page["Parameters"]]
    assert [
        name for name in names if name.startswith(("/webstack-edge/", "/webstack-prod/", "/webstack-staging/"))
    ] == []
