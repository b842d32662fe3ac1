"""The network layer of both environments, as the emulator reports it.

The deployed-stack tests read the shared deployment (stack.py) at their step;
check mode on an empty account runs in this worker's own emptied emulator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Emulator, changed_tasks, inventory_vars, mutating, only_layers, run_playbook, tags
from .stack import Stack, live_nats, network_layer, owned

pytestmark = pytest.mark.integration

PROD = inventory_vars("prod")
STAGING = inventory_vars("staging")
EDGE = "webstack-edge"


@pytest.fixture
def ec2(stack: Stack) -> Any:
    return stack.client("ec2")


def edge_vpc(ec2: Any) -> dict[str, Any]:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{EDGE}-vpc"]}])["Vpcs"]
    assert len(vpcs) == 1, vpcs
    return vpcs[0]


def test_check_mode_on_an_empty_account_reports_changes_and_creates_nothing(empty_account: Emulator) -> None:
    mark = empty_account.mark()

    run = run_playbook(
        empty_account, "inventories/prod", "provision.yml", *only_layers("shared_edge", "network"), "--check", "--diff"
    )

    assert run.returncode == 0, run.output
    assert run.changed >= 10, run.recap
    assert mutating(empty_account.since(mark)) == []
    vpcs = empty_account.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Project", "Values": ["webstack"]}])
    assert vpcs["Vpcs"] == []


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_provision_builds_the_network(stack: Stack, env: str) -> None:
    run = stack.runs[f"provision-{env}"]
    assert run.returncode == 0, run.output
    assert changed_tasks(run.output, "network"), "the first run of an empty account creates the network"


@pytest.mark.stack("deploy")
def test_shared_edge_network(ec2: Any) -> None:
    vpc = edge_vpc(ec2)
    assert vpc["CidrBlock"] == PROD["webstack_edge_vpc_cidr"]
    wanted = {"Project": "webstack", "Environment": "Shared", "Tier": "edge", "Name": f"{EDGE}-vpc"}
    assert tags(vpc).items() >= wanted.items()
    hostnames = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")
    assert hostnames["EnableDnsHostnames"]["Value"] is True

    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
    assert len(igws["InternetGateways"]) == 1
    igw_id = igws["InternetGateways"][0]["InternetGatewayId"]

    public = owned(ec2, "describe_subnets", "Subnets", "Shared")
    assert {s["AvailabilityZone"]: s["CidrBlock"] for s in public} == PROD["webstack_edge_public_subnets"]
    assert all(not s["MapPublicIpOnLaunch"] and tags(s)["Tier"] == "public" for s in public)

    (table,) = owned(ec2, "describe_route_tables", "RouteTables", "Shared")
    routes = {r.get("DestinationCidrBlock"): r.get("GatewayId") for r in table["Routes"]}
    assert routes["0.0.0.0/0"] == igw_id
    assert {a["SubnetId"] for a in table["Associations"] if "SubnetId" in a} == {s["SubnetId"] for s in public}


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", [PROD, STAGING], ids=["prod", "staging"])
def test_private_subnets(ec2: Any, env: dict[str, Any]) -> None:
    subnets = owned(ec2, "describe_subnets", "Subnets", env["webstack_environment"])
    prefix = env["webstack_prefix"]
    for tier, plan in (("app", env["network_app_subnets"]), ("data", env["network_data_subnets"])):
        mine = [s for s in subnets if tags(s)["Tier"] == tier]
        assert {s["AvailabilityZone"]: s["CidrBlock"] for s in mine} == plan
        for subnet in mine:
            assert subnet["VpcId"] == edge_vpc(ec2)["VpcId"]
            assert not subnet["MapPublicIpOnLaunch"]
            assert tags(subnet) == {
                "Project": "webstack",
                "Environment": env["webstack_environment"],
                "Tier": tier,
                "Name": f"{prefix}-{tier}-{subnet['AvailabilityZone']}",
                **env["webstack_tags"],
            }
    assert len(subnets) == len(env["network_app_subnets"]) + len(env["network_data_subnets"])


@pytest.mark.stack("deploy")
@pytest.mark.parametrize(("env", "nat_azs"), [(PROD, ["us-east-1a", "us-east-1b"]), (STAGING, ["us-east-1a"])])
def test_nat_gateways_and_routes(ec2: Any, env: dict[str, Any], nat_azs: list[str]) -> None:
    environment, prefix = env["webstack_environment"], env["webstack_prefix"]
    public_by_id = {s["SubnetId"]: s["AvailabilityZone"] for s in owned(ec2, "describe_subnets", "Subnets", "Shared")}
    nats = live_nats(ec2, environment)
    assert sorted(public_by_id[n["SubnetId"]] for n in nats) == nat_azs
    assert all(n["State"] == "available" and tags(n)["Tier"] == "network" for n in nats)
    nat_by_az = {public_by_id[n["SubnetId"]]: n["NatGatewayId"] for n in nats}
    eips = owned(ec2, "describe_addresses", "Addresses", environment)
    assert {n["NatGatewayAddresses"][0]["AllocationId"] for n in nats} == {a["AllocationId"] for a in eips}

    subnets = owned(ec2, "describe_subnets", "Subnets", environment)
    app_ids = {s["AvailabilityZone"]: s["SubnetId"] for s in subnets if tags(s)["Tier"] == "app"}
    data_ids = {s["SubnetId"] for s in subnets if tags(s)["Tier"] == "data"}
    tables = {tags(t)["Name"]: t for t in owned(ec2, "describe_route_tables", "RouteTables", environment)}
    per_az = env["network_nat_mode"] == "per_az"
    expected_names = {f"{prefix}-app-{az}" for az in nat_azs} if per_az else {f"{prefix}-app"}
    assert set(tables) == expected_names | {f"{prefix}-data"}

    for az, subnet_id in app_ids.items():
        name = f"{prefix}-app-{az}" if per_az else f"{prefix}-app"
        table = tables[name]
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert [r.get("NatGatewayId") for r in default] == [nat_by_az[az if per_az else nat_azs[0]]]
        assert subnet_id in {a.get("SubnetId") for a in table["Associations"]}

    data = tables[f"{prefix}-data"]
    assert [r.get("DestinationCidrBlock") for r in data["Routes"]] == [PROD["webstack_edge_vpc_cidr"]]
    assert {a["SubnetId"] for a in data["Associations"] if "SubnetId" in a} == data_ids


def ingress(group: dict[str, Any]) -> list[tuple[int, int, str]]:
    """(from port, to port, source) for every ingress permission."""
    rules = []
    for permission in group["IpPermissions"]:
        assert permission["IpProtocol"] == "tcp"
        sources = [r["CidrIp"] for r in permission.get("IpRanges", [])]
        sources += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
        sources += [p["GroupId"] for p in permission.get("UserIdGroupPairs", [])]
        rules += [(permission["FromPort"], permission["ToPort"], source) for source in sources]
    return sorted(rules)


@pytest.mark.stack("deploy")
def test_public_alb_group_is_the_only_one_open_to_the_internet(ec2: Any) -> None:
    vpc_id = edge_vpc(ec2)["VpcId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    by_name = {g["GroupName"]: g for g in groups}
    assert ingress(by_name[f"{EDGE}-alb"]) == [(80, 80, "0.0.0.0/0"), (443, 443, "0.0.0.0/0")]
    assert tags(by_name[f"{EDGE}-alb"])["Environment"] == "Shared"
    for name, group in by_name.items():
        if name != f"{EDGE}-alb":
            assert all(source not in ("0.0.0.0/0", "::/0") for _, _, source in ingress(group)), name


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", [PROD, STAGING], ids=["prod", "staging"])
def test_security_groups_form_a_chain(ec2: Any, env: dict[str, Any]) -> None:
    prefix = env["webstack_prefix"]
    vpc_id = edge_vpc(ec2)["VpcId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    ids = {g["GroupName"]: g["GroupId"] for g in groups}
    by_name = {g["GroupName"]: g for g in groups}
    chain = [
        (f"{prefix}-frontend", 80, f"{EDGE}-alb", "frontend"),
        (f"{prefix}-internal-alb", 80, f"{prefix}-frontend", "internal-alb"),
        (f"{prefix}-backend", 8080, f"{prefix}-internal-alb", "backend"),
        (f"{prefix}-redis", 6379, f"{prefix}-backend", "data"),
        (f"{prefix}-mysql", 3306, f"{prefix}-backend", "data"),
    ]
    for name, port, caller, tier in chain:
        assert ingress(by_name[name]) == [(port, port, ids[caller])], name
        assert tags(by_name[name]) == {
            "Project": "webstack",
            "Environment": env["webstack_environment"],
            "Tier": tier,
            "Name": name,
            **env["webstack_tags"],
        }
    assert len(owned(ec2, "describe_security_groups", "SecurityGroups", env["webstack_environment"])) == len(chain)


@pytest.mark.stack("deploy")
def test_default_security_group_of_the_shared_vpc_allows_nothing(ec2: Any) -> None:
    vpc_id = edge_vpc(ec2)["VpcId"]
    (default,) = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert default["IpPermissions"] == []
    assert default["IpPermissionsEgress"] == []


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", [PROD, STAGING], ids=["prod", "staging"])
def test_shared_vpc_logs_its_traffic_to_cloudwatch_through_a_role_of_its_own(
    stack: Stack, ec2: Any, env: dict[str, Any]
) -> None:
    vpc_id = edge_vpc(ec2)["VpcId"]
    group = f"/{EDGE}/vpc-flow-logs"
    role_name = f"{EDGE}-vpc-flow-logs"
    account = stack.client("sts").get_caller_identity()["Account"]

    (flow_log,) = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
    (log_group,) = stack.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    iam = stack.client("iam")
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    policy = iam.get_role_policy(RoleName=role_name, PolicyName=role_name)["PolicyDocument"]

    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log["LogGroupName"] == group
    assert flow_log["TrafficType"] == env["webstack_edge_flow_log_traffic_type"]
    assert flow_log["DeliverLogsPermissionArn"] == f"arn:aws:iam::{account}:role/{role_name}"
    assert tags(flow_log)["Environment"] == "Shared"
    assert log_group["retentionInDays"] == env["webstack_edge_flow_log_retention_days"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": account}
    writes = [s for s in policy["Statement"] if "logs:PutLogEvents" in s["Action"]]
    assert [r for s in writes for r in s["Resource"] if not r.endswith((group, f"{group}:log-stream:*"))] == []
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogStreams",
        "logs:DescribeLogGroups",
    }


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", [PROD, STAGING], ids=["prod", "staging"])
def test_ebs_encryption_by_default_is_left_as_the_account_has_it_unless_asked_for(
    ec2: Any, env: dict[str, Any]
) -> None:
    assert env["webstack_edge_ebs_encryption_by_default"] is False
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False


def test_ebs_encryption_by_default_opt_in_turns_the_account_setting_on(empty_account: Emulator) -> None:
    opt_in = (*only_layers("shared_edge"), "-e", json.dumps({"webstack_edge_ebs_encryption_by_default": True}))
    mark = empty_account.mark()

    check = run_playbook(empty_account, "inventories/staging", "provision.yml", *opt_in, "--check", "--diff")
    checked = empty_account.mark()
    run = run_playbook(empty_account, "inventories/staging", "provision.yml", *opt_in)

    assert check.returncode == 0, check.output
    assert check.changed >= 1, check.recap
    assert mutating(empty_account.since(mark)[: checked - mark]) == []
    assert run.returncode == 0, run.output
    assert mutating(empty_account.since(checked)).count("EnableEbsEncryptionByDefault") == 1
    ec2 = empty_account.client("ec2")
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True


def nacl_rules(acl: dict[str, Any], egress: bool) -> set[tuple[str, str, int, int, str]]:
    """The ACL's allow rules in one direction (AWS's final deny-all, which moto omits, left out: EMULATOR.md E34)."""
    return {
        (
            entry["Protocol"],
            entry["CidrBlock"],
            entry["PortRange"]["From"],
            entry["PortRange"]["To"],
            entry["RuleAction"],
        )
        for entry in acl["Entries"]
        if entry["Egress"] is egress and entry["RuleNumber"] != 32767
    }


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", [PROD, STAGING], ids=["prod", "staging"])
def test_data_subnets_acl_admits_only_mysql_and_redis_from_the_app_subnets(ec2: Any, env: dict[str, Any]) -> None:
    prefix = env["webstack_prefix"]
    subnets = owned(ec2, "describe_subnets", "Subnets", env["webstack_environment"])
    data = [s for s in subnets if tags(s)["Tier"] == "data"]
    (acl,) = ec2.describe_network_acls(Filters=[{"Name": "tag:Name", "Values": [f"{prefix}-data"]}])["NetworkAcls"]
    assert {a["SubnetId"] for a in acl["Associations"]} == {s["SubnetId"] for s in data}
    assert acl["IsDefault"] is False
    app_cidrs = list(env["network_app_subnets"].values())
    data_cidrs = list(env["network_data_subnets"].values())
    ports = (env["webstack_mysql_port"], env["webstack_redis_port"])
    tcp = "6"
    assert nacl_rules(acl, egress=False) == {
        *((tcp, cidr, port, port, "allow") for cidr in app_cidrs + data_cidrs for port in ports),
        *((tcp, cidr, 1024, 65535, "allow") for cidr in data_cidrs),
    }
    assert nacl_rules(acl, egress=True) == {
        *((tcp, cidr, 1024, 65535, "allow") for cidr in app_cidrs + data_cidrs),
        *((tcp, cidr, port, port, "allow") for cidr in data_cidrs for port in ports),
    }
    assert tags(acl)["Environment"] == env["webstack_environment"]


@pytest.mark.stack("rerun")
@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_second_run_changes_nothing(stack: Stack, inventory: str) -> None:
    run = stack.runs[f"rerun-{inventory}"]
    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert changed_tasks(run.output, "network") == []
    assert mutating(run.requests) == []


@pytest.mark.stack("check")
def test_check_mode_on_a_deployed_environment_predicts_no_change(stack: Stack) -> None:
    run = stack.runs["check-staging"]
    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert mutating(run.requests) == []


@pytest.mark.stack("refused")
def test_edge_teardown_is_refused_while_environments_use_it(stack: Stack, ec2: Any) -> None:
    run = stack.runs["teardown-edge-in-use"]
    assert run.returncode != 0
    assert "still used by" in " ".join(run.output.split())
    assert "webstack-prod-frontend" in run.output
    edge_vpc(ec2)


@pytest.mark.stack("refused")
def test_prod_teardown_needs_confirmation(stack: Stack) -> None:
    run = stack.runs["teardown-prod-unconfirmed"]
    assert run.returncode != 0
    assert "confirm_teardown" in run.output
    assert run.requests == []


@pytest.mark.stack("staging-teardown")
def test_staging_teardown_removes_staging_only(stack: Stack, ec2: Any) -> None:
    run = stack.runs["teardown-staging"]

    assert run.returncode == 0, run.output
    assert changed_tasks(run.output, "network")
    for describe, key in (
        ("describe_subnets", "Subnets"),
        ("describe_security_groups", "SecurityGroups"),
        ("describe_route_tables", "RouteTables"),
        ("describe_addresses", "Addresses"),
        ("describe_network_acls", "NetworkAcls"),
    ):
        assert owned(ec2, describe, key, "Non-Production") == [], describe
    assert live_nats(ec2, "Non-Production") == []
    assert network_layer(stack, "Production") == stack.recorded["prod-before-staging-teardown"]["network"]
    assert len(owned(ec2, "describe_subnets", "Subnets", "Shared")) == len(PROD["webstack_edge_public_subnets"])


@pytest.mark.stack("staging-teardown")
def test_second_staging_teardown_is_a_no_op(stack: Stack) -> None:
    run = stack.runs["teardown-staging-again"]
    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert mutating(run.requests) == []


@pytest.mark.stack("prod-teardown")
def test_full_teardown_leaves_nothing_of_the_project(stack: Stack, ec2: Any) -> None:
    run = stack.runs["teardown-prod"]
    assert run.returncode == 0, run.output
    project = [{"Name": "tag:Project", "Values": ["webstack"]}]
    assert ec2.describe_vpcs(Filters=project)["Vpcs"] == []
    assert ec2.describe_subnets(Filters=project)["Subnets"] == []
    assert ec2.describe_security_groups(Filters=project)["SecurityGroups"] == []
    assert ec2.describe_addresses(Filters=project)["Addresses"] == []
    assert ec2.describe_network_acls(Filters=project)["NetworkAcls"] == []
    assert ec2.describe_internet_gateways(Filters=project)["InternetGateways"] == []
    assert ec2.describe_flow_logs(Filters=project)["FlowLogs"] == []
    assert stack.client("logs").describe_log_groups(logGroupNamePrefix=f"/{EDGE}/vpc-flow-logs")["logGroups"] == []
    roles = [role["RoleName"] for role in stack.client("iam").list_roles()["Roles"]]
    assert f"{EDGE}-vpc-flow-logs" not in roles
