"""An environment as its inventory describes it, read the way ansible-playbook reads it.

Ansible's own inventory manager loads the inventory folder (group_vars/all/*.yml, the links
to inventories/shared/ resolved), the roles' defaults/main.yml fill in what the inventory does
not set (the lowest precedence, as for a play), and Ansible's templar resolves the expressions
(``webstack_prefix: "{{ webstack_project }}-{{ webstack_env }}"``). No value is copied here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .model import Environment, Mysql, Redis, Tier

ROOT = Path(__file__).resolve().parents[2]
# The roles of provision.yml whose defaults the diagram reads.
ROLES = ("shared_edge", "network", "data", "identity", "edge", "compute")


def inventory_variables(inventory: Path) -> dict[str, Any]:
    """Every variable localhost has in ``inventory`` during provision.yml, templated."""
    # The project's ansible.cfg (inventory_ignore_patterns skips the aws_ec2 sources), and the
    # YAML inventory plugin only: reading the folder must not query EC2.
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    os.environ["ANSIBLE_INVENTORY_ENABLED"] = "yaml"
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(inventory)])
    host = manager.get_host("localhost")
    if host is None:
        raise ValueError(f"{inventory}: expected the host localhost (hosts.yml), found {manager.hosts}")
    variables: dict[str, Any] = {}
    for role in ROLES:
        # A role's defaults are templates of the project's own, as when a play loads the role.
        defaults = loader.load_from_file(str(ROOT / "roles" / role / "defaults" / "main.yml")) or {}
        variables.update(trusted(defaults, trust_as_template))
    variables.update(VariableManager(loader=loader, inventory=manager).get_vars(host=host, include_hostvars=False))
    templar = Templar(loader=loader, variables=variables)
    return {name: templar.template(value) for name, value in variables.items() if not name.startswith("ansible_")}


def trusted(value: Any, trust: Any) -> Any:
    """``value`` with every string in it marked as a template Ansible may render."""
    if isinstance(value, str):
        return trust(value)
    if isinstance(value, dict):
        return {key: trusted(inner, trust) for key, inner in value.items()}
    if isinstance(value, list):
        return [trusted(inner, trust) for inner in value]
    return value


def tier(variables: dict[str, Any], name: str) -> Tier:
    def value(key: str) -> Any:
        return variables[f"compute_{name}_{key}"]

    return Tier(
        instance_type=str(value("instance_type")),
        min_size=int(value("min_size")),
        max_size=int(value("max_size")),
        desired_capacity=int(value("desired_capacity")),
        azs=tuple(variables["compute_azs"]),
    )


def from_variables(variables: dict[str, Any], source: str = "") -> Environment:
    """The environment the deployment builds from these variables (what the roles derive from them)."""
    env = str(variables["webstack_env"])
    site = variables["webstack_edge_sites"][env]
    azs = tuple(variables["webstack_azs"])
    replica = bool(variables["data_mysql_read_replica"])
    return Environment(
        env=env,
        environment=str(variables["webstack_environment"]),
        prefix=str(variables["webstack_prefix"]),
        region=str(variables["webstack_region"]),
        domain=str(variables["webstack_edge_domain"]),
        hosts=tuple(site["hosts"]),
        rule_priority=int(site["rule_priority"]),
        cognito=bool(variables["webstack_cognito_enabled"]),
        azs=azs,
        public_subnets=dict(sorted(variables["webstack_edge_public_subnets"].items())),
        app_subnets=dict(sorted(variables["network_app_subnets"].items())),
        data_subnets=dict(sorted(variables["network_data_subnets"].items())),
        # roles/network/tasks/nat_gateways.yml: one per instance AZ, or one in the first.
        nat_azs=azs if variables["network_nat_mode"] == "per_az" else azs[:1],
        frontend=tier(variables, "frontend"),
        backend=tier(variables, "backend"),
        mysql=Mysql(
            instance_class=str(variables["data_mysql_instance_class"]),
            multi_az=bool(variables["data_mysql_multi_az"]),
            read_replica=replica,
            replica_instance_class=str(variables["data_mysql_replica_instance_class"]) if replica else "",
        ),
        redis=Redis(
            node_type=str(variables["data_redis_node_type"]),
            replicas=int(variables["data_redis_replicas"]),
            multi_az=bool(variables["data_redis_multi_az"]),
        ),
        source=source,
    )


def from_inventory(inventory: Path | str) -> Environment:
    path = Path(inventory)
    return from_variables(inventory_variables(path), source=str(path))
