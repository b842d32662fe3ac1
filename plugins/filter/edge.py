"""Jinja filter that checks the shared edge's inventory before any AWS call.

``webstack_edge_errors`` takes the edge settings (as the role's ``edge_*``
variables hold them) and returns one message per problem, each naming the
inventory variable, the bad value and what is allowed, so a play can assert
the list is empty.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

DOCUMENTATION = r"""
name: webstack_edge_errors
short_description: List what is wrong with the shared edge's settings
description:
  - Checks the domain, each environment's host names (inside the domain, not shared between
    environments), the host rule priorities (1-50000, unique), the TLS policy, the WAF managed rule
    groups, the rate limit and the allow and block CIDRs.
options:
  _input:
    description: The edge settings, keyed like the inventory variables without their webstack_edge_ prefix.
    type: dict
    required: true
  env:
    description: The short name of the environment being deployed; it must have a site.
    type: str
    required: true
"""

# A DNS name of at least two labels, lowercase, each label 1-63 characters.
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# ELB policies that allow only TLS 1.2 and 1.3 (AWS, "Security policies for your Application Load Balancer").
TLS_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
)

# AWS managed rule groups (vendor AWS) a regional web ACL can use.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesAdminProtectionRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesLinuxRuleSet",
    "AWSManagedRulesUnixRuleSet",
    "AWSManagedRulesWindowsRuleSet",
    "AWSManagedRulesPHPRuleSet",
    "AWSManagedRulesWordPressRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
    "AWSManagedRulesBotControlRuleSet",
    "AWSManagedRulesATPRuleSet",
    "AWSManagedRulesACFPRuleSet",
)

# A rate-based rule counts requests over 5 minutes; AWS accepts 10 to 2,000,000,000.
RATE_LIMIT_MIN = 10
RATE_LIMIT_MAX = 2_000_000_000
PRIORITY_MAX = 50_000


def _hosts_errors(domain: str, sites: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    owner: dict[str, str] = {}
    for env, site in sites.items():
        var = f"webstack_edge_sites.{env}.hosts"
        hosts = site.get("hosts") if isinstance(site, dict) else None
        if not isinstance(hosts, list) or not hosts:
            errors.append(f"{var}: list at least one host name of {domain}.")
            continue
        for host in hosts:
            if not isinstance(host, str) or not HOST.match(host):
                errors.append(f"{var}: {host!r} is not a lowercase DNS name.")
            elif host != domain and not host.endswith("." + domain):
                errors.append(
                    f"{var}: {host} is outside the zone {domain}; use {domain} or a name ending in .{domain}."
                )
            elif host in owner:
                errors.append(f"{var}: {host} is already served by {owner[host]}; a host belongs to one environment.")
            else:
                owner[host] = env
    return errors


def _priority_errors(sites: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    seen: dict[int, str] = {}
    for env, site in sites.items():
        var = f"webstack_edge_sites.{env}.rule_priority"
        priority = site.get("rule_priority") if isinstance(site, dict) else None
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= PRIORITY_MAX:
            errors.append(f"{var}: {priority!r} is not a rule priority; use a whole number from 1 to {PRIORITY_MAX}.")
        elif priority in seen:
            errors.append(
                f"{var}: {priority} is also the priority of {seen[priority]}'s host rule; "
                "every environment needs its own priority on the shared listener."
            )
        else:
            seen[priority] = env
    return errors


def _waf_errors(edge: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    groups = edge.get("waf_managed_rule_groups") or []
    for index, group in enumerate(groups):
        name = group.get("name") if isinstance(group, dict) else group
        if name not in MANAGED_RULE_GROUPS:
            errors.append(
                f"webstack_edge_waf_managed_rule_groups[{index}]: {name!r} is not an AWS managed rule group; "
                f"use one of {', '.join(MANAGED_RULE_GROUPS)}."
            )
    names = [group.get("name") if isinstance(group, dict) else group for group in groups]
    if len(set(names)) != len(names):
        errors.append(f"webstack_edge_waf_managed_rule_groups: a group is listed twice ({', '.join(map(str, names))}).")
    limit = edge.get("waf_rate_limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not RATE_LIMIT_MIN <= limit <= RATE_LIMIT_MAX:
        errors.append(
            f"webstack_edge_waf_rate_limit: {limit!r} is outside what AWS accepts for a rate-based rule "
            f"({RATE_LIMIT_MIN} to {RATE_LIMIT_MAX} requests per 5 minutes)."
        )
    for key in ("waf_allow_cidrs", "waf_block_cidrs"):
        for cidr in edge.get(key) or []:
            try:
                ipaddress.ip_network(str(cidr), strict=True)
            except ValueError:
                errors.append(f"webstack_edge_{key}: {cidr!r} is not an IPv4 or IPv6 network in CIDR form.")
    return errors


def edge_errors(edge: dict[str, Any], env: str) -> list[str]:
    """Messages for every problem of the edge settings; empty when they are consistent."""
    errors: list[str] = []
    domain = edge.get("domain")
    if not isinstance(domain, str) or not HOST.match(domain):
        return [f"webstack_edge_domain: {domain!r} is not a lowercase DNS domain name such as example.com."]
    sites = edge.get("sites")
    if not isinstance(sites, dict) or env not in sites:
        known = ", ".join(sites) if isinstance(sites, dict) else "none"
        errors.append(f"webstack_edge_sites: no entry for this environment ({env}); it has entries for {known}.")
    if isinstance(sites, dict):
        errors += _hosts_errors(domain, sites)
        errors += _priority_errors(sites)
    policy = edge.get("tls_policy")
    if policy not in TLS_POLICIES:
        errors.append(
            f"webstack_edge_tls_policy: {policy!r} is not a TLS 1.2+ ELB policy; use one of {', '.join(TLS_POLICIES)}."
        )
    return errors + _waf_errors(edge)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"webstack_edge_errors": edge_errors}
