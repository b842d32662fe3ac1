#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cognito_user_pool_domain
short_description: Manage the domain of an Amazon Cognito user pool
description:
  - Create, update and delete the domain that serves a Cognito user pool's hosted sign-in pages.
  - A prefix domain (O(domain=webstack-staging)) is served as
    C(webstack-staging.auth.<region>.amazoncognito.com). A custom domain
    (O(domain=auth.example.com) with O(certificate_arn)) is served through CloudFront; point
    a DNS alias at RV(user_pool_domain.cloud_front_distribution).
  - A domain belongs to one pool. The module fails when O(domain) belongs to another pool, and
    when the pool already has another domain of the same kind (a pool has at most one prefix
    domain and one custom domain).
  - Only the certificate of a custom domain can change; another O(domain) is another domain.
author:
  - webstack maintainers (!UNKNOWN)
options:
  user_pool_id:
    description:
      - The ID of the user pool the domain serves.
    type: str
    required: true
  domain:
    description:
      - The domain prefix (lowercase letters, digits and hyphens), or the fully qualified
        custom domain when O(certificate_arn) is set.
    type: str
    required: true
  certificate_arn:
    description:
      - The ARN of an ACM certificate in C(us-east-1) for a custom domain.
      - Required for a custom domain; not allowed for a prefix domain.
    type: str
  state:
    description:
      - Whether the domain should exist.
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
    description: Reads the domain and reports what would be created, updated or deleted, without writing.
    support: full
  diff_mode:
    description: Shows the domain and its certificate before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the staging user pool signs users in on its prefix domain
  webstack.aws.cognito_user_pool_domain:
    user_pool_id: "{{ webstack_pool.id }}"
    domain: webstack-staging

- name: Ensure the production user pool signs users in on auth.example.com
  webstack.aws.cognito_user_pool_domain:
    user_pool_id: "{{ webstack_pool.id }}"
    domain: auth.example.com
    certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0000-0000-0000-000000000000
  register: webstack_auth_domain

- name: Ensure the staging prefix domain is gone
  webstack.aws.cognito_user_pool_domain:
    user_pool_id: "{{ webstack_pool.id }}"
    domain: webstack-staging
    state: absent
"""

RETURN = r"""
user_pool_domain:
  description:
    - The domain as DescribeUserPoolDomain returns it, in snake_case.
    - Empty when the domain is absent or would be created in check mode.
  returned: always
  type: dict
  contains:
    domain:
      description: The domain prefix or custom domain.
      type: str
      sample: webstack-staging
    user_pool_id:
      description: The ID of the user pool.
      type: str
    cloud_front_distribution:
      description: The host name a custom domain's DNS alias points at.
      type: str
      sample: d111111abcdef8.cloudfront.net
    custom_domain_config:
      description: The certificate of a custom domain.
      type: dict
      sample: {"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd"}
    status:
      description: V(CREATING) until a new custom domain is served, then V(ACTIVE).
      type: str
"""

import re
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.cognito import (
    cognito_client,
    differences,
    require_user_pool,
    snake_resource,
)
from ansible_collections.webstack.aws.plugins.module_utils.core import call, exit_with_result

PREFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def check_params(module: AnsibleAWSModule) -> None:
    """Fail on a domain AWS would refuse, saying which kind of domain the task describes."""
    domain, certificate_arn = module.params["domain"], module.params["certificate_arn"]
    if certificate_arn is None and not PREFIX_PATTERN.match(domain):
        module.fail_json(
            msg=f"domain {domain!r} is not a valid prefix (lowercase letters, digits and hyphens, "
            "at most 63 characters); a custom domain needs certificate_arn"
        )
    if certificate_arn is not None and "." not in domain:
        module.fail_json(msg=f"certificate_arn is for a custom domain (a host name); {domain!r} is a prefix")


def describe_domain(module: AnsibleAWSModule, client: Any, domain: str) -> dict[str, Any] | None:
    """DescribeUserPoolDomain's description, None if no pool has the domain (AWS answers with {})."""
    response = call(module, client.describe_user_pool_domain, f"Failed to describe domain {domain}", Domain=domain)
    description = response.get("DomainDescription", {})
    return description if description.get("UserPoolId") else None


