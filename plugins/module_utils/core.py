# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every module of the collection shares, on amazon.aws's own patterns.

- ``aws_client``: a client made by ``AnsibleAWSModule.client`` with
  ``AWSRetry.jittered_backoff()``, so that any call passed ``aws_retry=True`` retries
  throttling and AWS's transient errors (amazon.aws's ``RetryingBotoClientWrapper``).
- ``call`` and ``paginate``: the one error path: an AWS error fails the module
  through ``fail_json_aws`` with a message that names what was being done.
- ``exit_with_result``: ``changed``, the resource and, under ``--diff``, the
  before/after views.
- ``wait_until``: a poll whose reads go through the retrying client, backing off
  between polls, for states AWS has no botocore waiter for (amazon.aws's
  ``waiters.py`` covers none of ours).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing SDK


def aws_client(module: Any, service: str, retry_codes: list[str] | None = None) -> Any:
    """A client whose calls retry throttling (and ``retry_codes``) when passed ``aws_retry=True``."""
    return module.client(service, retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=retry_codes))


def call(module: Any, method: Callable[..., Any], msg: str, missing: list[str] | None = None, **kwargs: Any) -> Any:
    """Call one API method of a client from ``aws_client`` with retries.

    None when AWS answers with one of the error codes in ``missing`` (the resource does not exist);
    any other AWS error fails the module with ``msg``.
    """
    try:
        return method(aws_retry=True, **kwargs)
    except is_boto3_error_code(missing or ["__none__"]):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=msg)


def paginate(module: Any, client: Any, operation: str, msg: str, **kwargs: Any) -> dict[str, Any]:
    """Every page of a paginated call merged (``build_full_result``), retried as amazon.aws does."""
    try:
        return paginated_query_with_retries(client, operation, AWSRetry.jittered_backoff(), **kwargs)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=msg)


def exit_with_result(module: Any, changed: bool, before: Any, after: Any, **result: Any) -> None:
    """Exit with ``changed``, the resource and, under --diff, the before/after views."""
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(changed=changed, **result)


_UNREAD = object()


def wait_until(
    read: Callable[[], Any],
    done: Callable[[Any], bool],
    timeout: float,
    delay: float = 2,
    max_delay: float = 30,
    current: Any = _UNREAD,
) -> tuple[bool, Any]:
    """Poll ``read()`` until ``done`` holds for what it returns or ``timeout`` seconds pass.

    ``current`` is the value already read, if any (else the first read happens at once);
    between reads the delay doubles up to ``max_delay``. Returns whether ``done`` held and
    the last value read. ``read`` should call a client from ``aws_client`` with
    ``aws_retry=True``, so that throttling does not end the wait.
    """
    deadline = time.monotonic() + timeout
    value = read() if current is _UNREAD else current
    while not done(value):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, value
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay)
        value = read()
    return True, value
