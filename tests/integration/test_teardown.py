"""Each layer's teardown first looks whether anything of it is left, and skips its delete tasks when nothing is.

Both tests run in this worker's own emptied emulator: the teardown of an
empty account, and the leftovers an interrupted run can leave behind (an SSM
output, a secret, a NAT gateway never tagged, found only through the
environment's Elastic IP), which the next teardown must still remove.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.error
import urllib.request
from typing import ClassVar

import pytest

from .conftest import Emulator, actions, mutating, run_playbook, tags

pytestmark = pytest.mark.integration

# One task per layer reads what is left of it: the only AWS calls of a
# teardown that finds nothing.
PROBES = [
    "TASK [monitoring : Find what is left of the monitoring layer",
    "TASK [compute : Find what is left of the compute layer",
    "TASK [edge : Find what is left of the environment's entry on the edge",
    "TASK [identity : Find what is left of the environment's Cognito sign-in",
    "TASK [data : Find what is left of the data layer",
    "TASK [network : Find the shared edge VPC and what this environment has left in it",
]
NON_PRODUCTION = [
    {"Key": "Project", "Value": "webstack"},
    {"Key": "Environment", "Value": "Non-Production"},
]


def teardown(emulator: Emulator) -> tuple[object, list[dict[str, str]]]:
    mark = emulator.mark()
    run = run_playbook(emulator, "inventories/staging", "teardown.yml")
    return run, emulator.since(mark)


def test_a_teardown_of_an_empty_account_only_looks(empty_account: Emulator) -> None:
    run, requests = teardown(empty_account)

    assert run.returncode == 0, run.output
    assert run.changed == 0, run.recap
    assert mutating(requests) == []
    assert all(probe in run.output for probe in PROBES)
    # The probes' reads and nothing else: no delete task of any layer starts a module (each would
    # look again). 36 reads for staging: monitoring 5, compute 10, edge 4, identity 2, network 3, data 12
    # (AWS Backup's vaults, plans, key alias and role among them: a teardown looks even where the
    # inventory turned backups off, since an earlier run may have made them).
    assert len(requests) <= 36, actions(requests)


def test_a_teardown_removes_what_an_interrupted_run_left(empty_account: Emulator) -> None:
    ec2 = empty_account.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "webstack-edge-vpc"}, NON_PRODUCTION[0]])
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_tags(Resources=[address], Tags=NON_PRODUCTION)
    # A provision stopped after creating the NAT gateway, before tagging it.
    nat = ec2.create_nat_gateway(SubnetId=public["SubnetId"], AllocationId=address)["NatGateway"]["NatGatewayId"]
    empty_account.client("ssm").put_parameter(Name="/webstack-staging/identity/user-pool-id", Value="x", Type="String")
    empty_account.client("secretsmanager").create_secret(Name="webstack-staging/redis/auth-token", SecretString="x")

    run, requests = teardown(empty_account)

    assert run.returncode == 0, run.output
    assert sorted(mutating(requests)) == ["DeleteNatGateway", "DeleteParameters", "DeleteSecret", "ReleaseAddress"]
    live = ec2.describe_nat_gateways(Filter=[{"Name": "state", "Values": ["pending", "available"]}])["NatGateways"]
    assert [n["NatGatewayId"] for n in live if not tags(n)] == []
    assert nat not in [n["NatGatewayId"] for n in live]
    assert ec2.describe_addresses()["Addresses"] == []
    assert (
        empty_account.client("ssm").get_parameters_by_path(Path="/webstack-staging", Recursive=True)["Parameters"] == []
    )

    again, requests = teardown(empty_account)
    assert again.returncode == 0, again.output
    assert again.changed == 0, again.recap
    assert mutating(requests) == []


class DenyingProxy(http.server.BaseHTTPRequestHandler):
    """Forwards ElastiCache calls to the emulator, but answers DeleteCacheSubnetGroup with AccessDenied."""

    emulator_url = ""
    denied: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if b"Action=DeleteCacheSubnetGroup" in body:
            self.denied.append(body.decode())
            self.answer(
                403,
                b'<ErrorResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><Error><Type>Sender</Type>'
                b"<Code>AccessDenied</Code><Message>User is not authorized to perform: "
                b"elasticache:DeleteCacheSubnetGroup</Message></Error><RequestId>1</RequestId></ErrorResponse>",
            )
            return
        headers = {key: value for key, value in self.headers.items() if key.lower() != "host"}
        url = self.emulator_url + self.path
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback emulator
                self.answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            self.answer(error.code, error.read())

    def answer(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_a_teardown_fails_at_once_on_an_error_that_waiting_cannot_heal(empty_account: Emulator) -> None:
    """Only CacheSubnetGroupInUse is waited out; access denied stops the teardown, naming the call."""
    ec2 = empty_account.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{index}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"]
        for index, zone in enumerate("ab")
    ]
    empty_account.client("elasticache").create_cache_subnet_group(
        CacheSubnetGroupName="webstack-staging-data",
        CacheSubnetGroupDescription="left by an interrupted run",
        SubnetIds=[subnet["SubnetId"] for subnet in subnets],
    )
    DenyingProxy.emulator_url = empty_account.env["AWS_ENDPOINT_URL"]
    DenyingProxy.denied = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DenyingProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        run = run_playbook(
            empty_account,
            "inventories/staging",
            "teardown.yml",
            extra_env={"AWS_ENDPOINT_URL_ELASTICACHE": f"http://127.0.0.1:{server.server_address[1]}"},
        )
        seconds = time.monotonic() - started
    finally:
        server.shutdown()

    flat = " ".join(run.output.split())
    assert run.returncode != 0, run.output[-3000:]
    assert "AccessDenied" in flat and "DeleteCacheSubnetGroup" in flat, run.output[-3000:]
    assert len(DenyingProxy.denied) == 1, "the denied delete was retried"
    assert seconds < 120, seconds
