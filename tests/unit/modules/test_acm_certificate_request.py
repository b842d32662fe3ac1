"""Unit tests of plugins/modules/acm_certificate_request.py.

moto implements ACM and Route53: it returns the DNS validation records at once, honours the
idempotency token (for an hour, when the tags are the same) and turns a DNS-validated
certificate ISSUED ``moto.settings.ACM_VALIDATION_WAIT`` seconds after the request (read from
MOTO_ACM_VALIDATION_WAIT when moto is imported, so the tests set the attribute). What only AWS
does (records that appear late, validation that takes several polls or fails, a certificate in
use, a token naming a deleted certificate) runs against botocore's Stubber.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import moto.settings
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from botocore.stub import ANY, Stubber
from conftest import Calls, load_module, record_calls, run_module, spy_module_clients
from moto import mock_aws

MODULE = "acm_certificate_request"
REGION = "us-east-1"
NAME = "webstack-edge"
DOMAIN = "example.com"
SANS = ["www.example.com", "staging.example.com"]
NAMES = sorted([DOMAIN, *SANS])
ARGS: dict[str, Any] = {
    "name": NAME,
    "domain_name": DOMAIN,
    "subject_alternative_names": SANS,
    "tags": {"Project": "webstack"},
}
MUTATING = {
    "RequestCertificate",
    "AddTagsToCertificate",
    "RemoveTagsFromCertificate",
    "DeleteCertificate",
    "ChangeResourceRecordSets",
}


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def mutating(calls: Calls) -> list[str]:
    return [name for name, _ in calls if name in MUTATING]


def params_of(calls: Calls, operation: str) -> list[dict[str, Any]]:
    return [params for name, params in calls if name == operation]


# --- against moto -------------------------------------------------------------------------


@pytest.fixture
def aws(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto in-process with a hosted zone for example.com; certificates are issued at once."""
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 0)
    with mock_aws():
        route53 = boto3.client("route53", region_name=REGION)
        zone = route53.create_hosted_zone(Name=DOMAIN, CallerReference="test")["HostedZone"]["Id"]
        ARGS["hosted_zone_id"] = zone.split("/")[-1]
        yield {"acm": boto3.client("acm", region_name=REGION), "route53": route53, "zone": ARGS["hosted_zone_id"]}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    recorded: Calls = []
    spy_module_clients(monkeypatch, recorded)
    return recorded


def cname_records(aws: dict[str, Any]) -> dict[str, str]:
    rrsets = aws["route53"].list_resource_record_sets(HostedZoneId=aws["zone"])["ResourceRecordSets"]
    return {r["Name"]: r["ResourceRecords"][0]["Value"] for r in rrsets if r["Type"] == "CNAME"}


def test_create_requests_the_certificate_writes_its_records_and_waits_until_issued(
    aws: dict[str, Any], calls: Calls, capsys
) -> None:
    result = run(ARGS, capsys)

    assert result["changed"] is True
    [request] = params_of(calls, "RequestCertificate")
    assert request["DomainName"] == DOMAIN
    assert request["ValidationMethod"] == "DNS"
    assert sorted(request["SubjectAlternativeNames"]) == NAMES
    assert request["Tags"] == [{"Key": "Name", "Value": NAME}, {"Key": "Project", "Value": "webstack"}]
    cert = result["certificate"]
    assert cert["status"] == "ISSUED"
    assert cert["domain_name"] == DOMAIN
    assert sorted(cert["subject_alternative_names"]) == NAMES
    assert cert["tags"] == {"Name": NAME, "Project": "webstack"}
    assert cert["arn"] == aws["acm"].list_certificates()["CertificateSummaryList"][0]["CertificateArn"]
    records = {r["name"]: r["value"] for r in cert["validation_records"]}
    assert len(records) == 3 and all(r["type"] == "CNAME" for r in cert["validation_records"])
    assert cname_records(aws) == records


def test_rerun_reuses_the_certificate_and_calls_nothing_mutating(aws: dict[str, Any], calls: Calls, capsys) -> None:
    first = run(ARGS, capsys)
    calls.clear()

    # Same names in another order and case: the same certificate.
    again = run({**ARGS, "subject_alternative_names": ["STAGING.example.com", "www.example.com", DOMAIN]}, capsys)

    assert again["changed"] is False
    assert mutating(calls) == []
    assert again["certificate"]["arn"] == first["certificate"]["arn"]
    assert len(aws["acm"].list_certificates()["CertificateSummaryList"]) == 1


