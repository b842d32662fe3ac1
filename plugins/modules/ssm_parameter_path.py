#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ssm_parameter_path
short_description: Publish a set of plain SSM parameters under one path, with one read
description:
  - Keep the SSM Parameter Store parameters under a path (C(/webstack-prod/data)) equal to a dict of
    names and values, the way a layer publishes its outputs for the next one.
  - Reads the path once (C(GetParametersByPath), recursive, paginated by 10), then writes only what
    differs. C(PutParameter) with C(Overwrite) for a changed value, C(PutParameter) with the tags for
    a new parameter, C(DeleteParameters) in batches of 10 for the parameters under the path that are
    not wanted (O(purge=true)) or for all of them (O(state=absent)). A rerun with the same values sends
    that one read and nothing else.
  - Values are compared as strings; an integer or a boolean is written as its string.
  - Only C(String) parameters are written; secrets belong in Secrets Manager. The value of a
    C(SecureString) parameter found under the path is never read in clear, returned or shown in a diff;
    a name in O(parameters) that exists as a C(SecureString) is refused.
author:
  - webstack maintainers (!UNKNOWN)
options:
  path:
    description:
      - The path the parameters live under, for example C(/webstack-prod/data). It starts with C(/), has
        at least one level, and a trailing C(/) is ignored.
      - Everything under the path, at any depth, belongs to this task; O(purge) and O(state=absent)
        delete what is not in O(parameters).
    type: str
    required: true
  parameters:
    description:
      - The parameters, by name relative to O(path) (C(mysql/port) is C(<path>/mysql/port)), and
        their values. Values are converted to strings and must not be empty.
      - Required when O(state=present).
    type: dict
  state:
    description:
      - V(present) makes the parameters under O(path) equal to O(parameters); V(absent) deletes every
        parameter under O(path).
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), delete the parameters under O(path) that are not in O(parameters).
    type: bool
    default: true
  tags:
    description:
      - Tags given to a parameter when it is created.
      - Tags are set at creation only. They are not read back on later runs (reading them costs one
        C(ListTagsForResource) per parameter, which is what the module saves), so changing them here
        does not retag the existing parameters.
    type: dict
    default: {}
  description:
    description:
      - The description of each parameter, written when it is created or its value changes. C({name})
        is replaced by the parameter's name relative to O(path).
      - Like O(tags), it is not read back; a new description reaches a parameter with its next value.
    type: str
  string_type:
    description:
      - The type of the parameters written. Only C(String) is supported.
    type: str
    choices: [String]
    default: String
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the path and reports what would be created, updated and deleted, without writing.
    support: full
  diff_mode:
    description: Shows the values under the path before and after (C(SecureString) values left out).
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the data layer's endpoints and secret names are published in SSM Parameter Store
  webstack.aws.ssm_parameter_path:
    path: /webstack-prod/data
    parameters:
      mysql/writer-endpoint: webstack-prod-mysql.abc123.eu-west-1.rds.amazonaws.com
      mysql/port: 3306  # written as "3306"
      mysql/secret-name: webstack-prod/mysql/master
    description: "webstack-prod data layer: {name}"
    tags:
      Project: webstack
      Environment: Production

- name: Ensure two more values are published, leaving the others under the path alone
  webstack.aws.ssm_parameter_path:
    path: /webstack-prod/app
    parameters:
      feature/new-checkout: "true"
    purge: false

- name: Ensure no parameter is left under the data layer's path
  webstack.aws.ssm_parameter_path:
    path: /webstack-prod/data
    state: absent
"""

RETURN = r"""
parameters:
  description:
    - The parameters under O(path) once the task is done (in check mode, as they would be), by full
      name. C(SecureString) parameters are left out.
  returned: always
  type: dict
  sample: {"/webstack-prod/data/mysql/port": "3306", "/webstack-prod/data/mysql/database": "app"}
