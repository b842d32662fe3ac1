#!/usr/bin/env python3
"""Benchmark provision.yml (every layer) against a private emulator.

For each inventory (prod, then staging) it measures the wall time of the first
provision and of the no-op rerun, and counts the AWS requests the rerun sends,
per managed resource and per API action (counted at the emulator).

    .venv/bin/python scripts/bench_provision.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from emulator import endpoint_env

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = ROOT / "scripts" / "emulator.py"
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def requests(state: Path) -> list[dict[str, str]]:
    path = state / "requests.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def provision(env: dict[str, str], inventory: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [PLAYBOOK, "-i", f"inventories/{inventory}", "playbooks/provision.yml"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def data_resources(endpoint: str, prefix: str) -> Counter[str]:
    """The data layer of one environment, found by its names."""
    rds = boto3.client("rds", endpoint_url=endpoint, region_name="us-east-1")
    elasticache = boto3.client("elasticache", endpoint_url=endpoint, region_name="us-east-1")
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
    mine = [i for i in rds.describe_db_instances()["DBInstances"] if i["DBInstanceIdentifier"].startswith(prefix)]
    groups = elasticache.describe_replication_groups()["ReplicationGroups"]
    return Counter(
        {
            "rds instance": len(mine),
            "db subnet group": sum(
                1
                for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
                if g["DBSubnetGroupName"] == f"{prefix}-data"
            ),
            "db parameter group": sum(
                1
                for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
                if g["DBParameterGroupName"].startswith(prefix)
            ),
            "cache replication group": sum(1 for g in groups if g["ReplicationGroupId"].startswith(prefix)),
            "cache subnet group": sum(
                1
                for g in elasticache.describe_cache_subnet_groups()["CacheSubnetGroups"]
                if g["CacheSubnetGroupName"] == f"{prefix}-data"
            ),
            "secret": sum(1 for x in secrets.list_secrets()["SecretList"] if x["Name"].startswith(f"{prefix}/")),
            "ssm parameter": sum(
                len(page["Parameters"])
                for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=f"/{prefix}", Recursive=True)
            ),
        }
    )


def upper_resources(endpoint: str, prefix: str, environment: str, edge: str = "webstack-edge") -> Counter[str]:
    """The identity, edge and compute layers of one environment, with the shared edge it ensures."""

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")

    elbv2, wafv2, iam, autoscaling = client("elbv2"), client("wafv2"), client("iam"), client("autoscaling")
    cognito, route53 = client("cognito-idp"), client("route53")
    albs = [
        lb
        for lb in elbv2.describe_load_balancers()["LoadBalancers"]
        if lb["LoadBalancerName"] in (f"{edge}-alb", f"{prefix}-internal")
    ]
    listeners = [
        li for lb in albs for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    ]
    rule_arns = [
        rule["RuleArn"]
        for li in listeners
        for rule in elbv2.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]
        if not rule["IsDefault"]
    ]
    # The shared ALB carries every environment's host rule: count this one's.
    rules = [
        description
        for description in (elbv2.describe_tags(ResourceArns=rule_arns)["TagDescriptions"] if rule_arns else [])
        if {t["Key"]: t["Value"] for t in description["Tags"]}.get("Environment") == environment
    ]
    zones = [z for z in route53.list_hosted_zones()["HostedZones"] if "webstack" in z["Config"].get("Comment", "")]
    records = [
        r
        for z in zones
        for r in route53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]
        if r["Type"] not in ("SOA", "NS")
    ]
    pools = [p for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == f"{prefix}-users"]
    roles = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{prefix}-")]
    groups = [
        g
        for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
        if g["AutoScalingGroupName"].startswith(f"{prefix}-")
    ]
    return Counter(
        {
            "hosted zone": len(zones),
            "dns record": len(records),
            "certificate": len(client("acm").list_certificates()["CertificateSummaryList"]),
            "load balancer": len(albs),
            "listener": len(listeners),
            "listener rule": len(rules),
            "target group": sum(
                1
                for tg in elbv2.describe_target_groups()["TargetGroups"]
                if tg["TargetGroupName"].startswith(f"{prefix}-")
            ),
            "web acl + ip sets": len(wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"])
            + len(wafv2.list_ip_sets(Scope="REGIONAL")["IPSets"]),
            "log group": len(
                client("logs").describe_log_groups(logGroupNamePrefix=f"aws-waf-logs-{edge}")["logGroups"]
            ),
            "user pool, client, domain": len(pools) * 3,
            "iam role + profile": 2 * len(roles),
            "bucket": sum(1 for b in client("s3").list_buckets()["Buckets"] if b["Name"].startswith(f"{prefix}-")),
            "launch template": sum(
                1
                for t in client("ec2").describe_launch_templates()["LaunchTemplates"]
                if t["LaunchTemplateName"].startswith(f"{prefix}-")
            ),
            "auto scaling group": len(groups),
            "scaling policy": sum(
                len(autoscaling.describe_policies(AutoScalingGroupName=g["AutoScalingGroupName"])["ScalingPolicies"])
                for g in groups
            ),
        }
    )


def managed_resources(endpoint: str, environment: str) -> Counter[str]:
    """What one environment's network run manages: its own resources plus the shared edge it ensures."""
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    owners = [
        {"Name": "tag:Project", "Values": ["webstack"]},
        {"Name": "tag:Environment", "Values": [environment, "Shared"]},
    ]
    nats = ec2.describe_nat_gateways(Filter=[{"Name": "state", "Values": ["available"]}])["NatGateways"]
    return Counter(
        {
            "vpc": len(ec2.describe_vpcs(Filters=owners)["Vpcs"]),
            "internet gateway": len(ec2.describe_internet_gateways(Filters=owners)["InternetGateways"]),
            "subnet": len(ec2.describe_subnets(Filters=owners)["Subnets"]),
            "route table": len(ec2.describe_route_tables(Filters=owners)["RouteTables"]),
            "security group": len(ec2.describe_security_groups(Filters=owners)["SecurityGroups"]),
            "elastic ip": len(ec2.describe_addresses(Filters=owners)["Addresses"]),
            "nat gateway": sum(
                1
                for nat in nats
                if {t["Key"]: t["Value"] for t in nat.get("Tags", [])}.get("Environment") == environment
            ),
        }
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as state_dir:
        state = Path(state_dir)
        emulator_env = {**os.environ, "EMULATOR_STATE_DIR": state_dir, "EMULATOR_PORT": "0"}
        quiet = {"env": emulator_env, "stdout": subprocess.DEVNULL}
        subprocess.run([sys.executable, str(EMULATOR), "start"], check=True, **quiet)
        port = int((state / "port").read_text())
        endpoint = f"http://127.0.0.1:{port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update(endpoint_env(port), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        rows: list[dict[str, Any]] = []
        try:
            for inventory, environment in (("prod", "Production"), ("staging", "Non-Production")):
                first = provision(env, inventory)
                mark = len(requests(state))
                rerun = provision(env, inventory)
                sent = requests(state)[mark:]
                prefix = f"webstack-{inventory}"
                resources = (
                    managed_resources(endpoint, environment)
                    + data_resources(endpoint, prefix)
                    + upper_resources(endpoint, prefix, environment)
                )
                rows.append(
                    {
                        "inventory": inventory,
                        "first": first,
                        "rerun": rerun,
                        "requests": len(sent),
                        "resources": sum(resources.values()),
                        "by_kind": resources,
                        "by_action": Counter(request["action"] for request in sent),
                    }
                )
        finally:
            subprocess.run([sys.executable, str(EMULATOR), "stop"], check=False, **quiet)

    print("provision.yml (all layers) against the local emulator (moto); rerun = second run, changed=0")
    header = ("inventory", "first run", "no-op rerun", "resources", "requests", "per resource")
    print("{:<10} {:>10} {:>12} {:>10} {:>9} {:>13}".format(*header))
    for row in rows:
        print(
            f"{row['inventory']:<10} {row['first']:>9.1f}s {row['rerun']:>11.1f}s {row['resources']:>10} "
            f"{row['requests']:>9} {row['requests'] / row['resources']:>13.1f}"
        )
    for row in rows:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(row["by_kind"].items()))
        print(f"\n{row['inventory']}: managed {kinds}")
        print(f"{row['inventory']}: no-op requests by action:")
        for action, count in row["by_action"].most_common():
            print(f"  {count:>4}  {action}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