def test_other_names_are_another_certificate(aws: dict[str, Any], calls: Calls, capsys) -> None:
    first = run(ARGS, capsys)

    second = run({**ARGS, "subject_alternative_names": ["www.example.com"]}, capsys)

    assert second["changed"] is True
    assert len(params_of(calls, "RequestCertificate")) == 2
    assert second["certificate"]["arn"] != first["certificate"]["arn"]


def test_a_certificate_named_by_another_name_tag_is_not_reused(aws: dict[str, Any], calls: Calls, capsys) -> None:
    other = run({**ARGS, "name": "someone-else"}, capsys)

    ours = run(ARGS, capsys)

    assert len(params_of(calls, "RequestCertificate")) == 2
    assert ours["certificate"]["arn"] != other["certificate"]["arn"]


def test_an_untagged_certificate_with_the_same_names_is_adopted(aws: dict[str, Any], calls: Calls, capsys) -> None:
    """What an interrupted run could leave behind: requested, never tagged."""
    arn = aws["acm"].request_certificate(DomainName=DOMAIN, SubjectAlternativeNames=SANS, ValidationMethod="DNS")[
        "CertificateArn"
    ]

    result = run(ARGS, capsys)

    assert params_of(calls, "RequestCertificate") == []
    assert result["certificate"]["arn"] == arn
    assert params_of(calls, "AddTagsToCertificate") == [
        {"CertificateArn": arn, "Tags": [{"Key": "Name", "Value": NAME}, {"Key": "Project", "Value": "webstack"}]}
    ]


def test_adding_a_tag_sends_exactly_that_tag(aws: dict[str, Any], calls: Calls, capsys) -> None:
    arn = run(ARGS, capsys)["certificate"]["arn"]
    calls.clear()

    result = run({**ARGS, "tags": {"Project": "webstack", "Owner": "platform"}}, capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["AddTagsToCertificate"]
    assert params_of(calls, "AddTagsToCertificate") == [
        {"CertificateArn": arn, "Tags": [{"Key": "Owner", "Value": "platform"}]}
    ]
    assert result["certificate"]["tags"] == {"Name": NAME, "Project": "webstack", "Owner": "platform"}


def test_purge_removes_other_tags_but_keeps_name(aws: dict[str, Any], calls: Calls, capsys) -> None:
    arn = run(ARGS, capsys)["certificate"]["arn"]
    calls.clear()

    result = run({**ARGS, "tags": {}}, capsys)
    unmanaged = run({**ARGS, "tags": None}, capsys)

    assert params_of(calls, "RemoveTagsFromCertificate") == [{"CertificateArn": arn, "Tags": [{"Key": "Project"}]}]
    assert result["certificate"]["tags"] == {"Name": NAME}
    assert unmanaged["changed"] is False


def test_a_wrong_validation_record_is_rewritten_alone(aws: dict[str, Any], calls: Calls, capsys) -> None:
    records = run(ARGS, capsys)["certificate"]["validation_records"]
    wrong = records[0]["name"]
    aws["route53"].change_resource_record_sets(
        HostedZoneId=aws["zone"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": wrong,
                        "Type": "CNAME",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "stale.example.net."}],
                    },
                }
            ]
        },
    )
    calls.clear()

    result = run(ARGS, capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["ChangeResourceRecordSets"]
    [change] = params_of(calls, "ChangeResourceRecordSets")
    assert change["ChangeBatch"]["Changes"] == [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": wrong,
                "Type": "CNAME",
                "TTL": 300,
                "ResourceRecords": [{"Value": records[0]["value"]}],
            },
        }
    ]
    assert cname_records(aws)[wrong] == records[0]["value"]


def test_absent_deletes_the_certificate(aws: dict[str, Any], calls: Calls, capsys) -> None:
    arn = run(ARGS, capsys)["certificate"]["arn"]
    calls.clear()

    result = run({**ARGS, "state": "absent"}, capsys)
    again = run({**ARGS, "state": "absent"}, capsys)

    assert result["changed"] is True
    assert result["deleted_certificates"] == [arn]
    assert params_of(calls, "DeleteCertificate") == [{"CertificateArn": arn}]
    assert aws["acm"].list_certificates()["CertificateSummaryList"] == []
    assert again["changed"] is False
    assert again["deleted_certificates"] == []


