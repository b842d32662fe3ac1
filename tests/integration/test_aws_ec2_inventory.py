"""The aws_ec2 inventory sources group each environment's instances, and only when named.

inventories/<env>/instances.aws_ec2.yml lists the running instances tagged
Project=webstack and the environment's Environment tag, grouped by environment
(env_production, env_non_production) and tier (tier_frontend, tier_backend).
ansible.cfg ignores the file when the folder is the inventory, so a run with
-i inventories/<env> makes no AWS request while loading it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, Emulator, playbook_env

# The tests share the instances launched once below: one xdist worker runs them together.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("aws_ec2_inventory")]

ANSIBLE_INVENTORY = str(Path(sys.executable).parent / "ansible-inventory")
DEBIAN_AMI = "/aws/service/debian/release/bookworm/latest/amd64"

# name: tags; what the ASGs of each environment give their instances, and what must stay out.
INSTANCES: dict[str, dict[str, str]] = {
    "prod-frontend-a": {"Project": "webstack", "Environment": "Production", "Tier": "frontend"},
    "prod-frontend-b": {"Project": "webstack", "Environment": "Production", "Tier": "frontend"},
    "prod-backend-a": {"Project": "webstack", "Environment": "Production", "Tier": "backend"},
    "staging-frontend-a": {"Project": "webstack", "Environment": "Non-Production", "Tier": "frontend"},
    "staging-backend-a": {"Project": "webstack", "Environment": "Non-Production", "Tier": "backend"},
    # Another project's instance with the same Environment and Tier tags.
    "foreign-frontend": {"Project": "other", "Environment": "Production", "Tier": "frontend"},
    # A stopped webstack instance (stopped below).
    "prod-backend-stopped": {"Project": "webstack", "Environment": "Production", "Tier": "backend"},
}


@pytest.fixture(scope="module")
def fresh(emulator: Emulator) -> Emulator:
    """This worker's emulator, emptied once for the module: its tests share the instances below."""
    emulator.reset()
    return emulator


@pytest.fixture(scope="module")
def instances(fresh: Emulator) -> dict[str, dict[str, str]]:
    """Launch INSTANCES on the emulator; return name -> {id, private_ip}."""
    ec2 = fresh.client("ec2")
    image_id = fresh.client("ssm").get_parameter(Name=DEBIAN_AMI)["Parameter"]["Value"]
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.30.16.0/22", AvailabilityZone="us-east-1a")["Subnet"][
        "SubnetId"
    ]
    launched = {}
    for name, instance_tags in INSTANCES.items():
        tag_list = [{"Key": key, "Value": value} for key, value in {**instance_tags, "Name": name}.items()]
        instance = ec2.run_instances(
            ImageId=image_id,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet_id,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}],
        )["Instances"][0]
        launched[name] = {"id": instance["InstanceId"], "private_ip": instance["PrivateIpAddress"]}
    ec2.stop_instances(InstanceIds=[launched["prod-backend-stopped"]["id"]])
    return launched


def inventory_list(emulator: Emulator, source: Path) -> dict[str, Any]:
    process = subprocess.run(
        [ANSIBLE_INVENTORY, "-i", str(source), "--list"],
        cwd=ROOT,
        env=playbook_env(emulator),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    return json.loads(process.stdout)


def plain(value: Any) -> Any:
    """A hostvar's value: ansible-inventory --list wraps values from EC2 as {"__ansible_unsafe": value}."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def hosts_of(inventory: dict[str, Any], group: str) -> set[str]:
    return set(inventory.get(group, {}).get("hosts", []))


def ids(instances: dict[str, dict[str, str]], *names: str) -> set[str]:
    return {instances[name]["id"] for name in names}


@pytest.mark.parametrize(
    ("env", "env_group", "other_env_group", "frontend", "backend"),
    [
        ("prod", "env_production", "env_non_production", ["prod-frontend-a", "prod-frontend-b"], ["prod-backend-a"]),
        ("staging", "env_non_production", "env_production", ["staging-frontend-a"], ["staging-backend-a"]),
    ],
)
def test_named_source_groups_the_environments_running_instances_by_tier(
    instances: dict[str, dict[str, str]],
    fresh: Emulator,
    env: str,
    env_group: str,
    other_env_group: str,
    frontend: list[str],
    backend: list[str],
) -> None:
    mark = fresh.mark()

    inventory = inventory_list(fresh, ROOT / "inventories" / env / "instances.aws_ec2.yml")

    assert hosts_of(inventory, env_group) == ids(instances, *frontend, *backend)
    assert hosts_of(inventory, "tier_frontend") == ids(instances, *frontend)
    assert hosts_of(inventory, "tier_backend") == ids(instances, *backend)
    assert other_env_group not in inventory
    hostvars = inventory["_meta"]["hostvars"]
    assert set(hostvars) == ids(instances, *frontend, *backend)
    for name in [*frontend, *backend]:
        host = hostvars[instances[name]["id"]]
        assert plain(host["ansible_host"]) == instances[name]["private_ip"]
        assert plain(host["ansible_aws_ssm_instance_id"]) == instances[name]["id"]
        # The environment's group_vars, next to the source, apply to its instances.
        assert host["webstack_environment"] == INSTANCES[name]["Environment"]
    assert [request["action"] for request in fresh.since(mark)] == ["DescribeInstances"]


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_inventory_folder_leaves_the_source_out_and_sends_nothing(
    instances: dict[str, dict[str, str]], fresh: Emulator, env: str
) -> None:
    mark = fresh.mark()

    inventory = inventory_list(fresh, ROOT / "inventories" / env)

    assert fresh.since(mark) == []
    assert set(inventory["_meta"]["hostvars"]) == {"localhost"}
    assert not {"tier_frontend", "tier_backend", "env_production", "env_non_production", "aws_ec2"} & inventory.keys()
