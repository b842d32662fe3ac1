#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wafv2_logging_configuration
short_description: Manage where an AWS WAFv2 web ACL logs its requests
description:
  - Create, update and delete the logging configuration of a WAFv2 web ACL
    (C(PutLoggingConfiguration), C(GetLoggingConfiguration), C(DeleteLoggingConfiguration)).
  - The configuration is compared after normalising what AWS and the emulator report differently
    (the C(:*) suffix of a log group ARN, the case of header names, the order of lists; docs/EMULATOR.md
    E22), so a rerun with the same options changes nothing.
  - C(PutLoggingConfiguration) replaces the whole configuration; an option left out means none
    (no redacted field, no logging filter).
  - AWS writes to a CloudWatch Logs group through a resource policy on the log group, which it adds
    itself when the caller may call C(logs:PutResourcePolicy) and C(logs:DescribeResourcePolicies).
author:
  - webstack maintainers (!UNKNOWN)
options:
  web_acl_arn:
    description:
      - The ARN of the web ACL, regional (C(...:regional/webacl/<name>/<id>)) or CloudFront
        (C(...:global/webacl/<name>/<id>), managed from C(us-east-1)).
    type: str
    required: true
  log_destination_arns:
    description:
      - Where the web ACL logs, as a one-element list (AWS takes one destination per web ACL).
      - A CloudWatch Logs log group ARN (with or without the C(:*) suffix CloudWatch Logs reports),
        an S3 bucket ARN or a Kinesis Data Firehose delivery stream ARN. Its name must start with
        C(aws-waf-logs-).
      - Required when O(state=present).
    type: list
    elements: str
  redacted_fields:
    description:
      - Parts of each request to leave out of the logs. Each entry names one part.
    type: list
    elements: dict
    default: []
    suboptions:
      single_header:
        description:
          - The name of a header, for example C(authorization) or C(cookie). Compared case-insensitively.
        type: str
      query_string:
        description:
          - V(true) to redact the query string.
        type: bool
      uri_path:
        description:
          - V(true) to redact the URI path.
        type: bool
      method:
        description:
          - V(true) to redact the HTTP method.
        type: bool
  logging_filter:
    description:
      - Which requests are logged, in the shape of the API's C(LoggingFilter) (keys in CamelCase
        as in the API reference, or their snake_case forms).
      - Left out, every request is logged.
    type: dict
  state:
    description:
      - Whether the web ACL should log.
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
    description: Reads the logging configuration and reports what would be put or deleted, without writing.
    support: full
  diff_mode:
    description: Shows the normalised logging configuration before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the edge web ACL logs to CloudWatch Logs without credentials
  webstack.aws.wafv2_logging_configuration:
    web_acl_arn: "{{ edge_web_acl.arn }}"
    log_destination_arns:
      - "{{ edge_waf_log_group.log_groups[0].arn }}"  # the ':*' suffix is dropped
    redacted_fields:
      - single_header: authorization
      - single_header: cookie
      - query_string: true

- name: Ensure the edge web ACL logs only the requests it blocks
  webstack.aws.wafv2_logging_configuration:
    web_acl_arn: "{{ edge_web_acl.arn }}"
    log_destination_arns:
      - arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-webstack-edge
    logging_filter:
      default_behavior: DROP
      filters:
        - behavior: KEEP
          requirement: MEETS_ANY
          conditions:
            - action_condition:
                action: BLOCK

- name: Ensure the edge web ACL no longer logs
  webstack.aws.wafv2_logging_configuration:
    web_acl_arn: "{{ edge_web_acl.arn }}"
    state: absent
"""

RETURN = r"""
logging_configuration:
  description:
    - The configuration as C(GetLoggingConfiguration) or C(PutLoggingConfiguration) returns it, in snake_case.
    - Empty when the web ACL does not log, or would start logging in check mode.
  returned: always
  type: dict
  contains:
    resource_arn:
      description: The ARN of the web ACL.
      type: str
      sample: arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/webstack-edge/a1b2c3d4-5678-90ab-cdef-0123456789ab
    log_destination_configs:
      description: The log destination ARNs.
      type: list
      elements: str
      sample: ["arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-webstack-edge"]
    redacted_fields:
      description: The redacted parts of requests, in the API's shape.
      type: list
      elements: dict
      sample: [{"single_header": {"name": "authorization"}}, {"query_string": {}}]
    logging_filter:
      description: The logging filter, when there is one.
      type: dict
      sample: {"default_behavior": "DROP", "filters": []}
    managed_by_firewall_manager:
      description: Whether AWS Firewall Manager manages the configuration.
      type: bool
      sample: false