def test_check_mode_reports_the_request_without_making_it(aws: dict[str, Any], calls: Calls, capsys) -> None:
    result = run(ARGS, capsys, check_mode=True, diff=True)

    assert result["changed"] is True
    assert mutating(calls) == []
    assert result["certificate"] == {}
    assert result["diff"] == {
        "before": {},
        "after": {
            "names": NAMES,
            "status": "PENDING_VALIDATION",
            "tags": {"Project": "webstack", "Name": NAME},
            "validation_records": {},
        },
    }
    assert aws["acm"].list_certificates()["CertificateSummaryList"] == []


def test_check_mode_on_an_existing_certificate_changes_nothing(aws: dict[str, Any], calls: Calls, capsys) -> None:
    run(ARGS, capsys)
    calls.clear()

    changed = run({**ARGS, "tags": {"Project": "other"}}, capsys, check_mode=True)
    absent = run({**ARGS, "state": "absent"}, capsys, check_mode=True)

    assert changed["changed"] is True
    assert absent["changed"] is True
    assert mutating(calls) == []
    assert len(aws["acm"].list_certificates()["CertificateSummaryList"]) == 1


def test_diff_shows_the_tag_change(aws: dict[str, Any], capsys) -> None:
    run(ARGS, capsys)

    result = run({**ARGS, "tags": {"Project": "other"}}, capsys, diff=True)

    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["tags"] == {"Name": NAME, "Project": "webstack"}
    assert after["tags"] == {"Name": NAME, "Project": "other"}
    assert before["status"] == after["status"] == "ISSUED"
    assert before["names"] == after["names"] == NAMES
    assert before["validation_records"] == after["validation_records"]


def test_without_wait_a_pending_certificate_is_returned_pending(
    aws: dict[str, Any], capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 3600)

    result = run({**ARGS, "wait": False}, capsys)

    assert result["certificate"]["status"] == "PENDING_VALIDATION"
    assert len(result["certificate"]["validation_records"]) == 3


