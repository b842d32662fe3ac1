#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: acm_certificate_request
short_description: Request a DNS-validated ACM certificate and write its validation records to Route53
description:
  - Request an AWS Certificate Manager certificate for O(domain_name) and O(subject_alternative_names),
    validated through DNS, write the validation CNAME records into the Route53 zone O(hosted_zone_id),
    and wait until the certificate is issued.
  - A certificate is ours when it covers exactly the same names (order and case do not matter) and
    carries a C(Name) tag equal to O(name). A rerun reuses it, preferring an issued one over one pending
    validation; certificates that failed, expired, were revoked or timed out are ignored. A
    certificate with the same names and no C(Name) tag is adopted (and tagged).
  - The request carries the tags and an idempotency token derived from O(name) and the names, so a
    run interrupted after the request does not request a second certificate.
  - Before requesting, a certificate not listed by C(ListCertificates) yet is also looked for by its
    C(Name) tag (C(tag:GetResources); without that permission the module warns and goes on). After the
    request, AWS needs several seconds before it can describe the new certificate; C(DescribeCertificate)
    is retried with backoff (about a minute) before the module ever requests again. It requests again,
    under another token, only when the certificate the token names stays unknown (one deleted within the
    hour ACM keeps a token).
  - O(state=absent) deletes every certificate with the same names and a C(Name) tag equal to O(name). It
    fails, naming the resources, while one is in use (for example by a load balancer listener).
    The validation records stay in the zone; ACM gives the same record to every certificate of a name.
author:
  - webstack maintainers (!UNKNOWN)
options:
  name:
    description:
      - Value of the C(Name) tag that identifies the certificate.
    type: str
    required: true
  domain_name:
    description:
      - The fully qualified domain name of the certificate, for example C(example.com) or C(*.example.com).
    type: str
    required: true
  subject_alternative_names:
    description:
      - Further names the certificate covers. O(domain_name) may be repeated here.
    type: list
    elements: str
    default: []
  hosted_zone_id:
    description:
      - The Route53 hosted zone that receives the DNS validation records. Every name must be in it.
      - Required when O(state=present).
    type: str
  wait:
    description:
      - Wait until the certificate is C(ISSUED).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for C(ISSUED) before failing.
    type: int
    default: 600
  tags:
    description:
      - Tags of the certificate. The module always sets the C(Name) tag to O(name).
      - When not given, the module sets the C(Name) tag only and leaves other tags alone.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - Remove tags not in O(tags) (the C(Name) tag stays). Ignored when O(tags) is not given.
    type: bool
    default: true
  state:
    description:
      - Whether the certificate should exist.
    type: str
    choices: [present, absent]
    default: present
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Looks for the certificate and reports whether one would be requested, tagged or deleted,
      without requesting, writing validation records or deleting.
    support: full
  diff_mode:
    description: Shows the certificate's names, status, tags and validation records before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the edge certificate for example.com and www.example.com is issued
  webstack.aws.acm_certificate_request:
    name: webstack-edge
    domain_name: example.com
    subject_alternative_names: [www.example.com, staging.example.com]
    hosted_zone_id: "{{ edge_zone.zone_id }}"
    tags:
      Project: webstack
  register: edge_certificate

- name: Ensure the edge certificate is gone
  webstack.aws.acm_certificate_request:
    name: webstack-edge
    domain_name: example.com
    subject_alternative_names: [www.example.com, staging.example.com]
    state: absent
