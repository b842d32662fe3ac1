"""Unit tests of plugins/modules/s3_object_sha256.py, against moto in-process.

moto 5.2.5 keeps versions in a versioned bucket, returns user metadata in HeadObject
and checks Content-MD5 as S3 does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients
from moto import mock_aws

MODULE = "s3_object_sha256"
BUCKET = "webstack-staging-bootstrap-123456789012"
KEY = "bundles/frontend/bundle.tar.gz"


@pytest.fixture
def api_calls() -> Calls:
    return []


@pytest.fixture
def s3(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    spy_module_clients(monkeypatch, api_calls)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(b"bundle one" * 1000)
    return path


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def versions(client: Any) -> list[dict[str, Any]]:
    return client.list_object_versions(Bucket=BUCKET, Prefix=KEY).get("Versions", [])


def puts(calls: Calls) -> list[str]:
    return [name for name, _ in calls if name == "PutObject"]


def test_uploads_a_missing_object_with_its_checksum(s3: Any, bundle: Path, api_calls: Calls, capsys) -> None:
    result = run({"bucket": BUCKET, "key": KEY, "src": str(bundle)}, capsys, diff=True)

    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert result["changed"] is True
    assert result["sha256"] == digest
    assert result["previous_version_id"] == ""
    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["Metadata"] == {"sha256": digest}
    assert head["VersionId"] == result["version_id"] != ""
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == bundle.read_bytes()
    assert result["diff"] == {
        "before": {"sha256": "", "version_id": ""},
        "after": {"sha256": digest, "version_id": result["version_id"]},
    }


def test_the_same_file_adds_no_version(s3: Any, bundle: Path, api_calls: Calls, capsys) -> None:
    first = run({"bucket": BUCKET, "key": KEY, "src": str(bundle)}, capsys)
    api_calls.clear()

    again = run({"bucket": BUCKET, "key": KEY, "src": str(bundle)}, capsys)

    assert again["changed"] is False
    assert again["version_id"] == again["previous_version_id"] == first["version_id"]
    assert [name for name, _ in api_calls] == ["HeadObject"]
    assert len(versions(s3)) == 1


def test_a_changed_file_becomes_a_new_version(s3: Any, bundle: Path, api_calls: Calls, capsys) -> None:
    first = run({"bucket": BUCKET, "key": KEY, "src": str(bundle)}, capsys)
    bundle.write_bytes(b"bundle two")

    second = run({"bucket": BUCKET, "key": KEY, "src": str(bundle)}, capsys)

    assert second["changed"] is True
    assert second["previous_version_id"] == first["version_id"]
    assert second["version_id"] not in ("", first["version_id"])
    assert len(versions(s3)) == 2
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b"bundle two"


def test_check_mode_predicts_and_uploads_nothing(s3: Any, bundle: Path, api_calls: Calls, capsys) -> None:
    result = run({"bucket": BUCKET, "key": KEY, "src": str(bundle)}, capsys, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["version_id"] == ""
    assert result["diff"]["after"]["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert puts(api_calls) == []
    assert versions(s3) == []


def test_an_object_without_the_checksum_is_replaced(s3: Any, bundle: Path, capsys) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=bundle.read_bytes())

    result = run({"bucket": BUCKET, "key": KEY, "src": str(bundle)}, capsys)

    assert result["changed"] is True
    assert len(versions(s3)) == 2


def test_changed_metadata_is_an_upload(s3: Any, bundle: Path, capsys) -> None:
    run({"bucket": BUCKET, "key": KEY, "src": str(bundle), "metadata": {"Built-By": "ci"}}, capsys)
    same = run({"bucket": BUCKET, "key": KEY, "src": str(bundle), "metadata": {"built-by": "ci"}}, capsys)
    other = run({"bucket": BUCKET, "key": KEY, "src": str(bundle), "metadata": {"built-by": "laptop"}}, capsys)

    assert same["changed"] is False
    assert other["changed"] is True
    assert s3.head_object(Bucket=BUCKET, Key=KEY)["Metadata"]["built-by"] == "laptop"


@pytest.mark.parametrize(
    ("sha256", "message"),
    [("abc", "is not a SHA-256 in hex"), ("0" * 64, "is not the SHA-256 of")],
)
def test_a_wrong_checksum_is_refused_before_any_call(
    s3: Any, bundle: Path, api_calls: Calls, capsys, sha256: str, message: str
) -> None:
    result = run({"bucket": BUCKET, "key": KEY, "src": str(bundle), "sha256": sha256}, capsys)

    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


def test_a_missing_file_is_refused(s3: Any, tmp_path: Path, api_calls: Calls, capsys) -> None:
    result = run({"bucket": BUCKET, "key": KEY, "src": str(tmp_path / "absent.tar.gz")}, capsys)

    assert result["failed"] is True
    assert "no such file" in result["msg"]
    assert api_calls == []


def test_a_missing_bucket_fails_naming_it(s3: Any, bundle: Path, capsys) -> None:
    result = run({"bucket": "no-such-bucket-here", "key": KEY, "src": str(bundle)}, capsys)

    assert result["failed"] is True
    assert "no-such-bucket-here" in result["msg"]
