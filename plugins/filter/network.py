"""Jinja filters that check an inventory's address plan before any AWS call.

``webstack_cidr_errors`` takes the VPC CIDR and a list of subnet plans and
returns one message per problem, each naming the inventory variable, the bad
value and what is allowed, so a play can assert the list is empty.
"""

from __future__ import annotations

import ipaddress
from itertools import combinations
from typing import Any

DOCUMENTATION = r"""
name: webstack_cidr_errors
short_description: List what is wrong with a VPC address plan
description:
  - Checks that every CIDR is a valid IPv4 network, lies inside the VPC CIDR, has a size AWS accepts
    (/16 to /28) and overlaps no other subnet of the plan.
options:
  _input:
    description: The VPC CIDR.
    type: str
    required: true
  subnets:
    description:
      - The subnet plans by the name of the variable that holds them; each plan maps an Availability Zone
        to a CIDR, as the inventories write them.
    type: dict
    required: true
  vpc_var:
    description: The variable that holds the VPC CIDR, for messages.
    type: str
    default: vpc_cidr
"""

# AWS accepts VPC and subnet blocks between /16 and /28.
MIN_PREFIX = 16
MAX_PREFIX = 28


def _parse(value: Any, var: str, errors: list[str]) -> ipaddress.IPv4Network | None:
    try:
        network = ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as exc:
        errors.append(f"{var}: {value!r} is not an IPv4 network in CIDR notation such as 10.20.0.0/24 ({exc})")
        return None
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        errors.append(f"{var}: {value!r} has prefix /{network.prefixlen}; AWS allows /{MIN_PREFIX} to /{MAX_PREFIX}")
        return None
    return network


def cidr_errors(vpc_cidr: Any, subnets: dict[str, dict[str, Any]], vpc_var: str = "vpc_cidr") -> list[str]:
    errors: list[str] = []
    vpc = _parse(vpc_cidr, vpc_var, errors)
    parsed: list[tuple[str, ipaddress.IPv4Network]] = []
    for plan_var, plan in subnets.items():
        for zone, cidr in (plan or {}).items():
            var = f"{plan_var}[{zone}]"
            network = _parse(cidr, var, errors)
            if network is None:
                continue
            if vpc is not None and not network.subnet_of(vpc):
                errors.append(f"{var}: {network} lies outside the VPC CIDR {vpc} ({vpc_var})")
            parsed.append((var, network))
    for (var_a, net_a), (var_b, net_b) in combinations(parsed, 2):
        if net_a.overlaps(net_b):
            errors.append(f"{var_b}: {net_b} overlaps {net_a} of {var_a}; subnets must not overlap")
    return errors


def foreign_overlaps(existing: list[dict[str, Any]], subnets: dict[str, dict[str, Any]], environment: str) -> list[str]:
    """Messages for planned subnets that clash with subnets already in the VPC.

    ``existing`` is what amazon.aws.ec2_vpc_subnet_info returns. A planned CIDR
    may equal a subnet this environment already owns (a rerun); it may not
    overlap any other subnet, whoever owns it.
    """
    errors: list[str] = []
    for plan_var, plan in subnets.items():
        for zone, cidr in (plan or {}).items():
            wanted = ipaddress.IPv4Network(str(cidr))
            for subnet in existing:
                current = ipaddress.IPv4Network(subnet["cidr_block"])
                owner = (subnet.get("tags") or {}).get("Environment", "untagged")
                if not wanted.overlaps(current) or (current == wanted and owner == environment):
                    continue
                errors.append(
                    f"{plan_var}[{zone}]: {wanted} overlaps the existing subnet {subnet['id']} ({current}, "
                    f"Environment={owner}); choose a free range (a subnet's CIDR cannot change in place)"
                )
    return errors


def order_by_tag(items: list[dict[str, Any]], key: str, order: list[str]) -> list[dict[str, Any]]:
    """Sort resources by the position of their tag ``key`` in ``order``; others keep their order, last."""

    def rank(item: dict[str, Any]) -> int:
        value = (item.get("tags") or {}).get(key)
        return order.index(value) if value in order else len(order)

    return sorted(items, key=rank)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "webstack_cidr_errors": cidr_errors,
            "webstack_foreign_overlaps": foreign_overlaps,
            "webstack_order_by_tag": order_by_tag,
        }
