#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wafv2_web_acl_association
short_description: Associate a regional AWS WAFv2 web ACL with a resource
description:
  - Ensure a regional web ACL protects a resource (an Application Load Balancer, an API Gateway
    stage, an AppSync API, a Cognito user pool), or that it no longer does.
  - The module reads the resource's current web ACL with C(GetWebACLForResource) and acts with
    C(AssociateWebACL) and C(DisassociateWebACL) only when that differs. It does not use
    C(ListResourcesForWebACL), so it also works against emulators that lack that call.
  - Why this module and not C(community.aws.wafv2_resources) (measured with community.aws 10.0.0 on the
    moto emulator, see docs/COLLECTION.md) - the collection module reads through C(ListWebACLs),
    C(GetWebACL) and C(ListResourcesForWebACL), which moto answers with HTTP 500, so it fails on every
    run there; it sends at least 3 reads where this module sends 1 (a no-op rerun here is one
    C(GetWebACLForResource)), does not retry throttling, has no diff mode, and names the web ACL by name
    and scope where the roles hold its ARN.
  - A resource has at most one web ACL. When another web ACL protects the resource, O(state=present)
    disassociates it first, then associates O(web_acl_arn); the resource is unprotected for the
    moment between the two calls.
  - CloudFront distributions name their web ACL in their own configuration and are not handled here.
author:
  - webstack maintainers (!UNKNOWN)
options:
  web_acl_arn:
    description:
      - The ARN of the regional web ACL, C(arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>).
      - Required when O(state=present).
      - With O(state=absent), the resource is disassociated only when this web ACL protects it;
        without it, whichever web ACL protects the resource is disassociated.
    type: str
  resource_arn:
    description:
      - The ARN of the resource to protect, for example an Application Load Balancer's ARN.
    type: str
    required: true
  state:
    description:
      - Whether O(web_acl_arn) should protect the resource.
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
    description: Reads the web ACL the resource has and reports what would be associated or disassociated,
      without writing.
    support: full
  diff_mode:
    description: Shows the web ACL associated with the resource before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the edge web ACL protects the internet-facing load balancer
  webstack.aws.wafv2_web_acl_association:
    web_acl_arn: "{{ edge_web_acl.arn }}"
    resource_arn: "{{ edge_alb.load_balancer_arn }}"

- name: Ensure the edge web ACL no longer protects the load balancer
  webstack.aws.wafv2_web_acl_association:
    web_acl_arn: "{{ edge_web_acl.arn }}"
    resource_arn: "{{ edge_alb.load_balancer_arn }}"
    state: absent

- name: Ensure no web ACL protects the load balancer
  webstack.aws.wafv2_web_acl_association:
    resource_arn: "{{ edge_alb.load_balancer_arn }}"
    state: absent
"""

RETURN = r"""
web_acl_arn:
  description:
    - The ARN of the web ACL that protects the resource once the module is done (in check mode,
      the one that would). Empty when none does.
  returned: always
  type: str
  sample: arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/webstack-edge/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111
resource_arn:
  description: The ARN of the resource.
  returned: always
  type: str
  sample: arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/webstack-edge/50dc6c495c0c9188
"""

import re
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, exit_with_result

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing SDK

REGIONAL_WEB_ACL_ARN = re.compile(r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[\w-]+/[0-9a-f-]+$")
ANY_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$")
# A web ACL created a moment ago may not be usable yet: AWS answers WAFUnavailableEntityException.
RETRY_CODES = ["WAFUnavailableEntityException"]


def check_params(module: AnsibleAWSModule) -> None:
    """Fail on ARNs AWS would refuse, before any call."""
    web_acl_arn, resource_arn = module.params["web_acl_arn"], module.params["resource_arn"]
    if web_acl_arn is not None and not REGIONAL_WEB_ACL_ARN.match(web_acl_arn):
        module.fail_json(
            msg=f"web_acl_arn {web_acl_arn!r} is not the ARN of a regional web ACL "
            "(arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>); CloudFront web ACLs are "
            "set in the distribution's configuration"
        )
    if not ANY_ARN.match(resource_arn):
        module.fail_json(msg=f"resource_arn {resource_arn!r} is not an ARN (arn:aws:<service>:<region>:<account>:...)")


def associated_web_acl(module: AnsibleAWSModule, client: Any, resource_arn: str) -> str | None:
    """The ARN of the web ACL protecting the resource, None if there is none (or no such resource)."""
    try:
        response = client.get_web_acl_for_resource(ResourceArn=resource_arn, aws_retry=True)
    except is_boto3_error_code("WAFNonexistentItemException"):
        if module.params["state"] == "present":
            module.fail_json(msg=f"Resource {resource_arn} does not exist, or WAF cannot protect it")
        return None
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the web ACL of {resource_arn}")
    return response.get("WebACL", {}).get("ARN")


def disassociate(module: AnsibleAWSModule, client: Any, resource_arn: str, web_acl_arn: str) -> None:
    try:
        client.disassociate_web_acl(ResourceArn=resource_arn, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to disassociate web ACL {web_acl_arn} from {resource_arn}")


def associate(module: AnsibleAWSModule, client: Any, resource_arn: str, web_acl_arn: str) -> None:
    try:
        client.associate_web_acl(WebACLArn=web_acl_arn, ResourceArn=resource_arn, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to associate web ACL {web_acl_arn} with {resource_arn}")


def finish(module: AnsibleAWSModule, changed: bool, before: str | None, after: str | None) -> None:
    resource_arn = module.params["resource_arn"]
    exit_with_result(
        module,
        changed,
        {"resource_arn": resource_arn, "web_acl_arn": before or ""},
        {"resource_arn": resource_arn, "web_acl_arn": after or ""},
        resource_arn=resource_arn,
        web_acl_arn=after or "",
    )


def ensure_present(module: AnsibleAWSModule, client: Any, current: str | None) -> None:
    wanted, resource_arn = module.params["web_acl_arn"], module.params["resource_arn"]
    if current == wanted:
        finish(module, False, current, current)
    if not module.check_mode:
        # AWS keeps one web ACL per resource; moto would keep both, so the old one goes first
        # (docs/EMULATOR.md E18).
        if current is not None:
            disassociate(module, client, resource_arn, current)
        associate(module, client, resource_arn, wanted)
    finish(module, True, current, wanted)


def ensure_absent(module: AnsibleAWSModule, client: Any, current: str | None) -> None:
    named = module.params["web_acl_arn"]
    if current is None or (named is not None and current != named):
        finish(module, False, current, current)
    if not module.check_mode:
        disassociate(module, client, module.params["resource_arn"], current)
    finish(module, True, current, None)


def main() -> None:
    argument_spec = dict(
        web_acl_arn=dict(type="str"),
        resource_arn=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["web_acl_arn"])],
    )
    check_params(module)
    client = aws_client(module, "wafv2", RETRY_CODES)
    current = associated_web_acl(module, client, module.params["resource_arn"])
    if module.params["state"] == "present":
        ensure_present(module, client, current)
    else:
        ensure_absent(module, client, current)


if __name__ == "__main__":
    main()
