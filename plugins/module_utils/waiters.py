# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiters that retry throttling, on amazon.aws's ``BaseWaiterFactory``.

botocore's own waiters stop at the first error no acceptor names, a throttled poll
included; ``BaseWaiterFactory`` adds retry acceptors for AWS's rate-limit and
transient errors to every waiter it builds. amazon.aws's ``waiters.py`` has none for
ElastiCache, so the models of botocore's ``ReplicationGroupAvailable`` and
``ReplicationGroupDeleted`` are repeated here.
"""

from __future__ import annotations

import math
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.amazon.aws.plugins.module_utils.waiter import BaseWaiterFactory

try:
    from botocore.exceptions import WaiterError
except ImportError:
    WaiterError = Exception  # AnsibleAWSModule reports the missing SDK

_STATUS = "ReplicationGroups[].Status"


class WaiterFactory(BaseWaiterFactory):
    @property
    def _waiter_model_data(self) -> dict[str, Any]:
        return {
            "replication_group_available": dict(
                operation="DescribeReplicationGroups",
                delay=15,
                maxAttempts=40,
                acceptors=[
                    dict(state="success", matcher="pathAll", argument=_STATUS, expected="available"),
                    dict(state="failure", matcher="pathAny", argument=_STATUS, expected="deleted"),
                ],
            ),
            "replication_group_deleted": dict(
                operation="DescribeReplicationGroups",
                delay=15,
                maxAttempts=40,
                acceptors=[
                    dict(state="success", matcher="pathAll", argument=_STATUS, expected="deleted"),
                    dict(state="failure", matcher="pathAny", argument=_STATUS, expected="available"),
                    dict(state="success", matcher="error", expected="ReplicationGroupNotFoundFault"),
                ],
            ),
        }


def wait(module: Any, client: Any, name: str, timeout: int, delay: int, msg: str, **params: Any) -> None:
    """Wait with the waiter ``name`` for at most ``timeout`` seconds, polling every ``delay``; fail with ``msg``."""
    raw = client.client if isinstance(client, RetryingBotoClientWrapper) else client
    config = {"Delay": delay, "MaxAttempts": max(1, math.ceil(timeout / delay))}
    try:
        WaiterFactory().get_waiter(raw, name).wait(WaiterConfig=config, **params)
    except WaiterError as e:
        module.fail_json_aws(e, msg=msg)
