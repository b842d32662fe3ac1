#!/usr/bin/env python3
"""Benchmark provision.yml (every layer) and teardown.yml against a private emulator.

On one fresh emulator, in this order:

1. the teardown of an empty account (staging, then prod with the shared edge),
   under Ansible's stock `linear` strategy and under `mitogen_linear`;
2. for each inventory (prod, then staging): the first provision (the project's
   default strategy, mitogen_linear), then the no-op rerun under each strategy,
   one after the other on the same emulator state (`--rounds N` repeats the
   pair and keeps the median).

For every run it measures the wall time, the CPU time of ansible-playbook and
everything it waited for, the `changed` count of the recap, and the AWS
requests the emulator answered. For the no-op it also counts the managed
resources and the requests per resource and per API action.

    .venv/bin/python scripts/bench_provision.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from emulator import endpoint_env

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = ROOT / "scripts" / "emulator.py"
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
STOCK, MITOGEN = "linear", "mitogen_linear"
STRATEGIES = (STOCK, MITOGEN)
INVENTORIES = (("prod", "Production"), ("staging", "Non-Production"))
# teardown.yml's arguments per inventory, as `make teardown` passes them.
TEARDOWN_ARGS = {
    "staging": [],
    "prod": ["-e", "confirm_teardown=webstack-prod", "-e", "teardown_edge=true"],
}
LOG = logging.getLogger("bench")


def requests(state: Path) -> list[dict[str, str]]:
    path = state / "requests.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@dataclass
class Run:
    """One ansible-playbook run: what it cost and what it sent."""

    inventory: str
    playbook: str
    strategy: str
    wall: float
    cpu: float
    changed: int
    sent: list[dict[str, str]] = field(repr=False)

    @property
    def requests(self) -> int:
        return len(self.sent)

    @property
    def by_action(self) -> Counter[str]:
        return Counter(request["action"] for request in self.sent)


@dataclass
class Measured:
    """One inventory: its first provision, its no-op reruns per strategy, what it manages."""

    inventory: str
    first: Run
    noops: dict[str, list[Run]]
    by_kind: Counter[str]

    def noop(self, strategy: str) -> Run:
        """The no-op rerun of median wall time under this strategy (the lower middle one of an even count)."""
        runs = sorted(self.noops[strategy], key=lambda run: run.wall)
        return runs[(len(runs) - 1) // 2]

    @property
    def resources(self) -> int:
        return sum(self.by_kind.values())


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_playbook(env: dict[str, str], state: Path, inventory: str, playbook: str, strategy: str, *args: str) -> Run:
    """Run a playbook with the given strategy; fail with its output's tail when it fails."""
    mark = len(requests(state))
    cpu, started = children_cpu(), time.monotonic()
    process = subprocess.run(
        [PLAYBOOK, "-i", f"inventories/{inventory}", f"playbooks/{playbook}", *args],
        cwd=ROOT,
        env={**env, "ANSIBLE_STRATEGY": strategy},
        check=False,
        capture_output=True,
        text=True,
    )
    wall, cpu = time.monotonic() - started, children_cpu() - cpu
    output = process.stdout + process.stderr
    if process.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise SystemExit(f"{playbook} -i inventories/{inventory} ({strategy}) failed ({process.returncode}):\n{tail}")
    recap = re.search(r"^localhost\s*:.*\bchanged=(\d+)", output, re.MULTILINE)
    run = Run(inventory, playbook, strategy, wall, cpu, int(recap[1]) if recap else -1, requests(state)[mark:])
    LOG.info(
        "%-8s %-14s %-15s %6.1f s wall %6.1f s cpu  changed=%s  %d requests",
        inventory,
        playbook,
        strategy,
        run.wall,
        run.cpu,
        run.changed,
        run.requests,
    )
    return run


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


def resources_of(endpoint: str, inventory: str, environment: str) -> Counter[str]:
    prefix = f"webstack-{inventory}"
    return (
        managed_resources(endpoint, environment)
        + data_resources(endpoint, prefix)
        + upper_resources(endpoint, prefix, environment)
    )


def print_noop_details(row: Measured) -> None:
    """What one inventory manages, and the requests of its no-op rerun by API action."""
    inventory, stock, mitogen = row.inventory, row.noop(STOCK), row.noop(MITOGEN)
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(row.by_kind.items()))
    print(f"\n{inventory}: managed {kinds}")
    if stock.by_action == mitogen.by_action:
        print(f"{inventory}: no-op requests by action (the same under both strategies):")
        for action, count in stock.by_action.most_common():
            print(f"  {count:>4}  {action}")
        return
    print(f"{inventory}: no-op requests by action ({STOCK} | {MITOGEN}), which differ:")
    for action in sorted(stock.by_action.keys() | mitogen.by_action.keys(), key=lambda a: -stock.by_action[a]):
        print(f"  {stock.by_action[action]:>4} | {mitogen.by_action[action]:>4}  {action}")


