"""A wrong inventory stops the run before any AWS call, naming the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, UNSET, Emulator, assert_refused_before_aws, run_playbook

pytestmark = pytest.mark.integration

# The shared edge's sites, as inventories/shared/edge.yml sets them.
SITES = yaml.safe_load((ROOT / "inventories" / "shared" / "edge.yml").read_text())["webstack_edge_sites"]

# (id, inventory, changes, text the failure must contain)
BAD_VALUES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    (
        "overlapping-cidrs",
        "staging",
        {"network_data_subnets": {"us-east-1a": "10.20.64.0/24", "us-east-1b": "10.20.97.0/24"}},
        ["network_data_subnets[us-east-1a]", "10.20.64.0/24", "overlaps"],
    ),
    (
        "az-of-another-region",
        "staging",
        {"webstack_azs": ["us-west-2a"]},
        ["webstack_azs", "us-west-2a", "not an Availability Zone of region us-east-1"],
    ),
    ("staging-without-az", "staging", {"webstack_azs": []}, ["webstack_azs", "at least one"]),
    (
        "prod-multi-az-with-one-az",
        "prod",
        {"webstack_azs": ["us-east-1a"]},
        ["webstack_azs", "Multi-AZ environment needs at least two AZs"],
    ),
    (
        "production-single-az",
        "prod",
        {"webstack_multi_az": False, "webstack_azs": ["us-east-1a"]},
        ["webstack_multi_az", "Production"],
    ),
    (
        "malformed-cidr",
        "staging",
        {"network_app_subnets": {"us-east-1a": "10.20.300.0/22", "us-east-1b": "10.20.68.0/22"}},
        ["network_app_subnets[us-east-1a]", "10.20.300.0/22", "not an IPv4 network"],
    ),
    (
        "cidr-with-host-bits",
        "prod",
        {"network_app_subnets": {"us-east-1a": "10.20.16.5/22", "us-east-1b": "10.20.20.0/22"}},
        ["network_app_subnets[us-east-1a]", "10.20.16.5/22", "host bits"],
    ),
    (
        "cidr-outside-vpc",
        "staging",
        {"network_app_subnets": {"us-east-1a": "10.99.0.0/22", "us-east-1b": "10.20.68.0/22"}},
        ["network_app_subnets[us-east-1a]", "outside the VPC CIDR 10.20.0.0/16"],
    ),
    ("vpc-too-large", "staging", {"webstack_edge_vpc_cidr": "10.0.0.0/8"}, ["webstack_edge_vpc_cidr", "/16 to /28"]),
    ("missing-region", "staging", {"webstack_region": UNSET}, ["webstack_region", "missing required"]),
    ("bad-prefix", "staging", {"webstack_prefix": "Web_Stack"}, ["webstack_prefix", "Web_Stack", "lowercase"]),
    (
        "prefix-too-long",
        "staging",
        {"webstack_prefix": "webstack-staging-with-a-long-name"},
        ["webstack_prefix", "at most 20 characters"],
    ),
    (
        "bad-environment-tag",
        "staging",
        {"webstack_environment": "Staging"},
        ["webstack_environment", "Production, Non-Production", "Staging"],
    ),
    (
        "region-other-than-edge",
        "staging",
        {"webstack_region": "eu-west-1", "webstack_azs": ["eu-west-1a"]},
        ["webstack_region", "eu-west-1", "webstack_edge_region"],
    ),
    ("not-a-region", "staging", {"webstack_region": "useast1"}, ["webstack_region", "useast1", "region name"]),
    (
        "app-subnets-not-matching-azs",
        "prod",
        {"network_app_subnets": {"us-east-1a": "10.20.16.0/22"}},
        ["network_app_subnets", "must include every AZ of webstack_azs", "at least two AZs"],
    ),
    (
        "internal-alb-in-one-az",
        "staging",
        {"network_app_subnets": {"us-east-1a": "10.20.64.0/22"}},
        ["network_app_subnets", "the internal ALB needs two"],
    ),
    (
        "data-subnets-in-one-az",
        "staging",
        {"network_data_subnets": {"us-east-1a": "10.20.96.0/24"}},
        ["network_data_subnets", "at least two AZs"],
    ),
    ("unknown-nat-mode", "prod", {"network_nat_mode": "two"}, ["network_nat_mode", "per_az, single", "two"]),
    ("port-out-of-range", "staging", {"webstack_backend_port": 70000}, ["webstack_backend_port", "70000"]),
    (
        "health-check-path-without-slash",
        "prod",
        {"webstack_health_check_path": "healthz"},
        ["webstack_health_check_path", '"healthz"', "starts with /"],
    ),
    ("reserved-tag", "staging", {"webstack_tags": {"Environment": "x"}}, ["webstack_tags", "Environment"]),
    (
        "edge-with-one-public-subnet",
        "staging",
        {"webstack_edge_public_subnets": {"us-east-1a": "10.20.0.0/24"}},
        ["webstack_edge_public_subnets", "at least two AZs"],
    ),
    (
        "unknown-mysql-version",
        "prod",
        {"data_mysql_engine_version": "5.6.10"},
        ["data_mysql_engine_version", "5.6.10", "not supported", "8.0.39"],
    ),
    (
        "mysql-out-of-standard-support",
        "staging",
        {"data_mysql_engine_version": "8.0.39"},
        ["data_mysql_engine_version", "8.0.39", "standard support ended on 2026-07-31", "8.4 until 2029-07-31"],
    ),
    (
        "default-mysql-admin-name",
        "prod",
        {"data_mysql_username": "Admin"},
        ["data_mysql_username", "Admin", "default administrator name", "RDS.25"],
    ),
    ("unknown-redis-version", "staging", {"data_redis_engine_version": "9.9"}, ["data_redis_engine_version", "9.9"]),
    (
        "more-redis-replicas-than-azs",
        "prod",
        {"data_redis_replicas": 2},
        ["data_redis_replicas", "3 AZs", "webstack_azs lists 2"],
    ),
    ("mysql-multi-az-with-one-az", "staging", {"data_mysql_multi_az": True}, ["data_mysql_multi_az", "two AZs"]),
    ("replica-with-one-az", "staging", {"data_mysql_read_replica": True}, ["data_mysql_read_replica", "two AZs"]),
    (
        "plaintext-password",
        "staging",
        {"data_mysql_password": "hunter2hunter2"},
        ["data_mysql_password", "plain text", "Secrets Manager"],
    ),
    (
        "plaintext-token",
        "prod",
        {"data_redis_auth_token": "abcdefabcdefabcdef"},
        ["data_redis_auth_token", "plain text"],
    ),
    (
        "prod-without-deletion-protection",
        "prod",
        {"data_mysql_deletion_protection": False},
        ["data_mysql_deletion_protection", "Production needs deletion protection"],
    ),
    ("bad-instance-class", "staging", {"data_mysql_instance_class": "t3.micro"}, ["data_mysql_instance_class"]),
    ("bad-backup-window", "staging", {"data_mysql_backup_window": "3am"}, ["data_mysql_backup_window", "3am"]),
    (
        "host-outside-the-zone",
        "staging",
        {"webstack_edge_sites": {**SITES, "staging": {"hosts": ["staging.example.org"], "rule_priority": 200}}},
        ["webstack_edge_sites.staging.hosts", "staging.example.org is outside the zone example.com"],
    ),
    (
        "same-rule-priority-in-both-environments",
        "prod",
        {"webstack_edge_sites": {**SITES, "staging": {"hosts": ["staging.example.com"], "rule_priority": 100}}},
        ["webstack_edge_sites.staging.rule_priority", "100 is also the priority of prod"],
    ),
    (
        "cognito-without-a-callback-host",
        "staging",
        {"webstack_edge_sites": {**SITES, "staging": {"hosts": [], "rule_priority": 200}}},
        ["webstack_cognito_enabled", "no callback host"],
    ),
    (
        "unknown-managed-rule-group",
        "prod",
        {"webstack_edge_waf_managed_rule_groups": [{"name": "AWSManagedRulesCommonRuleSet"}, {"name": "AWSBestRules"}]},
        ["webstack_edge_waf_managed_rule_groups[1]", "'AWSBestRules' is not an AWS managed rule group"],
    ),
    (
        "refresh-terminates-before-launching-too-much",
        "prod",
        {"compute_min_healthy_percentage": 50, "compute_max_healthy_percentage": 200},
        ["compute_max_healthy_percentage", "at most 100 above"],
    ),
    (
        "refresh-above-twice-the-group",
        "staging",
        {"compute_max_healthy_percentage": 250},
        ["compute_max_healthy_percentage: 250", "100 to 200"],
    ),
    (
        "unknown-layer",
        "staging",
        {"provision_layers": ["network", "cache"]},
        ["provision_layers", "unknown: cache"],
    ),
    (
        "rate-limit-below-the-minimum",
        "staging",
        {"webstack_edge_waf_rate_limit": 5},
        ["webstack_edge_waf_rate_limit", "5 is outside what AWS accepts", "10 to 2000000000"],
    ),
    (
        "flow-log-retention-aws-does-not-offer",
        "staging",
        {"webstack_edge_flow_log_retention_days": 45},
        ["shared_edge_flow_log_retention_days", "45", "3653"],
    ),
    (
        "access-logs-expiring-at-once",
        "prod",
        {"webstack_edge_alb_access_log_expiry_days": 0},
        ["webstack_edge_alb_access_log_expiry_days: 0", "1 or more"],
    ),
    (
        "secret-reader-not-an-iam-arn",
        "prod",
        {"data_secret_readers": ["awx-role"]},
        ["data_secret_readers", "awx-role", "not IAM principal ARNs"],
    ),
    (
        "backups-kept-no-day",
        "prod",
        {"data_backup_retention_days": 0},
        ["data_backup_retention_days", "AWS Backup keeps a recovery point 1 to 36500 days"],
    ),
    (
        "backups-kept-negative-days",
        "prod",
        {"data_backup_retention_days": -7},
        ["data_backup_retention_days", "-7", "1 to 36500 days"],
    ),
    (
        "backup-completing-before-it-may-start",
        "prod",
        {"data_backup_start_window_minutes": 120, "data_backup_completion_window_minutes": 120},
        ["data_backup_completion_window_minutes", "at least 60 more than the start window"],
    ),
    (
        "tls-policy-below-1-2",
        "prod",
        {"webstack_edge_tls_policy": "ELBSecurityPolicy-2016-08"},
        ["webstack_edge_tls_policy", "ELBSecurityPolicy-2016-08", "not a TLS 1.2+ ELB policy"],
    ),
    (
        "bad-cognito-domain-prefix",
        "staging",
        {"identity_domain_prefix": "aws-login"},
        ["identity_domain_prefix", "aws-login", "not a valid Cognito domain prefix"],
    ),
    (
        "oidc-provider-without-secret",
        "staging",
        {
            "identity_providers": [
                {"name": "corp", "type": "OIDC", "issuer": "https://idp.example.com", "client_id": "x"}
            ]
        },
        ["identity_providers[0] (corp)", "missing client_secret_name"],
    ),
]


@pytest.mark.parametrize(
    ("inventory", "changes", "expected"),
    [pytest.param(env, changes, expected, id=case) for case, env, changes, expected in BAD_VALUES],
)
def test_bad_inventory_fails_before_any_aws_call(
    emulator: Emulator, tmp_path: Path, inventory: str, changes: dict[str, Any], expected: list[str]
) -> None:
    assert_refused_before_aws(emulator, tmp_path, inventory, changes, expected)


@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_shipped_inventories_pass_the_checks(emulator: Emulator, inventory: str) -> None:
    run = run_playbook(emulator, f"inventories/{inventory}", "provision.yml", "--tags", "never")
    assert run.returncode == 0, run.output