def check_owner(module: AnsibleAWSModule, description: dict[str, Any]) -> None:
    pool_id = module.params["user_pool_id"]
    if description["UserPoolId"] != pool_id:
        module.fail_json(
            msg=f"Domain {description['Domain']} belongs to user pool {description['UserPoolId']}, "
            f"not {pool_id}; a domain serves one pool"
        )


def check_pool_has_no_other_domain(module: AnsibleAWSModule, pool: dict[str, Any]) -> None:
    custom = module.params["certificate_arn"] is not None
    existing = pool.get("CustomDomain" if custom else "Domain")
    if existing and existing != module.params["domain"]:
        kind = "custom" if custom else "prefix"
        module.fail_json(
            msg=f"User pool {pool['Id']} already has the {kind} domain {existing}; a pool has one {kind} "
            f"domain: remove {existing} first to use {module.params['domain']}"
        )


def domain_view(description: dict[str, Any], desired_certificate: str | None) -> dict[str, Any]:
    """The domain's managed settings, shaped like the module's options."""
    reported = description.get("CustomDomainConfig", {}).get("CertificateArn")
    # (docs/EMULATOR.md E19) AWS reports the certificate of every custom domain; an emulator may not, and then
    # nothing can be compared.
    certificate_arn = reported if reported is not None or "." not in description["Domain"] else desired_certificate
    return {
        "user_pool_id": description["UserPoolId"],
        "domain": description["Domain"],
        "certificate_arn": certificate_arn,
    }


def domain_request(view: dict[str, Any]) -> dict[str, Any]:
    request = {"UserPoolId": view["user_pool_id"], "Domain": view["domain"]}
    if view["certificate_arn"]:
        request["CustomDomainConfig"] = {"CertificateArn": view["certificate_arn"]}
    return request


def domain_result(description: dict[str, Any] | None) -> dict[str, Any]:
    return {"user_pool_domain": snake_resource(description) if description else {}}


def ensure_present(module: AnsibleAWSModule, client: Any, description: dict[str, Any] | None) -> None:
    desired = {
        "user_pool_id": module.params["user_pool_id"],
        "domain": module.params["domain"],
        "certificate_arn": module.params["certificate_arn"],
    }
    if description is None:
        check_pool_has_no_other_domain(module, require_user_pool(module, client, desired["user_pool_id"]))
        if not module.check_mode:
            call(
                module,
                client.create_user_pool_domain,
                f"Failed to create domain {desired['domain']} for user pool {desired['user_pool_id']}",
                **domain_request(desired),
            )
            description = describe_domain(module, client, desired["domain"])
        exit_with_result(module, True, {}, desired, **domain_result(description))
    check_owner(module, description)
    current = domain_view(description, desired["certificate_arn"])
    changed = bool(differences(current, desired))
    if changed and not module.check_mode:
        call(
            module,
            client.update_user_pool_domain,
            f"Failed to update the certificate of domain {desired['domain']}",
            **domain_request(desired),
        )
        description = describe_domain(module, client, desired["domain"])
    exit_with_result(module, changed, current, desired, **domain_result(description))


def ensure_absent(module: AnsibleAWSModule, client: Any, description: dict[str, Any] | None) -> None:
    if description is None:
        exit_with_result(module, False, {}, {}, **domain_result(None))
    check_owner(module, description)
    if not module.check_mode:
        call(
            module,
            client.delete_user_pool_domain,
            f"Failed to delete domain {description['Domain']}",
            UserPoolId=description["UserPoolId"],
            Domain=description["Domain"],
        )
    exit_with_result(module, True, domain_view(description, None), {}, **domain_result(None))


def main() -> None:
    argument_spec = dict(
        user_pool_id=dict(type="str", required=True),
        domain=dict(type="str", required=True),
        certificate_arn=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = cognito_client(module)
    description = describe_domain(module, client, module.params["domain"])
    if module.params["state"] == "present":
        check_params(module)
        ensure_present(module, client, description)
    else:
        ensure_absent(module, client, description)


if __name__ == "__main__":
    main()