"""

import re
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, exit_with_result

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing SDK

WEB_ACL_ARN = re.compile(
    r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:(?P<scope>regional|global)/webacl/(?P<name>[\w-]+)/(?P<id>[0-9a-f-]+)$"
)
DESTINATIONS = (
    ("CloudWatch Logs log group", re.compile(r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:(?P<name>[^:]+)$")),
    ("S3 bucket", re.compile(r"^arn:aws[a-z-]*:s3:::(?P<name>[^/]+)(/.*)?$")),
    (
        "Firehose delivery stream",
        re.compile(r"^arn:aws[a-z-]*:firehose:[a-z0-9-]+:\d{12}:deliverystream/(?P<name>.+)$"),
    ),
)
NAME_PREFIX = "aws-waf-logs-"
# The API names of the parts of a request a logging configuration can redact, by option name.
FIELDS = {"single_header": "SingleHeader", "query_string": "QueryString", "uri_path": "UriPath", "method": "Method"}
OPTIONS_BY_FIELD = {api: option for option, api in FIELDS.items()}
# A web ACL created a moment ago may not be usable yet: AWS answers WAFUnavailableEntityException.
RETRY_CODES = ["WAFUnavailableEntityException"]


def argument_spec() -> dict[str, Any]:
    field_options = {option: dict(type="str" if option == "single_header" else "bool") for option in FIELDS}
    return dict(
        web_acl_arn=dict(type="str", required=True),
        log_destination_arns=dict(type="list", elements="str"),
        redacted_fields=dict(
            type="list",
            elements="dict",
            default=[],
            options=field_options,
            mutually_exclusive=[list(FIELDS)],
            required_one_of=[list(FIELDS)],
        ),
        logging_filter=dict(type="dict"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


# --- normalising --------------------------------------------------------------------------


def destination_arn(arn: str) -> str:
    """The ARN WAF wants: a log group ARN as CloudWatch Logs reports it ends in ':*', which WAF refuses."""
    return arn[:-2] if arn.endswith(":*") else arn


def check_destination(module: AnsibleAWSModule, arn: str) -> None:
    for kind, pattern in DESTINATIONS:
        match = pattern.match(arn)
        if match:
            if not match.group("name").startswith(NAME_PREFIX):
                module.fail_json(
                    msg=f"log_destination_arns: the {kind} {match.group('name')!r} does not start with "
                    f"{NAME_PREFIX!r}; WAF logs only to destinations whose name does"
                )
            return
    module.fail_json(
        msg=f"log_destination_arns: {arn!r} is not the ARN of a CloudWatch Logs log group, "
        "an S3 bucket or a Firehose delivery stream"
    )


def check_params(module: AnsibleAWSModule) -> None:
    """Fail on what AWS would refuse, before any call."""
    params = module.params
    if not WEB_ACL_ARN.match(params["web_acl_arn"]):
        module.fail_json(
            msg=f"web_acl_arn {params['web_acl_arn']!r} is not the ARN of a web ACL "
            "(arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>)"
        )
    if params["state"] == "absent":
        return
    destinations = params["log_destination_arns"] or []
    if len(destinations) != 1:
        module.fail_json(msg=f"log_destination_arns: AWS takes exactly one destination per web ACL, got {destinations}")
    check_destination(module, destination_arn(destinations[0]))
    for entry in params["redacted_fields"]:
        for option in ("query_string", "uri_path", "method"):
            if entry[option] is False:
                module.fail_json(msg=f"redacted_fields: {option}: false redacts nothing; leave the entry out")
        if entry["single_header"] is not None and not entry["single_header"].strip():
            module.fail_json(msg="redacted_fields: single_header needs a header name")


def field_view(field: dict[str, Any]) -> dict[str, Any]:
    """One redacted field as the module's option shows it; a shape it does not know stays in snake_case."""
    if "SingleHeader" in field:
        return {"single_header": field["SingleHeader"].get("Name", "").lower()}
    kinds = [kind for kind in field if kind in OPTIONS_BY_FIELD]
    if len(field) == 1 and kinds:
        return {OPTIONS_BY_FIELD[kinds[0]]: True}
    return camel_dict_to_snake_dict(field)


def sorted_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique = {repr(sorted(field.items())): field for field in fields}
    return [unique[key] for key in sorted(unique)]