"""

RETURN = r"""
certificate:
  description:
    - The certificate as DescribeCertificate returns it, in snake_case, with its tags and DNS validation records.
    - Empty when absent or when it would be requested in check mode.
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the certificate.
      type: str
      sample: arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0000-0000-0000-000000000000
    domain_name:
      description: The certificate's domain name.
      type: str
      sample: example.com
    subject_alternative_names:
      description: Every name the certificate covers, O(domain_name) included.
      type: list
      elements: str
      sample: ["example.com", "www.example.com"]
    status:
      description: V(PENDING_VALIDATION) or V(ISSUED).
      type: str
      sample: ISSUED
    validation_records:
      description: The DNS validation records, one per distinct record (a wildcard shares its base name's).
      type: list
      elements: dict
      sample: [{"name": "_a79865eb.example.com.", "type": "CNAME", "value": "_424c7224.acm-validations.aws."}]
    tags:
      description: Tags of the certificate.
      type: dict
      sample: {"Name": "webstack-edge", "Project": "webstack"}
deleted_certificates:
  description: ARNs of the certificates deleted (or that would be, in check mode).
  returned: when O(state=absent)
  type: list
  elements: str
"""

import hashlib
import time
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    normalize_boto3_result,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.webstack.aws.plugins.module_utils.core import (
    AWS_ERRORS,
    aws_client,
    call,
    exit_with_result,
    paginate,
    wait_until,
)
from ansible_collections.webstack.aws.plugins.module_utils.tags import tag_changes, tag_list, tags_after

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports the missing SDK

USABLE = ["ISSUED", "PENDING_VALIDATION"]  # preferred first
RECORD_WAIT_SECONDS = 60  # ACM adds the validation records to a new certificate within seconds
RECORD_TTL = 300
# AWS documents a delay of several seconds before a certificate just requested can be described:
# DescribeCertificate answers ResourceNotFoundException meanwhile. The describe of a new certificate
# is retried with backoff (about a minute at most), as amazon.aws's ACMServiceManager does, before
# the module concludes that the token named a deleted certificate and requests again.
DESCRIBE_NEW_ATTEMPTS = 8
NEW_CERTIFICATE_RETRY = AWSRetry.jittered_backoff(
    retries=DESCRIBE_NEW_ATTEMPTS, delay=2, max_delay=20, catch_extra_error_codes=["ResourceNotFoundException"]
)


def argument_spec() -> dict[str, Any]:
    return dict(
        name=dict(type="str", required=True),
        domain_name=dict(type="str", required=True),
        subject_alternative_names=dict(type="list", elements="str", default=[]),
        hosted_zone_id=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


def wanted_names(params: dict[str, Any]) -> list[str]:
    return sorted({params["domain_name"].lower(), *(san.lower() for san in params["subject_alternative_names"])})


def idempotency_token(name: str, names: list[str], salt: str = "") -> str:
    """Same name and names, same token (ACM keeps one for an hour): 32 hex digits, as ACM allows."""
    return hashlib.sha256("\n".join([name, *names, salt]).encode()).hexdigest()[:32]


# --- reading ------------------------------------------------------------------------------


def describe(module: AnsibleAWSModule, client: Any, arn: str) -> dict[str, Any] | None:
    try:
        return client.describe_certificate(CertificateArn=arn, aws_retry=True)["Certificate"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to describe certificate {arn}")


def describe_new(module: AnsibleAWSModule, client: Any, arn: str) -> dict[str, Any] | None:
    """A certificate just requested, described once AWS finds it; None if it never does (a deleted one)."""
    try:
        return NEW_CERTIFICATE_RETRY(client.describe_certificate)(CertificateArn=arn)["Certificate"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe certificate {arn}")


def certificate_tags(module: AnsibleAWSModule, client: Any, arn: str) -> dict[str, str]:
    response = call(module, client.list_tags_for_certificate, f"Failed to list the tags of {arn}", CertificateArn=arn)
    return boto3_tag_list_to_ansible_dict(response.get("Tags", []))


def covered_names(cert: dict[str, Any]) -> list[str]:
    return sorted({cert["DomainName"].lower(), *(n.lower() for n in cert.get("SubjectAlternativeNames", []))})


def find_certificates(
    module: AnsibleAWSModule, client: Any, names: list[str], statuses: list[str] | None
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Every certificate (with its tags) covering exactly ``names``, in one of ``statuses`` (all when None)."""
    domain = module.params["domain_name"].lower()
    query = {"CertificateStatuses": statuses} if statuses else {}
    msg = f"Failed to list the certificates of {domain}"
    summaries = paginate(module, client, "list_certificates", msg, **query).get("CertificateSummaryList", [])
    arns = [s["CertificateArn"] for s in summaries if s.get("DomainName", "").lower() == domain]
    return described_matches(module, client, arns, names, statuses)


def described_matches(
    module: AnsibleAWSModule, client: Any, arns: list[str], names: list[str], statuses: list[str] | None
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """The certificates of ``arns`` that cover exactly ``names`` (in ``statuses``), with their tags."""
    found = []
    for arn in dict.fromkeys(arns):
        cert = describe(module, client, arn)
        if cert is not None and covered_names(cert) == names and (not statuses or cert["Status"] in statuses):
            found.append((cert, certificate_tags(module, client, arn)))
    return found


def find_by_name_tag(
    module: AnsibleAWSModule, tagging: Any, client: Any, names: list[str]
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Certificates tagged Name=name, through the Resource Groups Tagging API.

    ListCertificates may not list a certificate requested seconds ago; before requesting, the
    module also looks for one by its Name tag. Without the permission tag:GetResources it says so
    and goes on with what ListCertificates found.
    """
    name = module.params["name"]
    query = {"TagFilters": [{"Key": "Name", "Values": [name]}], "ResourceTypeFilters": ["acm:certificate"]}
    try:
        pages = paginated_query_with_retries(tagging, "get_resources", AWSRetry.jittered_backoff(), **query)
    except is_boto3_error_code("AccessDeniedException") as e:
        module.warn(f"Could not look for certificates by their Name tag (tag:GetResources denied): {e}")
        return []
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to look for certificates tagged Name={name}")
    arns = [item["ResourceARN"] for item in pages.get("ResourceTagMappingList", [])]
    return described_matches(module, client, arns, names, USABLE)


def choose(name: str, found: list[tuple[dict[str, Any], dict[str, str]]]) -> tuple[dict[str, Any] | None, dict]:
    """Ours (tag Name=name) before untagged ones, issued before pending, newest first; (None, {}) if none."""
    usable = [item for item in found if item[0]["Status"] in USABLE]
    ours = [item for item in usable if item[1].get("Name") == name]
    usable = ours or [item for item in usable if "Name" not in item[1]]
    if not usable:
        return None, {}
    return min(usable, key=lambda item: (USABLE.index(item[0]["Status"]), -item[0]["CreatedAt"].timestamp()))


def validation_records(cert: dict[str, Any]) -> list[dict[str, str]] | None:
    """The distinct DNS validation records; None while ACM has not given one for every name yet."""
    options = cert.get("DomainValidationOptions", [])
    if len(options) < len(covered_names(cert)) or any("ResourceRecord" not in o for o in options):
        return None
    records = {o["ResourceRecord"]["Name"].lower(): o["ResourceRecord"] for o in options}
    return [{"name": r["Name"], "type": r["Type"], "value": r["Value"]} for _name, r in sorted(records.items())]


def wait_for_records(module: AnsibleAWSModule, client: Any, cert: dict[str, Any]) -> tuple[dict, list[dict]]:
    """The certificate once DescribeCertificate shows its validation records (a new one lacks them for seconds)."""
    arn = cert["CertificateArn"]
    if validation_records(cert) is None:
        ready, cert = wait_until(
            lambda: describe(module, client, arn) or cert,
            lambda c: validation_records(c) is not None,
            RECORD_WAIT_SECONDS,
            delay=2,
            max_delay=2,
            current=cert,
        )
        if not ready:
            module.fail_json(
                msg=f"ACM gave no DNS validation record for every name of {arn} within "
                f"{RECORD_WAIT_SECONDS} s; found: {cert.get('DomainValidationOptions', [])}"
            )
    return cert, validation_records(cert)


def zone_records(module: AnsibleAWSModule, route53: Any, records: list[dict[str, str]]) -> dict[str, dict]:
    """The zone's record set of each validation record's name, by lowercase name; missing ones are left out."""
    zone, current = module.params["hosted_zone_id"], {}
    for record in records:
        query = {"StartRecordName": record["name"], "StartRecordType": record["type"], "MaxItems": "1"}
        msg = f"Failed to read record {record['name']} in hosted zone {zone}"
        response = call(module, route53.list_resource_record_sets, msg, HostedZoneId=zone, **query)
        for rrset in response["ResourceRecordSets"]:
            if rrset["Name"].lower().rstrip(".") == record["name"].lower().rstrip(".") and rrset["Type"] == "CNAME":
                current[record["name"].lower()] = rrset
    return current


def record_view(rrset: dict[str, Any]) -> dict[str, Any]:
    values = sorted(r["Value"].lower().rstrip(".") for r in rrset.get("ResourceRecords", []))
    return {"values": values, "ttl": rrset.get("TTL")}


def records_to_write(records: list[dict[str, str]], current: dict[str, dict]) -> list[dict[str, Any]]:
    """The record sets that are missing from the zone or differ from what ACM asks for."""
    wanted = [
        {"Name": r["name"], "Type": r["type"], "TTL": RECORD_TTL, "ResourceRecords": [{"Value": r["value"]}]}
        for r in records
    ]
    return [w for w in wanted if record_view(current.get(w["Name"].lower(), {})) != record_view(w)]


def write_records(module: AnsibleAWSModule, route53: Any, rrsets: list[dict[str, Any]]) -> None:
    zone = module.params["hosted_zone_id"]
    call(
        module,
        route53.change_resource_record_sets,
        f"Failed to write the ACM validation records {[r['Name'] for r in rrsets]} into hosted zone {zone}",
        HostedZoneId=zone,
        ChangeBatch={
            "Comment": f"DNS validation of ACM certificate {module.params['name']}",
            "Changes": [{"Action": "UPSERT", "ResourceRecordSet": rrset} for rrset in rrsets],
        },
    )


# --- acting -------------------------------------------------------------------------------


def request_certificate(module: AnsibleAWSModule, client: Any, names: list[str], tags: dict[str, str]) -> dict:
    """Request the certificate (DNS validation, with its tags) and return its description.

    The token follows the name and names, so a request repeated within the hour ACM keeps a token
    answers with the same certificate. A certificate just requested is described with backoff
    (``describe_new``) before the module ever requests again.
    """
    params = module.params
    domain = params["domain_name"]
    request = {"DomainName": domain, "ValidationMethod": "DNS", "Tags": tag_list(tags)}
    sans = [san for san in dict.fromkeys(params["subject_alternative_names"]) if san.lower() != domain.lower()]
    if sans:
        request["SubjectAlternativeNames"] = [domain, *sans]
    msg = f"Failed to request a certificate for {names}"
    try:
        token = idempotency_token(params["name"], names)
        arn = client.request_certificate(IdempotencyToken=token, aws_retry=True, **request)["CertificateArn"]
    except ClientError as e:
        if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) < 500:
            module.fail_json_aws(e, msg=msg)
        arn, cert = str(time.time_ns()), None  # moto: HTTP 500 for a deleted one (docs/EMULATOR.md E17)
    except BotoCoreError as e:
        module.fail_json_aws(e, msg=msg)
    else:
        cert = describe_new(module, client, arn)
    if cert is None:
        # For the hour ACM keeps a token, it answers with the certificate the token named even when that
        # was deleted since (state=absent, then present). Ask under another token.
        token = idempotency_token(params["name"], names, salt=arn)
        arn = call(module, client.request_certificate, msg, IdempotencyToken=token, **request)["CertificateArn"]
        cert = describe_new(module, client, arn)
    if cert is None:
        module.fail_json(msg=f"Certificate {arn} was requested for {names} but DescribeCertificate does not find it")
    return cert


def wait_until_issued(module: AnsibleAWSModule, client: Any, cert: dict[str, Any]) -> dict[str, Any]:
    """The certificate once ISSUED; fails on a timeout or when validation fails."""
    arn, timeout = cert["CertificateArn"], module.params["wait_timeout"]
    if cert["Status"] == "PENDING_VALIDATION":
        ready, cert = wait_until(
            lambda: describe(module, client, arn) or {"CertificateArn": arn, "Status": "DELETED"},
            lambda c: c["Status"] != "PENDING_VALIDATION",
            timeout,
            current=cert,
        )
        if not ready:
            module.fail_json(
                msg=f"Certificate {arn} is still PENDING_VALIDATION after {timeout} s; check that the validation "
                f"records are in hosted zone {module.params['hosted_zone_id']} and that the zone is delegated",
                certificate=certificate_result(cert, {}),
            )
    if cert["Status"] != "ISSUED":
        module.fail_json(
            msg=f"Certificate {arn} was expected to become ISSUED but is {cert['Status']}: "
            f"{cert.get('FailureReason', 'no reason given')}",
            certificate=certificate_result(cert, {}),
        )
    return cert


def apply_tags(module: AnsibleAWSModule, client: Any, arn: str, to_set: dict[str, str], to_remove: list[str]) -> None:
    msg = f"Failed to update the tags of {arn}"
    if to_remove:
        call(module, client.remove_tags_from_certificate, msg, CertificateArn=arn, Tags=[{"Key": k} for k in to_remove])
    if to_set:
        call(module, client.add_tags_to_certificate, msg, CertificateArn=arn, Tags=tag_list(to_set))


# --- results ------------------------------------------------------------------------------


def view(names: list[str], status: str | None, tags: dict[str, str], records: dict[str, Any]) -> dict[str, Any]:
    return {"names": names, "status": status, "tags": tags, "validation_records": records}


def certificate_result(cert: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    if not cert:
        return {}
    result = camel_dict_to_snake_dict(normalize_boto3_result(cert))
    result.pop("domain_validation_options", None)
    return {
        **result,
        "arn": cert["CertificateArn"],
        "validation_records": validation_records(cert) or [],
        "tags": tags,
    }


def ensure_present(module: AnsibleAWSModule, client: Any, route53: Any) -> None:
    params = module.params
    names = wanted_names(params)
    wanted_tags = {**(params["tags"] or {}), "Name": params["name"]}
    cert, live_tags = choose(params["name"], find_certificates(module, client, names, USABLE))
    if cert is None:
        # Before requesting: a certificate of ours requested seconds ago may not be listed yet.
        tagging = aws_client(module, "resourcegroupstaggingapi")
        cert, live_tags = choose(params["name"], find_by_name_tag(module, tagging, client, names))
    created = cert is None
    if created:
        if module.check_mode:
            exit_with_result(module, True, {}, view(names, "PENDING_VALIDATION", wanted_tags, {}), certificate={})
        cert = request_certificate(module, client, names, wanted_tags)
        # Tagged by the request; a token may also have answered with a certificate requested earlier.
        live_tags = certificate_tags(module, client, cert["CertificateArn"])
    cert, records = wait_for_records(module, client, cert)
    status_before = cert["Status"]
    current = zone_records(module, route53, records)
    to_write = records_to_write(records, current)
    to_set, to_remove = tag_changes(live_tags, wanted_tags, params["purge_tags"] and params["tags"] is not None)
    if not module.check_mode:
        if to_write:
            write_records(module, route53, to_write)
        if to_set or to_remove:
            apply_tags(module, client, cert["CertificateArn"], to_set, to_remove)
        if params["wait"]:
            cert = wait_until_issued(module, client, cert)
    final_tags = tags_after(live_tags, to_set, to_remove)
    wanted_records = {r["Name"].lower(): record_view(r) for r in records_to_write(records, {})}
    exit_with_result(
        module,
        created or bool(to_write or to_set or to_remove),
        {} if created else view(names, status_before, live_tags, {k: record_view(v) for k, v in current.items()}),
        view(names, cert["Status"], final_tags, wanted_records),
        certificate=certificate_result(cert, final_tags),
    )


def ensure_absent(module: AnsibleAWSModule, client: Any) -> None:
    params = module.params
    names = wanted_names(params)
    ours = [(c, t) for c, t in find_certificates(module, client, names, None) if t.get("Name") == params["name"]]
    in_use = [f"{c['CertificateArn']} by {', '.join(c['InUseBy'])}" for c, _tags in ours if c.get("InUseBy")]
    if in_use:
        module.fail_json(
            msg=f"Certificate {params['name']} is in use and cannot be deleted: {'; '.join(in_use)}. "
            "Remove it from those resources first."
        )
    arns = [c["CertificateArn"] for c, _tags in ours]
    if not module.check_mode:
        for arn in arns:
            try:
                client.delete_certificate(CertificateArn=arn, aws_retry=True)
            except is_boto3_error_code("ResourceInUseException") as e:
                module.fail_json_aws(e, msg=f"Certificate {arn} ({params['name']}) is in use and cannot be deleted")
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg=f"Failed to delete certificate {arn} ({params['name']})")
    before = {c["CertificateArn"]: view(names, c["Status"], t, {}) for c, t in ours}
    exit_with_result(module, bool(arns), before, {}, certificate={}, deleted_certificates=arns)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        required_if=[("state", "present", ["hosted_zone_id"])],
        supports_check_mode=True,
    )
    client = aws_client(module, "acm")
    if module.params["state"] == "absent":
        ensure_absent(module, client)
    else:
        route53 = aws_client(module, "route53")
        ensure_present(module, client, route53)


if __name__ == "__main__":
    main()
