"""scripts/emulator.py's patches for a rotation (docs/EMULATOR.md, E45), in-process on moto:
patch_replication_group_auth_token() and patch_secret_current_version()."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.elasticache.models import ReplicationGroup, elasticache_backends
from moto.elasticache.responses import ElastiCacheResponse
from moto.secretsmanager.models import SecretsManagerBackend

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import emulator

GROUP = "webstack-prod-redis"
OLD, NEW, NEWER = "o" * 32, "n" * 32, "x" * 32


@pytest.fixture
def elasticache(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Saved first, so that the patch is undone after the test and the module tests run on moto as it is.
    monkeypatch.setattr(ReplicationGroup, "__init__", ReplicationGroup.__init__)
    monkeypatch.setattr(ElastiCacheResponse, "modify_replication_group", ElastiCacheResponse.modify_replication_group)
    emulator.patch_replication_group_auth_token()
    with mock_aws():
        client = boto3.client("elasticache", region_name="us-east-1")
        client.create_replication_group(
            ReplicationGroupId=GROUP,
            ReplicationGroupDescription="cache",
            Engine="redis",
            CacheNodeType="cache.t4g.micro",
            ReplicasPerNodeGroup=1,
            TransitEncryptionEnabled=True,
            AuthToken=OLD,
        )
        yield client


def tokens() -> list[str]:
    return elasticache_backends["123456789012"]["us-east-1"].replication_groups[GROUP].auth_tokens


def described(client: Any) -> dict[str, Any]:
    return client.describe_replication_groups(ReplicationGroupId=GROUP)["ReplicationGroups"][0]


def modify(client: Any, **request: Any) -> dict[str, Any]:
    return client.modify_replication_group(ReplicationGroupId=GROUP, ApplyImmediately=True, **request)


def error(client: Any, **request: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        modify(client, **request)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_rotate_keeps_both_tokens_then_set_keeps_only_the_new_one(elasticache: Any) -> None:
    before = described(elasticache)
    assert before["AuthTokenEnabled"] is True
    assert tokens() == [OLD]

    modify(elasticache, AuthToken=NEW, AuthTokenUpdateStrategy="ROTATE")
    assert tokens() == [OLD, NEW]
    rotated = described(elasticache)
    assert rotated["AuthTokenEnabled"] is True
    assert rotated["AuthTokenLastModifiedDate"] > before["AuthTokenLastModifiedDate"]

    modify(elasticache, AuthToken=NEW, AuthTokenUpdateStrategy="SET")
    assert tokens() == [NEW]
    assert described(elasticache)["AuthTokenLastModifiedDate"] > rotated["AuthTokenLastModifiedDate"]


def test_at_most_two_tokens_and_rotate_is_the_default(elasticache: Any) -> None:
    modify(elasticache, AuthToken=NEW)
    modify(elasticache, AuthToken=NEWER, AuthTokenUpdateStrategy="ROTATE")
    assert tokens() == [NEW, NEWER]
    modify(elasticache, AuthToken=NEWER, AuthTokenUpdateStrategy="ROTATE")
    assert tokens() == [NEW, NEWER]


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        ({"AuthToken": NEW, "AuthTokenUpdateStrategy": "SET"}, "InvalidParameterCombination"),  # no ROTATE before
        ({"AuthToken": "too-short", "AuthTokenUpdateStrategy": "ROTATE"}, "InvalidParameterValue"),
        ({"AuthToken": "x" * 129, "AuthTokenUpdateStrategy": "ROTATE"}, "InvalidParameterValue"),
        ({"AuthToken": "has@an-at-sign-in-it", "AuthTokenUpdateStrategy": "ROTATE"}, "InvalidParameterValue"),
        ({"AuthToken": "has a space in it, no", "AuthTokenUpdateStrategy": "ROTATE"}, "InvalidParameterValue"),
        ({"AuthToken": NEW, "AuthTokenUpdateStrategy": "rotate-please"}, "InvalidParameterValue"),
        ({"AuthTokenUpdateStrategy": "ROTATE"}, "InvalidParameterCombination"),
        ({"AuthToken": NEW, "AuthTokenUpdateStrategy": "DELETE"}, "InvalidParameterCombination"),
    ],
)
def test_a_wrong_request_is_refused_and_changes_nothing(elasticache: Any, request_: dict[str, str], code: str) -> None:
    before = described(elasticache)
    assert error(elasticache, SnapshotRetentionLimit=7, **request_)[0] == code
    assert tokens() == [OLD]
    after = described(elasticache)
    assert after["AuthTokenLastModifiedDate"] == before["AuthTokenLastModifiedDate"]
    assert after["SnapshotRetentionLimit"] == before["SnapshotRetentionLimit"]


def test_a_group_without_transit_encryption_takes_no_token(elasticache: Any) -> None:
    elasticache.create_replication_group(
        ReplicationGroupId="plain", ReplicationGroupDescription="cache", Engine="redis", ReplicasPerNodeGroup=1
    )
    with pytest.raises(ClientError) as caught:
        elasticache.modify_replication_group(
            ReplicationGroupId="plain", AuthToken=NEW, AuthTokenUpdateStrategy="ROTATE"
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert (
        elasticache.describe_replication_groups(ReplicationGroupId="plain")["ReplicationGroups"][0]["AuthTokenEnabled"]
        is False
    )


@pytest.fixture
def secrets(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(
        SecretsManagerBackend, "update_secret_version_stage", SecretsManagerBackend.update_secret_version_stage
    )
    emulator.patch_secret_current_version()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_the_value_follows_awscurrent_when_it_moves(secrets: Any) -> None:
    secrets.create_secret(Name="webstack-prod/redis/auth-token", SecretString=OLD)
    old = secrets.describe_secret(SecretId="webstack-prod/redis/auth-token")["VersionIdsToStages"]
    (old_version,) = old
    new_version = secrets.put_secret_value(
        SecretId="webstack-prod/redis/auth-token", SecretString=NEW, VersionStages=["AWSPENDING"]
    )["VersionId"]
    assert secrets.get_secret_value(SecretId="webstack-prod/redis/auth-token")["SecretString"] == OLD
    secrets.update_secret_version_stage(
        SecretId="webstack-prod/redis/auth-token",
        VersionStage="AWSCURRENT",
        MoveToVersionId=new_version,
        RemoveFromVersionId=old_version,
    )
    assert secrets.get_secret_value(SecretId="webstack-prod/redis/auth-token")["SecretString"] == NEW
    previous = secrets.get_secret_value(SecretId="webstack-prod/redis/auth-token", VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == OLD
