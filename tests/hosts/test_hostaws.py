"""scripts/hostaws.py: a booted host calls AWS as an instance does, and reaches the emulator.

The host gets no endpoint, no credentials and no CA bundle in its environment:
it resolves the AWS names its instance policy allows to this machine (hostlab's
aliases), trusts the demo CA (as an instance trusts Amazon's), and takes its
credentials from the metadata service at 169.254.169.254 with IMDSv2 tokens,
answered as the emulator instance it stands for. Debian's own boto3 on the host
then reads an SSM parameter, a secret and an S3 object through the TLS proxy.

Needs root, systemd-nspawn and the cached root file system (`make hosts-test`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from .lab import demo_ca, free_port, wait_listening

ROOT = Path(__file__).resolve().parents[2]
HOSTLAB = [sys.executable, str(ROOT / "scripts" / "hostlab.py")]
HOSTAWS = [sys.executable, str(ROOT / "scripts" / "hostaws.py")]
EMULATOR = [sys.executable, str(ROOT / "scripts" / "emulator.py")]
HOST = "hostaws-app"
PREFIX = "hostaws-test"
ROLE = f"{PREFIX}-frontend-instance"
BUCKET = f"{PREFIX}-bootstrap"
REGION = "us-east-1"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("systemd-nspawn") or not shutil.which("debootstrap"),
    reason="booted hosts need root, systemd-nspawn and debootstrap (scripts/bootstrap.sh)",
)


def on_host(command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HOSTLAB, "ssh", HOST, command], input=stdin, capture_output=True, text=True, check=False, timeout=120
    )


class Lab:
    def __init__(self, instance_id: str, names: list[str], values: dict[str, str]) -> None:
        self.instance_id, self.names, self.values = instance_id, names, values


def build_account(env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """An instance role (what the compute layer makes), an instance with IMDSv2 required, what it reads."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    iam, ec2 = client("iam"), client("ec2")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": f"arn:aws:ssm:{REGION}:*:parameter/{PREFIX}/*",
            },
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/bundles/*"},
            {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
        ],
    }
    iam.put_role_policy(RoleName=ROLE, PolicyName=ROLE, PolicyDocument=json.dumps(policy))
    iam.create_instance_profile(InstanceProfileName=ROLE)
    iam.add_role_to_instance_profile(InstanceProfileName=ROLE, RoleName=ROLE)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    (instance,) = ec2.run_instances(
        ImageId=image,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        IamInstanceProfile={"Name": ROLE},
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled", "InstanceMetadataTags": "enabled"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Environment", "Value": "Test"}]}],
    )["Instances"]
    values = {"parameter": "from-ssm-7d1e", "secret": "from-secrets-manager-52aa", "object": "from-s3-c0de"}
    client("ssm").put_parameter(Name=f"/{PREFIX}/data/mysql/port", Value=values["parameter"], Type="String")
    client("secretsmanager").create_secret(Name=f"{PREFIX}/redis/auth-token", SecretString=values["secret"])
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="bundles/frontend/bundle.txt", Body=values["object"].encode())
    return instance["InstanceId"], values


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("hostaws")
    port = str(free_port())
    emulator_env = {**os.environ, "EMULATOR_STATE_DIR": str(folder / "emulator"), "EMULATOR_PORT": port}
    subprocess.run([*EMULATOR, "start"], env=emulator_env, check=True, capture_output=True, timeout=120)
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}  # fmt: skip
    serve = None
    try:
        instance_id, values = build_account(env)
        names = subprocess.run(
            [*HOSTAWS, "names", "--prefix", PREFIX], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        ca_cert = demo_ca(folder / "ca")
        serve = subprocess.Popen(
            [*HOSTAWS, "serve", "--prefix", PREFIX, "--ca-dir", str(folder / "ca"),
             "--state", str(folder / "state")],
            env=env, stdout=(folder / "serve.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_listening("169.254.169.254", 80, serve)
        wait_listening("10.231.0.1", 443, serve)
        aliases = [arg for name in names for arg in ("--alias", f"{name}=controller")]
        subprocess.run([*HOSTLAB, "up", HOST, *aliases], check=True, capture_output=True, timeout=600)
        subprocess.run(
            [*HOSTAWS, "attach", HOST, instance_id, "--state", str(folder / "state"), "--ca-cert", str(ca_cert)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        yield Lab(instance_id, names, values)
    finally:
        subprocess.run([*HOSTLAB, "down", HOST], check=False, capture_output=True, timeout=120)
        if serve is not None:
            serve.terminate()
            serve.wait(timeout=30)
        subprocess.run([*EMULATOR, "stop"], env=emulator_env, check=False, capture_output=True, timeout=60)


def imds(path: str, token: bool = True) -> subprocess.CompletedProcess:
    put = 'curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token'
    get_token = f"T=$({put}) && " if token else "T=none && "
    header = '-H "X-aws-ec2-metadata-token: $T"' if token else ""
    return on_host(f'{get_token}curl -sS -w "\\n%{{http_code}}" {header} http://169.254.169.254/latest/{path}')


def test_the_names_are_what_the_instance_policy_allows(lab: Lab) -> None:
    """Every service of the policy in the region, the bucket's virtual hosts; nothing else."""
    assert lab.names == sorted(
        [
            f"{BUCKET}.s3.amazonaws.com",
            f"{BUCKET}.s3.{REGION}.amazonaws.com",
            "monitoring.us-east-1.amazonaws.com",
            "s3.amazonaws.com",
            "s3.us-east-1.amazonaws.com",
            "secretsmanager.us-east-1.amazonaws.com",
            "ssm.us-east-1.amazonaws.com",
        ]
    )


def test_the_metadata_service_wants_a_token_when_imdsv2_is_required(lab: Lab) -> None:
    without = imds("meta-data/instance-id", token=False)
    assert without.stdout.strip().splitlines()[-1] == "401", without.stdout


def test_the_metadata_service_answers_as_the_emulators_instance(lab: Lab) -> None:
    instance = imds("meta-data/instance-id")
    region = imds("meta-data/placement/region")
    role = imds("meta-data/iam/security-credentials/")
    tag = imds("meta-data/tags/instance/Environment")

    assert instance.stdout.splitlines() == [lab.instance_id, "200"], instance.stdout + instance.stderr
    assert region.stdout.splitlines() == [REGION, "200"]
    assert role.stdout.splitlines() == [ROLE, "200"]
    assert tag.stdout.splitlines() == ["Test", "200"]
    credentials = imds(f"meta-data/iam/security-credentials/{ROLE}").stdout.rsplit("\n", 1)[0]
    document = json.loads(credentials)
    assert document["Code"] == "Success"
    assert document["AccessKeyId"] and document["SecretAccessKey"] and document["Token"]


def test_debians_boto3_reads_ssm_secrets_and_s3_as_on_aws(lab: Lab) -> None:
    """No endpoint, no keys, no CA bundle given: names, TLS and credentials come as on an instance."""
    script = f"""
import json, boto3
ssm = boto3.client("ssm", region_name="{REGION}")
secrets = boto3.client("secretsmanager", region_name="{REGION}")
s3 = boto3.client("s3", region_name="{REGION}")
print(json.dumps({{
    "parameter": ssm.get_parameter(Name="/{PREFIX}/data/mysql/port")["Parameter"]["Value"],
    "secret": secrets.get_secret_value(SecretId="{PREFIX}/redis/auth-token")["SecretString"],
    "object": s3.get_object(Bucket="{BUCKET}", Key="bundles/frontend/bundle.txt")["Body"].read().decode(),
    "endpoint": s3.meta.endpoint_url,
    "credentials": boto3.Session().get_credentials().method,
}}))
"""
    result = on_host("env -i PATH=/usr/bin:/bin python3 -", script)

    assert result.returncode == 0, result.stderr[-3000:]
    read = json.loads(result.stdout)
    assert {k: read[k] for k in lab.values} == lab.values
    assert read["endpoint"].startswith("https://") and read["endpoint"].endswith(".amazonaws.com")
    assert read["credentials"] == "iam-role"


def test_a_service_the_policy_does_not_allow_does_not_resolve(lab: Lab) -> None:
    result = on_host("getent hosts sts.us-east-1.amazonaws.com rds.us-east-1.amazonaws.com")
    assert result.returncode != 0
    assert result.stdout == ""


def test_a_request_from_an_unknown_address_gets_no_metadata(lab: Lab) -> None:
    result = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://169.254.169.254/latest/meta-data/instance-id"],
        capture_output=True, text=True, check=False, timeout=10,
    )  # fmt: skip
    assert result.stdout == "404"