def wanted_fields(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fields = []
    for entry in entries:
        if entry["single_header"] is not None:
            fields.append({"single_header": entry["single_header"].strip().lower()})
        else:
            fields.append({next(option for option in FIELDS if entry[option]): True})
    return sorted_fields(fields)


def api_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for field in fields:
        option, value = next(iter(field.items()))
        result.append({"SingleHeader": {"Name": value}} if option == "single_header" else {FIELDS[option]: {}})
    return result


def view(configuration: dict[str, Any] | None) -> dict[str, Any]:
    """The configuration as the module's options show it, normalised for comparison; {} when none."""
    if configuration is None:
        return {}
    return {
        "log_destination_arns": sorted(destination_arn(arn) for arn in configuration.get("LogDestinationConfigs", [])),
        "redacted_fields": sorted_fields([field_view(field) for field in configuration.get("RedactedFields", [])]),
        "logging_filter": configuration.get("LoggingFilter"),
    }


def api_shape(value: Any) -> Any:
    """``value`` with snake_case keys turned into the API's CamelCase ones; CamelCase keys stay as they are."""
    if isinstance(value, dict):
        return {
            key if key[:1].isupper() else "".join(part.capitalize() for part in key.split("_")): api_shape(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [api_shape(item) for item in value]
    return value


def wanted_view(module: AnsibleAWSModule) -> dict[str, Any]:
    params = module.params
    return {
        "log_destination_arns": sorted(destination_arn(arn) for arn in params["log_destination_arns"]),
        "redacted_fields": wanted_fields(params["redacted_fields"]),
        "logging_filter": api_shape(params["logging_filter"]) if params["logging_filter"] else None,
    }


# --- reading and acting -------------------------------------------------------------------


def get_configuration(module: AnsibleAWSModule, client: Any, arn: str) -> dict[str, Any] | None:
    try:
        return client.get_logging_configuration(ResourceArn=arn, aws_retry=True)["LoggingConfiguration"]
    except is_boto3_error_code("WAFNonexistentItemException"):
        return None
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the logging configuration of web ACL {arn}")


def require_web_acl(module: AnsibleAWSModule, client: Any, arn: str) -> None:
    """Fail unless the web ACL exists (moto accepts any ARN: docs/EMULATOR.md E21)."""
    parts = WEB_ACL_ARN.match(arn)
    scope = "CLOUDFRONT" if parts.group("scope") == "global" else "REGIONAL"
    try:
        client.get_web_acl(Name=parts.group("name"), Scope=scope, Id=parts.group("id"), aws_retry=True)
    except is_boto3_error_code("WAFNonexistentItemException"):
        module.fail_json(msg=f"Web ACL {arn} does not exist")
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read web ACL {arn}")


def put_configuration(module: AnsibleAWSModule, client: Any, arn: str, wanted: dict[str, Any]) -> dict[str, Any]:
    configuration = {"ResourceArn": arn, "LogDestinationConfigs": wanted["log_destination_arns"]}
    if wanted["redacted_fields"]:
        configuration["RedactedFields"] = api_fields(wanted["redacted_fields"])
    if wanted["logging_filter"]:
        configuration["LoggingFilter"] = wanted["logging_filter"]
    try:
        response = client.put_logging_configuration(LoggingConfiguration=configuration, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to set the logging configuration of web ACL {arn}")
    return response["LoggingConfiguration"]


def delete_configuration(module: AnsibleAWSModule, client: Any, arn: str) -> None:
    try:
        client.delete_logging_configuration(ResourceArn=arn, aws_retry=True)
    except is_boto3_error_code("WAFNonexistentItemException"):
        return  # gone meanwhile
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to delete the logging configuration of web ACL {arn}")


def result(configuration: dict[str, Any] | None) -> dict[str, Any]:
    return {"logging_configuration": camel_dict_to_snake_dict(configuration) if configuration else {}}


def ensure_present(module: AnsibleAWSModule, client: Any, current: dict[str, Any] | None) -> None:
    arn = module.params["web_acl_arn"]
    before, wanted = view(current), wanted_view(module)
    if before == wanted:
        exit_with_result(module, False, before, wanted, **result(current))
    if current is None:
        require_web_acl(module, client, arn)
    if not module.check_mode:
        current = put_configuration(module, client, arn, wanted)
    exit_with_result(module, True, before, wanted, **result(current))


def ensure_absent(module: AnsibleAWSModule, client: Any, current: dict[str, Any] | None) -> None:
    if current is None:
        exit_with_result(module, False, {}, {}, **result(None))
    if not module.check_mode:
        delete_configuration(module, client, module.params["web_acl_arn"])
    exit_with_result(module, True, view(current), {}, **result(None))


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("state", "present", ["log_destination_arns"])],
    )
    check_params(module)
    client = aws_client(module, "wafv2", RETRY_CODES)
    current = get_configuration(module, client, module.params["web_acl_arn"])
    if module.params["state"] == "present":
        ensure_present(module, client, current)
    else:
        ensure_absent(module, client, current)


if __name__ == "__main__":
    main()