created:
  description: The full names of the parameters created (in check mode, that would be created).
  returned: always
  type: list
  elements: str
  sample: ["/webstack-prod/data/mysql/port"]
updated:
  description: The full names of the parameters whose value was changed.
  returned: always
  type: list
  elements: str
  sample: ["/webstack-prod/data/mysql/writer-endpoint"]
deleted:
  description: The full names of the parameters deleted (by O(purge) or O(state=absent)).
  returned: always
  type: list
  elements: str
  sample: ["/webstack-prod/data/old-name"]
"""

import re
from typing import TYPE_CHECKING, Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, exit_with_result

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing SDK

PATH = re.compile(r"^(/[A-Za-z0-9_.-]+)+/?$")
RELATIVE_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
SECURE = "SecureString"
# The largest page GetParametersByPath returns, and the most names DeleteParameters takes.
PAGE_SIZE = 10
DELETE_BATCH = 10
# SSM answers TooManyUpdates when writes to one parameter come too fast.
RETRY_CODES = ["TooManyUpdates"]

if TYPE_CHECKING:  # only in annotations: Python 3.8, where modules still run, cannot subscript dict
    Current = dict[str, dict[str, str]]  # full name -> {"Value": ..., "Type": ...}


def argument_spec() -> dict[str, Any]:
    return dict(
        path=dict(type="str", required=True),
        parameters=dict(type="dict"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        purge=dict(type="bool", default=True),
        tags=dict(type="dict", default={}),
        description=dict(type="str"),
        string_type=dict(type="str", choices=["String"], default="String"),
    )


# --- inputs ---------------------------------------------------------------------------------


def base_path(module: AnsibleAWSModule) -> str:
    """The path without a trailing slash; the root path is refused (it would be the whole account)."""
    path = module.params["path"]
    if not PATH.match(path):
        module.fail_json(
            msg=f"path {path!r} is not an SSM parameter path: expected /<level>[/<level>...] "
            "of letters, digits, '.', '-' and '_'"
        )
    return path.rstrip("/")


def wanted_values(module: AnsibleAWSModule, path: str) -> dict[str, str]:
    """The parameters asked for, by full name, with their values as strings."""
    wanted = {}
    for name, value in (module.params["parameters"] or {}).items():
        if not isinstance(name, str) or not RELATIVE_NAME.match(name):
            module.fail_json(
                msg=f"parameters: {name!r} is not a name relative to {path}: expected <level>[/<level>...] "
                "of letters, digits, '.', '-' and '_', without a leading '/'"
            )
        text = "" if value is None else str(value)
        if text == "":
            module.fail_json(msg=f"parameters: {name} has an empty value; SSM stores only non-empty values")
        wanted[f"{path}/{name}"] = text
    return wanted


# --- reading and acting ---------------------------------------------------------------------


def read_path(module: AnsibleAWSModule, client: Any, path: str) -> Current:
    """Every parameter under ``path``, at any depth, with its type; SecureString values stay encrypted."""
    current: Current = {}
    request = {"Path": path, "Recursive": True, "WithDecryption": False, "MaxResults": PAGE_SIZE}
    while True:
        try:
            page = client.get_parameters_by_path(aws_retry=True, **request)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to read the SSM parameters under {path}")
        for parameter in page.get("Parameters", []):
            current[parameter["Name"]] = {"Value": parameter["Value"], "Type": parameter["Type"]}
        if not page.get("NextToken"):
            return current
        request["NextToken"] = page["NextToken"]


def visible(current: Current) -> dict[str, str]:
    """Names and values that may be shown: everything but SecureString parameters."""
    return {name: parameter["Value"] for name, parameter in sorted(current.items()) if parameter["Type"] != SECURE}


def refuse_secure_overwrite(module: AnsibleAWSModule, current: Current, wanted: dict[str, str]) -> None:
    secure = sorted(name for name in wanted if current.get(name, {}).get("Type") == SECURE)
    if secure:
        module.fail_json(
            msg=f"parameters: {', '.join(secure)} exist as SecureString; this module writes String parameters "
            "only and will not replace a secret with a plain value. Delete them first, or leave them out."
        )


class Writer:
    """The mutating calls, and what they have done so far (reported if a later one fails)."""

    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module, self.client = module, client
        self.done: dict[str, list[str]] = {"created": [], "updated": [], "deleted": []}

    def fail(self, error: Exception, msg: str) -> None:
        self.module.fail_json_aws(error, msg=msg, changed=any(self.done.values()), **self.done)

    def put(self, name: str, value: str, description: str | None, tags: dict[str, str] | None) -> None:
        """Create ``name`` with ``tags``, or (``tags`` None) overwrite its value."""
        request: dict[str, Any] = {"Name": name, "Value": value, "Type": self.module.params["string_type"]}
        if description:
            request["Description"] = description
        if tags is None:
            request["Overwrite"] = True
        elif tags:
            request["Tags"] = ansible_dict_to_boto3_tag_list(tags)  # AWS takes tags only without Overwrite
        try:
            self.client.put_parameter(aws_retry=True, **request)
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to {'update' if tags is None else 'create'} the SSM parameter {name}")
        self.done["updated" if tags is None else "created"].append(name)

    def delete(self, names: list[str]) -> None:
        for start in range(0, len(names), DELETE_BATCH):
            batch = names[start : start + DELETE_BATCH]
            try:
                # A name already gone comes back in InvalidParameters: the outcome is the same.
                self.client.delete_parameters(Names=batch, aws_retry=True)
            except AWS_ERRORS as e:
                self.fail(e, f"Failed to delete the SSM parameters {', '.join(batch)}")
            self.done["deleted"].extend(batch)


def description_of(module: AnsibleAWSModule, path: str, name: str) -> str | None:
    template = module.params["description"]
    return template.replace("{name}", name[len(path) + 1 :]) if template else None


def ensure_present(module: AnsibleAWSModule, client: Any, path: str, wanted: dict[str, str], current: Current) -> None:
    refuse_secure_overwrite(module, current, wanted)
    created = sorted(name for name in wanted if name not in current)
    updated = sorted(
        name
        for name in wanted
        if name in current and (current[name]["Value"] != wanted[name] or current[name]["Type"] != "String")
    )
    deleted = sorted(name for name in current if name not in wanted) if module.params["purge"] else []
    kept = {name: value for name, value in visible(current).items() if name not in deleted}
    after = dict(sorted({**kept, **wanted}.items()))
    if not module.check_mode:
        writer = Writer(module, client)
        tags = {key: str(value) for key, value in module.params["tags"].items()}
        for name in created:
            writer.put(name, wanted[name], description_of(module, path, name), tags)
        for name in updated:
            writer.put(name, wanted[name], description_of(module, path, name), None)
        writer.delete(deleted)
    exit_with_result(
        module,
        bool(created or updated or deleted),
        visible(current),
        after,
        parameters=after,
        created=created,
        updated=updated,
        deleted=deleted,
    )


def ensure_absent(module: AnsibleAWSModule, client: Any, current: Current) -> None:
    deleted = sorted(current)
    if deleted and not module.check_mode:
        Writer(module, client).delete(deleted)
    exit_with_result(
        module, bool(deleted), visible(current), {}, parameters={}, created=[], updated=[], deleted=deleted
    )


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("state", "present", ["parameters"])],
    )
    path = base_path(module)
    present = module.params["state"] == "present"
    wanted = wanted_values(module, path) if present else {}  # bad names and values fail before any call
    client = aws_client(module, "ssm", RETRY_CODES)
    current = read_path(module, client, path)
    if present:
        ensure_present(module, client, path, wanted, current)
    else:
        ensure_absent(module, client, current)


if __name__ == "__main__":
    main()
