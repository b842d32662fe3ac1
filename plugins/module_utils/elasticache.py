# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Code the project's ElastiCache modules share (tag and result helpers shared with RDS are in arn_tags)."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing SDK


def get_tags(module: Any, client: Any, arn: str) -> dict[str, str]:
    """Tags on an ElastiCache resource, as a dict; {} while AWS cannot list them yet."""
    try:
        response = client.list_tags_for_resource(ResourceName=arn, aws_retry=True)
    except is_boto3_error_code(["InvalidReplicationGroupState", "ReplicationGroupNotFoundFault"]):
        return {}
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to list the tags of {arn}")
    return boto3_tag_list_to_ansible_dict(response.get("TagList", []))