def test_records_outside_the_zone_fail_clearly(aws: dict[str, Any], capsys) -> None:
    result = run({**ARGS, "subject_alternative_names": ["www.example.org"]}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith("Failed to write the ACM validation records")
    assert "not permitted in zone" in result["msg"]


def test_present_needs_a_hosted_zone(aws: dict[str, Any], calls: Calls, capsys) -> None:
    result = run({key: value for key, value in ARGS.items() if key != "hosted_zone_id"}, capsys)

    assert result["failed"] is True
    assert "hosted_zone_id" in result["msg"]
    assert calls == []


def test_the_idempotency_token_follows_name_and_names(aws: dict[str, Any], calls: Calls, capsys) -> None:
    module = load_module(MODULE)
    run(ARGS, capsys)

    [request] = params_of(calls, "RequestCertificate")
    assert request["IdempotencyToken"] == module.idempotency_token(NAME, NAMES)
    assert module.idempotency_token(NAME, NAMES) != module.idempotency_token(NAME, NAMES[:2])
    assert module.idempotency_token(NAME, NAMES) != module.idempotency_token("other", NAMES)
    assert len(request["IdempotencyToken"]) == 32


def test_choose_prefers_ours_then_issued_then_newest() -> None:
    choose = load_module(MODULE).choose

    def cert(arn: str, status: str, day: int) -> dict[str, Any]:
        return {
            "CertificateArn": arn,
            "Status": status,
            "CreatedAt": datetime.datetime(2025, 1, day, tzinfo=datetime.UTC),
        }

    ours, other, untagged = {"Name": NAME}, {"Name": "other"}, {}
    assert (
        choose(NAME, [(cert("a", "PENDING_VALIDATION", 3), ours), (cert("b", "ISSUED", 1), ours)])[0]["CertificateArn"]
        == "b"
    )
    assert choose(NAME, [(cert("a", "ISSUED", 1), ours), (cert("b", "ISSUED", 2), ours)])[0]["CertificateArn"] == "b"
    assert choose(NAME, [(cert("a", "ISSUED", 1), other)]) == (None, {})
    assert (
        choose(NAME, [(cert("a", "ISSUED", 1), untagged), (cert("b", "PENDING_VALIDATION", 1), ours)])[0][
            "CertificateArn"
        ]
        == "b"
    )
    assert choose(NAME, [(cert("a", "ISSUED", 1), untagged)])[0]["CertificateArn"] == "a"
    for status in ("FAILED", "REVOKED", "EXPIRED", "INACTIVE", "VALIDATION_TIMED_OUT"):
        assert choose(NAME, [(cert("a", status, 1), ours)]) == (None, {})


# --- against botocore's Stubber: what AWS does and moto does not ---------------------------

ZONE = "Z0123456789ABCDEFGHIJ"
ARN = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111"
OLD_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
CREATED = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
STUB_ARGS = {**ARGS, "subject_alternative_names": ["www.example.com"], "hosted_zone_id": ZONE}
STUB_NAMES = [DOMAIN, "www.example.com"]


def record(name: str) -> dict[str, str]:
    return {
        "Name": f"_a79865eb4cd1a6ab990a45779b4e0b96.{name}.",
        "Type": "CNAME",
        "Value": f"_x.{name}.acm-validations.aws.",
    }


def description(arn: str = ARN, status: str = "PENDING_VALIDATION", records: bool = True, **extra: Any) -> dict:
    options = [
        {"DomainName": name, "ValidationMethod": "DNS", **({"ResourceRecord": record(name)} if records else {})}
        for name in STUB_NAMES
    ]
    cert = {
        "CertificateArn": arn,
        "DomainName": DOMAIN,
        "SubjectAlternativeNames": STUB_NAMES,
        "Status": status,
        "Type": "AMAZON_ISSUED",
        "CreatedAt": CREATED,
        "DomainValidationOptions": options,
        "InUseBy": [],
        **extra,
    }
    return {"Certificate": cert}


class Stubs(tuple):
    """(acm, route53, calls), and the Resource Groups Tagging API's Stubber as ``tagging``."""

    tagging: Stubber


@contextmanager
def stubbed(monkeypatch: pytest.MonkeyPatch, calls: Calls) -> Iterator[tuple[Stubber, Stubber, Stubber]]:
    """The module's ACM, Route53 and tagging clients under Stubber; every queued response must be used."""
    services = ("acm", "route53", "resourcegroupstaggingapi")
    clients = {service: boto3.client(service, region_name=REGION) for service in services}
    for client in clients.values():
        record_calls(client, calls)

    def stubbed_client(self: AnsibleAWSModule, name: str, retry_decorator: Any = None, **kwargs: Any) -> Any:
        return RetryingBotoClientWrapper(clients[name], retry_decorator)

    monkeypatch.setattr(AnsibleAWSModule, "client", stubbed_client)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    stubbers = [Stubber(clients[service]) for service in services]
    for stubber in stubbers:
        stubber.activate()
    yield tuple(stubbers)
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


@pytest.fixture
def stubs(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    recorded: Calls = []
    with stubbed(monkeypatch, recorded) as (acm, route53, tagging):
        found = Stubs((acm, route53, recorded))
        found.tagging = tagging
        yield found


def expect_tagged(tagging: Stubber, arns: list[str]) -> None:
    """The look-up by Name tag the module makes before it requests a certificate."""
    tagging.add_response(
        "get_resources",
        {"ResourceTagMappingList": [{"ResourceARN": arn} for arn in arns]},
        {"TagFilters": [{"Key": "Name", "Values": [NAME]}], "ResourceTypeFilters": ["acm:certificate"]},
    )


def expect_listed(acm: Stubber, summaries: list[dict[str, Any]], statuses: list[str] | None = None) -> None:
    params = {"CertificateStatuses": statuses or ["ISSUED", "PENDING_VALIDATION"]} if statuses != [] else {}
    acm.add_response("list_certificates", {"CertificateSummaryList": summaries}, params)


def expect_described(acm: Stubber, response: dict[str, Any], arn: str = ARN) -> None:
    acm.add_response("describe_certificate", response, {"CertificateArn": arn})


def expect_tags(acm: Stubber, tags: dict[str, str], arn: str = ARN) -> None:
    tag_list = [{"Key": key, "Value": value} for key, value in tags.items()]
    acm.add_response("list_tags_for_certificate", {"Tags": tag_list}, {"CertificateArn": arn})


def expect_zone_records(route53: Stubber, present: bool) -> None:
    for name in STUB_NAMES:
        r = record(name)
        rrsets = [{"Name": r["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": r["Value"]}]}]
        route53.add_response(
            "list_resource_record_sets",
            {"ResourceRecordSets": rrsets if present else [], "IsTruncated": False, "MaxItems": "1"},
            {"HostedZoneId": ZONE, "StartRecordName": r["Name"], "StartRecordType": "CNAME", "MaxItems": "1"},
        )


def expect_request(acm: Stubber, arn: str, salt: str = "") -> None:
    token = load_module(MODULE).idempotency_token(NAME, STUB_NAMES, salt)
    acm.add_response(
        "request_certificate",
        {"CertificateArn": arn},
        {
            "DomainName": DOMAIN,
            "ValidationMethod": "DNS",
            "SubjectAlternativeNames": STUB_NAMES,
            "IdempotencyToken": token,
            "Tags": [{"Key": "Name", "Value": NAME}, {"Key": "Project", "Value": "webstack"}],
        },
    )


def expect_records_written(route53: Stubber) -> None:
    route53.add_response(
        "change_resource_record_sets",
        {"ChangeInfo": {"Id": "/change/C1", "Status": "PENDING", "SubmittedAt": CREATED}},
        {"HostedZoneId": ZONE, "ChangeBatch": ANY},
    )


SUMMARY = {"CertificateArn": ARN, "DomainName": DOMAIN, "Status": "ISSUED"}
TAGS = {"Project": "webstack", "Name": NAME}


def test_a_second_run_finds_the_existing_certificate(stubs, capsys) -> None:
    acm, route53, calls = stubs
    expect_listed(acm, [SUMMARY, {**SUMMARY, "CertificateArn": OLD_ARN, "DomainName": "other.example.com"}])
    expect_described(acm, description(status="ISSUED"))
    expect_tags(acm, TAGS)
    expect_zone_records(route53, present=True)

    result = run(STUB_ARGS, capsys)

    assert result["changed"] is False
    assert result["certificate"]["arn"] == ARN
    assert mutating(calls) == []


def test_wait_polls_until_aws_reports_issued(stubs, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    acm, route53, calls = stubs
    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    expect_listed(acm, [])
    expect_tagged(stubs.tagging, [])
    expect_request(acm, ARN)
    expect_described(acm, description(records=False))  # just requested: no record yet
    expect_tags(acm, TAGS)
    expect_described(acm, description())  # the records appear
    expect_zone_records(route53, present=False)
    expect_records_written(route53)
    expect_described(acm, description())
    expect_described(acm, description())
    expect_described(acm, description(status="ISSUED"))

    result = run(STUB_ARGS, capsys)

    assert result["changed"] is True
    assert result["certificate"]["status"] == "ISSUED"
    assert sleeps == [2, 2, 4, 8]  # once for the records, three times for PENDING_VALIDATION
    assert result["certificate"]["validation_records"] == [
        {"name": record(n)["Name"], "type": "CNAME", "value": record(n)["Value"]} for n in STUB_NAMES
    ]
    [change] = params_of(calls, "ChangeResourceRecordSets")
    assert [c["ResourceRecordSet"]["Name"] for c in change["ChangeBatch"]["Changes"]] == [
        record(n)["Name"] for n in STUB_NAMES
    ]


def test_a_wait_that_times_out_fails_clearly(stubs, capsys) -> None:
    acm, route53, _ = stubs
    expect_listed(acm, [SUMMARY])
    expect_described(acm, description())
    expect_tags(acm, TAGS)
    expect_zone_records(route53, present=True)

    result = run({**STUB_ARGS, "wait_timeout": 0}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Certificate {ARN} is still PENDING_VALIDATION after 0 s")
    assert result["certificate"]["arn"] == ARN


def test_a_failed_validation_fails_with_its_reason(stubs, capsys) -> None:
    acm, route53, _ = stubs
    expect_listed(acm, [SUMMARY])
    expect_described(acm, description())
    expect_tags(acm, TAGS)
    expect_zone_records(route53, present=True)
    expect_described(acm, description(status="FAILED", FailureReason="CAA_ERROR"))

    result = run(STUB_ARGS, capsys)

    assert result["failed"] is True
    assert result["msg"] == f"Certificate {ARN} was expected to become ISSUED but is FAILED: CAA_ERROR"


def test_a_new_certificate_not_found_yet_is_described_again_not_requested_again(stubs, capsys) -> None:
    """AWS documents a delay of several seconds before a new certificate can be described (issue 18)."""
    acm, route53, calls = stubs
    expect_listed(acm, [])
    expect_tagged(stubs.tagging, [])
    expect_request(acm, ARN)
    for _attempt in range(2):
        acm.add_client_error(
            "describe_certificate", "ResourceNotFoundException", expected_params={"CertificateArn": ARN}
        )
    expect_described(acm, description())
    expect_tags(acm, TAGS)
    expect_zone_records(route53, present=True)

    result = run({**STUB_ARGS, "wait": False}, capsys)

    assert result["changed"] is True
    assert result["certificate"]["arn"] == ARN
    assert len(params_of(calls, "RequestCertificate")) == 1


def test_a_certificate_found_by_its_name_tag_is_not_requested_again(stubs, capsys) -> None:
    """A certificate requested seconds ago may not be listed yet; its Name tag finds it."""
    acm, route53, calls = stubs
    expect_listed(acm, [])
    expect_tagged(stubs.tagging, [ARN])
    expect_described(acm, description())
    expect_tags(acm, TAGS)
    expect_zone_records(route53, present=True)

    result = run({**STUB_ARGS, "wait": False}, capsys)

    assert result["changed"] is False
    assert result["certificate"]["arn"] == ARN
    assert mutating(calls) == []


def test_a_token_naming_a_deleted_certificate_is_replaced(stubs, capsys) -> None:
    """AWS answers a token it saw within the hour with that certificate, even once deleted."""
    acm, route53, calls = stubs
    expect_listed(acm, [])
    expect_tagged(stubs.tagging, [])
    expect_request(acm, OLD_ARN)
    for _attempt in range(load_module(MODULE).DESCRIBE_NEW_ATTEMPTS):  # retried with backoff, then given up
        acm.add_client_error(
            "describe_certificate", "ResourceNotFoundException", expected_params={"CertificateArn": OLD_ARN}
        )
    expect_request(acm, ARN, salt=OLD_ARN)
    expect_described(acm, description())
    expect_tags(acm, TAGS)
    expect_zone_records(route53, present=True)

    result = run({**STUB_ARGS, "wait": False}, capsys)

    assert result["changed"] is True
    assert result["certificate"]["arn"] == ARN
    assert len(params_of(calls, "RequestCertificate")) == 2


def test_a_server_error_on_request_is_retried_under_another_token(stubs, capsys) -> None:
    """moto answers HTTP 500 when the token names a deleted certificate."""
    acm, route53, calls = stubs
    expect_listed(acm, [])
    expect_tagged(stubs.tagging, [])
    acm.add_client_error("request_certificate", "500", http_status_code=500)
    acm.add_response("request_certificate", {"CertificateArn": ARN})
    expect_described(acm, description())
    expect_tags(acm, TAGS)
    expect_zone_records(route53, present=True)

    result = run({**STUB_ARGS, "wait": False}, capsys)

    assert result["certificate"]["arn"] == ARN
    first, second = params_of(calls, "RequestCertificate")
    assert first["IdempotencyToken"] != second["IdempotencyToken"]


def test_a_certificate_in_use_is_not_deleted(stubs, capsys) -> None:
    acm, _, calls = stubs
    listener = (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/webstack/50dc6c495c0c9188/f2f7dc8efc522ab2"
    )
    expect_listed(acm, [SUMMARY], statuses=[])
    expect_described(acm, description(status="ISSUED", InUseBy=[listener]))
    expect_tags(acm, TAGS)

    result = run({**STUB_ARGS, "state": "absent"}, capsys)

    assert result["failed"] is True
    assert result["msg"] == (
        f"Certificate {NAME} is in use and cannot be deleted: {ARN} by {listener}. "
        "Remove it from those resources first."
    )
    assert mutating(calls) == []


def test_resource_in_use_on_delete_fails_naming_the_certificate(stubs, capsys) -> None:
    acm, _, _ = stubs
    expect_listed(acm, [SUMMARY], statuses=[])
    expect_described(acm, description(status="ISSUED"))
    expect_tags(acm, TAGS)
    acm.add_client_error(
        "delete_certificate",
        "ResourceInUseException",
        f"Certificate {ARN} in use by a load balancer",
        expected_params={"CertificateArn": ARN},
    )

    result = run({**STUB_ARGS, "state": "absent"}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Certificate {ARN} ({NAME}) is in use and cannot be deleted")


def test_an_aws_error_fails_clearly(stubs, capsys) -> None:
    acm, _, _ = stubs
    acm.add_client_error("list_certificates", "AccessDeniedException", "not authorized to perform acm:ListCertificates")

    result = run(STUB_ARGS, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to list the certificates of {DOMAIN}")
    assert "AccessDeniedException" in result["msg"] or result["error"]["code"] == "AccessDeniedException"
