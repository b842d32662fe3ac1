"""The edge and identity layers of both environments, as the emulator reports them (the shared deployment, stack.py).

Staging is deployed with a corporate SAML and an OIDC provider whose client
secret is in Secrets Manager.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from .conftest import ROOT, changed_tasks, inventory_vars, mutating, tags
from .stack import OIDC_SECRET, Stack

pytestmark = pytest.mark.integration

EDGE = yaml.safe_load((ROOT / "inventories" / "shared" / "edge.yml").read_text())
SITES = EDGE["webstack_edge_sites"]
DOMAIN = EDGE["webstack_edge_domain"]
ALB = "webstack-edge-alb"
MANAGED_GROUPS = [group["name"] for group in EDGE["webstack_edge_waf_managed_rule_groups"]]


@pytest.fixture
def elbv2(stack: Stack) -> Any:
    return stack.client("elbv2")


def alb(elbv2: Any) -> dict[str, Any]:
    return elbv2.describe_load_balancers(Names=[ALB])["LoadBalancers"][0]


def listener(elbv2: Any, protocol: str) -> dict[str, Any]:
    listeners = elbv2.describe_listeners(LoadBalancerArn=alb(elbv2)["LoadBalancerArn"])["Listeners"]
    return next(item for item in listeners if item["Protocol"] == protocol)


def host_rule(elbv2: Any, env: str) -> dict[str, Any] | None:
    rules = elbv2.describe_rules(ListenerArn=listener(elbv2, "HTTPS")["ListenerArn"])["Rules"]
    return next((rule for rule in rules if rule["Priority"] == str(SITES[env]["rule_priority"])), None)


def target_group_arn(elbv2: Any, name: str) -> str:
    return elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]


def user_pool(aws: Any, name: str) -> dict[str, Any] | None:
    pools = aws.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    return next((pool for pool in pools if pool["Name"] == name), None)


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_provision(stack: Stack, inventory: str) -> None:
    run = stack.runs[f"provision-{inventory}"]
    assert run.returncode == 0, run.output[-5000:]
    assert changed_tasks(run.output, "edge")
    for recorded in stack.runs.values():
        assert OIDC_SECRET not in recorded.output


@pytest.mark.stack("deploy")
def test_alb_is_internet_facing_in_the_public_subnets_and_protected(stack: Stack, elbv2: Any) -> None:
    balancer = alb(elbv2)
    subnets = stack.client("ec2").describe_subnets(
        SubnetIds=[zone["SubnetId"] for zone in balancer["AvailabilityZones"]]
    )
    attributes = {
        item["Key"]: item["Value"]
        for item in elbv2.describe_load_balancer_attributes(LoadBalancerArn=balancer["LoadBalancerArn"])["Attributes"]
    }

    assert balancer["Scheme"] == "internet-facing"
    assert sorted(tags(subnet)["Tier"] for subnet in subnets["Subnets"]) == ["public", "public"]
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def access_log_bucket(stack: Stack) -> str:
    return f"{ALB.removesuffix('-alb')}-alb-logs-{stack.client('sts').get_caller_identity()['Account']}"


def bucket_names(stack: Stack) -> list[str]:
    return [bucket["Name"] for bucket in stack.client("s3").list_buckets()["Buckets"]]


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_alb_writes_access_logs_to_an_encrypted_bucket_only_elb_log_delivery_writes_to(
    stack: Stack, elbv2: Any, inventory: str
) -> None:
    env = inventory_vars(inventory)
    account = stack.client("sts").get_caller_identity()["Account"]
    bucket = access_log_bucket(stack)
    prefix = ALB
    s3 = stack.client("s3")
    attributes = {
        item["Key"]: item["Value"]
        for item in elbv2.describe_load_balancer_attributes(LoadBalancerArn=alb(elbv2)["LoadBalancerArn"])["Attributes"]
    }
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]

    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == bucket
    assert attributes["access_logs.s3.prefix"] == prefix
    (encryption,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    allows = [statement for statement in policy["Statement"] if statement["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "AllowELBLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}/AWSLogs/{account}/*",
        }
    ]
    (deny,) = [statement for statement in policy["Statement"] if statement["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert rule["Status"] == "Enabled"
    assert rule["Expiration"]["Days"] == env["webstack_edge_alb_access_log_expiry_days"]


@pytest.mark.stack("deploy")
def test_alb_security_group_allows_https_out_for_cognito(stack: Stack, elbv2: Any) -> None:
    group_id = alb(elbv2)["SecurityGroups"][0]
    group = stack.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    egress = {(rule["FromPort"], rule["IpRanges"][0]["CidrIp"]) for rule in group["IpPermissionsEgress"]}
    ingress = {(rule["FromPort"], rule["IpRanges"][0]["CidrIp"]) for rule in group["IpPermissions"]}

    assert (443, "0.0.0.0/0") in egress
    assert ingress == {(80, "0.0.0.0/0"), (443, "0.0.0.0/0")}


@pytest.mark.stack("deploy")
def test_http_listener_only_redirects_to_https(elbv2: Any) -> None:
    http = listener(elbv2, "HTTP")

    assert [action["Type"] for action in http["DefaultActions"]] == ["redirect"]
    redirect = http["DefaultActions"][0]["RedirectConfig"]
    assert (redirect["Protocol"], redirect["Port"], redirect["StatusCode"]) == ("HTTPS", "443", "HTTP_301")
    rules = elbv2.describe_rules(ListenerArn=http["ListenerArn"])["Rules"]
    assert [rule["IsDefault"] for rule in rules] == [True]


@pytest.mark.stack("deploy")
def test_https_listener_serves_the_issued_certificate_with_tls_1_2_and_a_404_default(stack: Stack, elbv2: Any) -> None:
    https = listener(elbv2, "HTTPS")
    certificate = stack.client("acm").describe_certificate(CertificateArn=https["Certificates"][0]["CertificateArn"])

    assert https["SslPolicy"] == EDGE["webstack_edge_tls_policy"]
    assert certificate["Certificate"]["Status"] == "ISSUED"
    hosts = sorted({host for site in SITES.values() for host in site["hosts"]})
    assert sorted(certificate["Certificate"]["SubjectAlternativeNames"]) == hosts
    assert https["DefaultActions"][0]["Type"] == "fixed-response"
    assert https["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"


@pytest.mark.stack("deploy")
def test_staging_rule_authenticates_through_its_pool_client_and_domain_then_forwards(stack: Stack, elbv2: Any) -> None:
    cognito = stack.client("cognito-idp")
    pool = user_pool(stack, "webstack-staging-users")
    assert pool is not None
    clients = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"]
    client = cognito.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=clients[0]["ClientId"])["UserPoolClient"]
    rule = host_rule(elbv2, "staging")
    assert rule is not None

    assert rule["Conditions"][0]["HostHeaderConfig"]["Values"] == SITES["staging"]["hosts"]
    authenticate, forward = sorted(rule["Actions"], key=lambda action: action["Order"])
    config = authenticate["AuthenticateCognitoConfig"]
    assert authenticate["Type"] == "authenticate-cognito"
    assert config["UserPoolArn"] == cognito.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["Arn"]
    assert config["UserPoolClientId"] == client["ClientId"]
    domain = cognito.describe_user_pool_domain(Domain=config["UserPoolDomain"])["DomainDescription"]
    assert domain["UserPoolId"] == pool["Id"]
    assert forward["Type"] == "forward"
    assert forward["TargetGroupArn"] == target_group_arn(elbv2, "webstack-staging-frontend")
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["CallbackURLs"] == [f"https://{host}/oauth2/idpresponse" for host in SITES["staging"]["hosts"]]
    assert client.get("ClientSecret"), "the ALB needs a client with a secret"


@pytest.mark.stack("deploy")
def test_prod_rule_forwards_without_signing_in(stack: Stack, elbv2: Any) -> None:
    rule = host_rule(elbv2, "prod")
    assert rule is not None

    assert sorted(rule["Conditions"][0]["HostHeaderConfig"]["Values"]) == sorted(SITES["prod"]["hosts"])
    assert [action["Type"] for action in rule["Actions"]] == ["forward"]
    assert rule["Actions"][0]["TargetGroupArn"] == target_group_arn(elbv2, "webstack-prod-frontend")
    assert user_pool(stack, "webstack-prod-users") is None


@pytest.mark.stack("deploy")
def test_staging_signs_in_through_the_corporate_saml_and_oidc_providers(stack: Stack) -> None:
    cognito = stack.client("cognito-idp")
    pool = user_pool(stack, "webstack-staging-users")
    assert pool is not None
    providers = {
        item["ProviderName"]: item["ProviderType"]
        for item in cognito.list_identity_providers(UserPoolId=pool["Id"], MaxResults=60)["Providers"]
    }
    oidc = cognito.describe_identity_provider(UserPoolId=pool["Id"], ProviderName="corp-oidc")["IdentityProvider"]
    client_id = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"][0]["ClientId"]
    client = cognito.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=client_id)["UserPoolClient"]

    assert providers == {"corp-saml": "SAML", "corp-oidc": "OIDC"}
    assert oidc["ProviderDetails"]["client_secret"] == OIDC_SECRET
    assert oidc["ProviderDetails"]["oidc_issuer"] == "https://idp.example.com"
    assert sorted(client["SupportedIdentityProviders"]) == ["COGNITO", "corp-oidc", "corp-saml"]


@pytest.mark.stack("deploy")
@pytest.mark.parametrize(("env", "environment"), [("prod", "Production"), ("staging", "Non-Production")])
def test_frontend_target_groups_check_healthz_and_carry_their_environment(
    elbv2: Any, env: str, environment: str
) -> None:
    group = elbv2.describe_target_groups(Names=[f"webstack-{env}-frontend"])["TargetGroups"][0]
    group_tags = elbv2.describe_tags(ResourceArns=[group["TargetGroupArn"]])["TagDescriptions"][0]["Tags"]

    assert group["HealthCheckPath"] == "/healthz"
    assert {tag["Key"]: tag["Value"] for tag in group_tags}["Environment"] == environment


@pytest.mark.stack("deploy")
def test_web_acl_with_managed_groups_and_rate_limit_protects_the_alb_and_logs_redacted(
    stack: Stack, elbv2: Any
) -> None:
    wafv2 = stack.client("wafv2")
    acl = wafv2.get_web_acl_for_resource(ResourceArn=alb(elbv2)["LoadBalancerArn"])["WebACL"]
    statements = [rule["Statement"] for rule in acl["Rules"]]
    managed = [item["ManagedRuleGroupStatement"]["Name"] for item in statements if "ManagedRuleGroupStatement" in item]
    rate = [item["RateBasedStatement"] for item in statements if "RateBasedStatement" in item]
    logging = wafv2.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    log_group = stack.client("logs").describe_log_groups(logGroupNamePrefix="aws-waf-logs-")["logGroups"][0]

    assert "Allow" in acl["DefaultAction"]
    assert managed == MANAGED_GROUPS
    assert [item["Limit"] for item in rate] == [EDGE["webstack_edge_waf_rate_limit"]]
    assert logging["LogDestinationConfigs"] == [log_group["arn"].removesuffix(":*")]
    assert log_group["logGroupName"] == "aws-waf-logs-webstack-edge"
    assert log_group["retentionInDays"] == EDGE["webstack_edge_waf_log_retention_days"]
    redacted = [field["SingleHeader"]["Name"] for field in logging["RedactedFields"]]
    assert "authorization" in redacted


@pytest.mark.stack("deploy")
def test_hosts_alias_the_alb(stack: Stack, elbv2: Any) -> None:
    route53 = stack.client("route53")
    zone = route53.list_hosted_zones_by_name(DNSName=DOMAIN)["HostedZones"][0]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    aliases = {(record["Name"], record["Type"]): record["AliasTarget"] for record in records if "AliasTarget" in record}
    dns_name = alb(elbv2)["DNSName"]

    for host in [host for site in SITES.values() for host in site["hosts"]]:
        assert aliases[(f"{host}.", "A")]["DNSName"].rstrip(".") == dns_name
        # The ALB answers IPv4 only: an AAAA alias would resolve to nothing.
        assert (f"{host}.", "AAAA") not in aliases


@pytest.mark.stack("rerun")
@pytest.mark.parametrize("inventory", ["prod", "staging"])
def test_second_run_changes_nothing(stack: Stack, inventory: str) -> None:
    run = stack.runs[f"rerun-{inventory}"]

    assert run.returncode == 0, run.output[-5000:]
    assert run.changed == 0, run.output[-5000:]
    assert changed_tasks(run.output, "edge") == changed_tasks(run.output, "identity") == []
    assert mutating(run.requests) == []


@pytest.mark.stack("refused")
def test_edge_teardown_is_refused_while_an_environment_remains(stack: Stack, elbv2: Any) -> None:
    run = stack.runs["teardown-edge-in-use"]

    assert run.returncode != 0
    assert "still used by" in " ".join(run.output.split())
    assert mutating(run.requests) == []
    assert host_rule(elbv2, "staging") is not None


@pytest.mark.stack("staging-teardown")
def test_staging_teardown_removes_its_entry_and_cognito_but_not_the_alb_or_prod(stack: Stack, elbv2: Any) -> None:
    run = stack.runs["teardown-staging"]

    assert run.returncode == 0, run.output[-5000:]
    assert host_rule(elbv2, "staging") is None
    assert host_rule(elbv2, "prod") is not None
    names = [group["TargetGroupName"] for group in elbv2.describe_target_groups()["TargetGroups"]]
    assert "webstack-staging-frontend" not in names
    assert "webstack-prod-frontend" in names
    assert user_pool(stack, "webstack-staging-users") is None
    route53 = stack.client("route53")
    zone = route53.list_hosted_zones_by_name(DNSName=DOMAIN)["HostedZones"][0]
    records = {
        record["Name"] for record in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    }
    assert f"{SITES['staging']['hosts'][0]}." not in records
    assert f"{SITES['prod']['hosts'][0]}." in records
    assert access_log_bucket(stack) in bucket_names(stack), "the access logs belong to the shared edge"


@pytest.mark.stack("prod-teardown")
def test_last_teardown_with_the_edge_removes_the_shared_alb_waf_certificate_and_zone(stack: Stack, elbv2: Any) -> None:
    run = stack.runs["teardown-prod"]

    assert run.returncode == 0, run.output[-5000:]
    assert [item["LoadBalancerName"] for item in elbv2.describe_load_balancers()["LoadBalancers"]] == []
    assert stack.client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"] == []
    assert stack.client("wafv2").list_ip_sets(Scope="REGIONAL")["IPSets"] == []
    assert stack.client("acm").list_certificates()["CertificateSummaryList"] == []
    assert stack.client("route53").list_hosted_zones()["HostedZones"] == []
    assert stack.client("logs").describe_log_groups(logGroupNamePrefix="aws-waf-logs-")["logGroups"] == []
    assert access_log_bucket(stack) not in bucket_names(stack)


@pytest.mark.stack("prod-teardown")
def test_a_second_teardown_with_the_edge_changes_nothing(stack: Stack) -> None:
    run = stack.runs["teardown-prod-again"]
    assert run.returncode == 0, run.output[-5000:]
    assert run.changed == 0, run.output[-5000:]
    assert mutating(run.requests) == []


@pytest.mark.stack("provider-dropped")
def test_a_provider_dropped_from_the_inventory_leaves_the_pool_and_the_client(stack: Stack) -> None:
    run = stack.runs["provider-dropped"]
    cognito = stack.client("cognito-idp")
    pool = user_pool(stack, "webstack-staging-users")
    assert pool is not None
    providers = [item["ProviderName"] for item in cognito.list_identity_providers(UserPoolId=pool["Id"])["Providers"]]
    client_id = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"][0]["ClientId"]
    client = cognito.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=client_id)["UserPoolClient"]

    assert run.returncode == 0, run.output[-5000:]
    assert mutating(run.requests) == ["UpdateUserPoolClient", "DeleteIdentityProvider"]
    assert providers == ["corp-saml"]
    assert sorted(client["SupportedIdentityProviders"]) == ["COGNITO", "corp-saml"]

    again = stack.runs["provider-dropped-again"]
    assert again.returncode == 0, again.output[-5000:]
    assert again.changed == 0, again.output[-5000:]
    assert mutating(again.requests) == []
