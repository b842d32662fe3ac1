"""What one environment is made of, as the diagram draws it and as the as-built mode compares it.

The same ``Environment`` comes from two places: an inventory (``inventory.py``, the values the
deployment reads) and an AWS account (``asbuilt.py``, what the deployment made). ``differences``
compares two of them field by field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tier:
    """An Auto Scaling group: where its instances run and how many."""

    instance_type: str
    min_size: int
    max_size: int
    desired_capacity: int
    azs: tuple[str, ...]


@dataclass(frozen=True)
class Mysql:
    instance_class: str
    multi_az: bool
    read_replica: bool
    # Empty without a replica.
    replica_instance_class: str = ""


@dataclass(frozen=True)
class Redis:
    node_type: str
    # Replicas of the one shard's primary; 0: a single node.
    replicas: int
    multi_az: bool


@dataclass(frozen=True)
class Environment:
    """One environment (prod, staging) and its share of the edge."""

    env: str
    environment: str
    prefix: str
    region: str
    domain: str
    # The host names of its rule on the shared ALB, and the rule's priority.
    hosts: tuple[str, ...]
    rule_priority: int
    # Whether the host rule signs users in through Cognito before forwarding.
    cognito: bool
    # Where its instances (and NAT gateways) run.
    azs: tuple[str, ...]
    public_subnets: dict[str, str]
    app_subnets: dict[str, str]
    data_subnets: dict[str, str]
    nat_azs: tuple[str, ...]
    frontend: Tier
    backend: Tier
    mysql: Mysql
    redis: Redis
    # Where the values came from: an inventory folder or an account and region.
    source: str = field(default="", compare=False)

    def facts(self) -> dict[str, Any]:
        """The fields as one flat mapping ("frontend.instance_type": "t3.medium"), what ``differences`` compares."""
        flat: dict[str, Any] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict) and not prefix.endswith("subnets"):
                for key, inner in value.items():
                    walk(f"{prefix}.{key}" if prefix else key, inner)
            else:
                flat[prefix] = list(value) if isinstance(value, tuple) else value

        walk("", {key: value for key, value in asdict(self).items() if key != "source"})
        return flat


@dataclass(frozen=True)
class Difference:
    field: str
    expected: Any
    found: Any

    def __str__(self) -> str:
        return f"{self.field}: inventory {self.expected!r}, deployed {self.found!r}"


def differences(expected: Environment, found: Environment) -> list[Difference]:
    """Every field where what is deployed differs from what the inventory says, in field order."""
    wanted, seen = expected.facts(), found.facts()
    return [Difference(key, wanted[key], seen.get(key)) for key in wanted if wanted[key] != seen.get(key)]
