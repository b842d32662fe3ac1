"""A provision killed halfway is finished by the next run, with no duplicates."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .conftest import Emulator, inventory_vars, kill_when, only_layers, run_playbook, start_playbook, tags

pytestmark = pytest.mark.integration

# This file tests its own layers; the others have their own test files.
LAYERS = only_layers("shared_edge", "network")

PROD = inventory_vars("prod")


def project_resources(ec2: Any) -> dict[str, Counter[str]]:
    """Count the project's resources by Name (or by CIDR for subnets)."""
    project = [{"Name": "tag:Project", "Values": ["webstack"]}]
    vpcs = ec2.describe_vpcs(Filters=project)["Vpcs"]
    vpc_ids = [v["VpcId"] for v in vpcs]
    in_vpc = [{"Name": "vpc-id", "Values": vpc_ids}]
    nats = ec2.describe_nat_gateways(Filter=[*in_vpc, {"Name": "state", "Values": ["pending", "available"]}])
    groups = ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
    return {
        "vpcs": Counter(v["CidrBlock"] for v in vpcs),
        "subnets": Counter(s["CidrBlock"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]),
        "nat_gateways": Counter(n["SubnetId"] for n in nats["NatGateways"]),
        "addresses": Counter(tags(a).get("Name", "untagged") for a in ec2.describe_addresses()["Addresses"]),
        "route_tables": Counter(
            tags(t).get("Name", "main") for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
        ),
        "security_groups": Counter(g["GroupName"] for g in groups),
        "internet_gateways": Counter(
            i["InternetGatewayId"]
            for i in ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": vpc_ids}])[
                "InternetGateways"
            ]
        ),
    }


@pytest.mark.parametrize(
    ("action", "count"),
    [
        pytest.param("CreateSubnet", 3, id="after-the-third-subnet"),
        pytest.param("CreateNatGateway", 1, id="after-the-first-nat-gateway-before-its-tags"),
    ],
)
def test_killed_provision_converges_without_duplicates(
    emulator: Emulator, tmp_path: Path, action: str, count: int
) -> None:
    emulator.reset()
    ec2 = emulator.client("ec2")
    mark = emulator.mark()
    process = start_playbook(emulator, "inventories/prod", "provision.yml", *LAYERS, log=tmp_path / "killed.log")
    kill_when(emulator, process, action, count, since=mark)

    run = run_playbook(emulator, "inventories/prod", "provision.yml", *LAYERS)
    assert run.returncode == 0, run.output

    resources = project_resources(ec2)
    for kind, counts in resources.items():
        assert all(n == 1 for n in counts.values()), f"duplicate {kind}: {counts}"
    assert len(resources["vpcs"]) == 1
    expected_subnets = (
        len(PROD["webstack_edge_public_subnets"]) + len(PROD["network_app_subnets"]) + len(PROD["network_data_subnets"])
    )
    assert sum(resources["subnets"].values()) == expected_subnets
    assert sum(resources["nat_gateways"].values()) == len(PROD["webstack_azs"])
    assert sum(resources["addresses"].values()) == len(PROD["webstack_azs"])
    nats = ec2.describe_nat_gateways(Filter=[{"Name": "state", "Values": ["available"]}])["NatGateways"]
    assert all(tags(n).get("Environment") == "Production" for n in nats), "every NAT gateway ends up tagged"

    again = run_playbook(emulator, "inventories/prod", "provision.yml", *LAYERS)
    assert again.returncode == 0, again.output
    assert again.changed == 0, again.output