def print_table(rows: list[Measured], teardowns: list[Run], rounds: int) -> None:
    """Every measured run in one table, then the no-op speed-up."""
    line = "{:<9} {:<26} {:<15} {:>8} {:>8} {:>8} {:>9} {:>13}"
    print(f"\nprovision.yml (all layers) and teardown.yml against the local emulator (moto), {os.cpu_count()} cores")
    print(line.format("inventory", "run", "strategy", "wall s", "cpu s", "changed", "requests", "per resource"))

    def show(run: Run, what: str, resources: int = 0) -> None:
        per_resource = f"{run.requests / resources:.1f}" if resources else ""
        print(
            line.format(
                run.inventory,
                what,
                run.strategy,
                f"{run.wall:.1f}",
                f"{run.cpu:.1f}",
                run.changed,
                run.requests,
                per_resource,
            ).rstrip()
        )

    noop = "no-op rerun" + (f" (median of {rounds})" if rounds > 1 else "")
    for row in rows:
        show(row.first, "first provision")
        for strategy in STRATEGIES:
            show(row.noop(strategy), noop, row.resources)
    for run in teardowns:
        show(run, "teardown of empty account")
    print("managed resources: " + ", ".join(f"{row.inventory} {row.resources}" for row in rows))
    for row in rows:
        stock, mitogen = row.noop(STOCK), row.noop(MITOGEN)
        print(
            f"{row.inventory}: the no-op rerun under {MITOGEN} took {stock.wall / mitogen.wall:.1f}x less wall time"
            f" and {stock.cpu / mitogen.cpu:.1f}x less CPU time than under {STOCK}"
        )


def problems_of(rows: list[Measured], teardowns: list[Run]) -> list[str]:
    """Runs that should have changed nothing and did."""
    runs = [run for row in rows for runs in row.noops.values() for run in runs] + teardowns
    return [
        f"{run.inventory}: {run.playbook} under {run.strategy} reported changed={run.changed}, expected 0"
        for run in runs
        if run.changed != 0
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="no-op reruns per strategy (median kept); default 1")
    args = parser.parse_args()
    logging.basicConfig(format="bench: %(message)s")  # boto3's INFO lines stay out
    LOG.setLevel(logging.INFO)
    LOG.info("%d cores, load average %.1f; each run is logged as it ends", os.cpu_count() or 0, os.getloadavg()[0])
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as state_dir:
        state = Path(state_dir)
        emulator_env = {**os.environ, "EMULATOR_STATE_DIR": state_dir, "EMULATOR_PORT": "0"}
        quiet = {"env": emulator_env, "stdout": subprocess.DEVNULL}
        subprocess.run([sys.executable, str(EMULATOR), "start"], check=True, **quiet)
        port = int((state / "port").read_text())
        endpoint = f"http://127.0.0.1:{port}"
        # Only the emulator's AWS settings, and only ansible.cfg's: no ANSIBLE_* from the
        # caller's shell (an ANSIBLE_STRATEGY there would decide every run).
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
        env.update(endpoint_env(port), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        rows: list[Measured] = []
        try:
            # The empty account first: nothing is deployed yet.
            teardowns = [
                run_playbook(env, state, inventory, "teardown.yml", strategy, *TEARDOWN_ARGS[inventory])
                for strategy in STRATEGIES
                for inventory in ("staging", "prod")
            ]
            for inventory, environment in INVENTORIES:
                first = run_playbook(env, state, inventory, "provision.yml", MITOGEN)
                noops: dict[str, list[Run]] = {strategy: [] for strategy in STRATEGIES}
                for _ in range(args.rounds):
                    for strategy in STRATEGIES:
                        noops[strategy].append(run_playbook(env, state, inventory, "provision.yml", strategy))
                rows.append(Measured(inventory, first, noops, resources_of(endpoint, inventory, environment)))
        finally:
            subprocess.run([sys.executable, str(EMULATOR), "stop"], check=False, **quiet)

    for row in rows:
        print_noop_details(row)
    print_table(rows, teardowns, args.rounds)
    problems = problems_of(rows, teardowns)
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
