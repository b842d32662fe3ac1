#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_ebs_encryption_by_default
short_description: Turn EBS encryption by default on or off for the account in a region
description:
  - Read the setting (C(GetEbsEncryptionByDefault)) and change it only when it differs
    (C(EnableEbsEncryptionByDefault), C(DisableEbsEncryptionByDefault)).
  - The setting belongs to the account and region, not to a resource of this project; every new
    volume of every user of the account in the region is encrypted once it is on. Volumes that exist
    are not changed.
  - The default KMS key (C(aws/ebs) unless changed with C(ModifyEbsDefaultKmsKeyId)) is not managed.
author:
  - webstack maintainers (!UNKNOWN)
options:
  enabled:
    description:
      - Whether new EBS volumes of the account in the region are encrypted by default.
    type: bool
    required: true
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the setting and reports whether it would change, without writing.
    support: full
  diff_mode:
    description: Shows the setting before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure every new EBS volume of the account in the region is encrypted
  webstack.aws.ec2_ebs_encryption_by_default:
    enabled: true
"""

RETURN = r"""
ebs_encryption_by_default:
  description: The setting afterwards (in check mode, what it would be).
  returned: always
  type: bool
  sample: true
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call, exit_with_result


def main() -> None:
    module = AnsibleAWSModule(argument_spec=dict(enabled=dict(type="bool", required=True)), supports_check_mode=True)
    client = aws_client(module, "ec2")
    wanted = module.params["enabled"]
    current: Any = call(module, client.get_ebs_encryption_by_default, "Failed to read EBS encryption by default")[
        "EbsEncryptionByDefault"
    ]
    before, after = {"enabled": current}, {"enabled": wanted}
    if current == wanted:
        exit_with_result(module, False, before, after, ebs_encryption_by_default=current)
    if not module.check_mode:
        method = client.enable_ebs_encryption_by_default if wanted else client.disable_ebs_encryption_by_default
        call(module, method, "Failed to change EBS encryption by default")
    exit_with_result(module, True, before, after, ebs_encryption_by_default=wanted)


if __name__ == "__main__":
    main()
