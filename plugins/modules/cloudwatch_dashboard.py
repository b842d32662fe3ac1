#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_dashboard
short_description: Manage a CloudWatch dashboard, comparing its body before writing
description:
  - Create, update or delete a CloudWatch dashboard. No module of amazon.aws or community.aws manages
    dashboards.
  - Reads the dashboard once (C(GetDashboard)) and compares its parsed body with O(body) as data, so
    that the order of keys and the spacing AWS keeps do not count. C(PutDashboard) is sent only when
    they differ, C(DeleteDashboards) only when the dashboard exists. A rerun sends that one read.
  - The body is checked before any call, for what AWS would refuse (no C(widgets) list, a widget
    without a known C(type) or its C(properties), a size or position out of the grid).
  - Dashboards have no tags in CloudWatch; name them after what they show.
author:
  - webstack maintainers (!UNKNOWN)
options:
  name:
    description:
      - The dashboard's name, at most 255 letters, digits, C(-) and C(_).
    type: str
    required: true
    aliases: [dashboard_name]
  body:
    description:
      - The dashboard body as a dict, in CloudWatch's dashboard body structure (a C(widgets) list,
        optionally C(start), C(end), C(periodOverride), C(variables)).
      - Required when O(state=present).
    type: dict
  state:
    description:
      - V(present) makes the dashboard's body equal to O(body); V(absent) deletes the dashboard.
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
    description: Reads the dashboard and reports whether it would be created, changed or deleted, without writing.
    support: full
  diff_mode:
    description: Shows the body before and after (an empty dict where there is no dashboard).
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the production dashboard shows the ALB's requests and the alarms
  webstack.aws.cloudwatch_dashboard:
    name: webstack-prod
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: Requests
            region: eu-west-1
            stat: Sum
            period: 60
            metrics:
              - [AWS/ApplicationELB, RequestCount, LoadBalancer, app/webstack-edge-alb/50dc6c495c0c9188]
        - type: alarm
          x: 12
          y: 0
          width: 12
          height: 6
          properties:
            title: Alarms
            alarms:
              - arn:aws:cloudwatch:eu-west-1:123456789012:alarm:webstack-prod-alb-5xx

- name: Ensure the dashboard is gone
  webstack.aws.cloudwatch_dashboard:
    name: webstack-prod
    state: absent
"""

RETURN = r"""
dashboard_name:
  description: The dashboard's name.
  returned: always
  type: str
  sample: webstack-prod
dashboard_arn:
  description:
    - The dashboard's ARN. Empty when there is no dashboard, or in check mode for one that would be created.
  returned: always
  type: str
  sample: arn:aws:cloudwatch::123456789012:dashboard/webstack-prod
body:
  description:
    - The dashboard's body once the task is done (in check mode, as it would be); empty when there is none.
  returned: always
  type: dict
  sample: {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "hi"}}]}
validation_messages:
  description:
    - What C(PutDashboard) reported about the body it accepted (warnings; a body it refuses fails the task).
  returned: always
  type: list
  elements: dict
  sample: []
"""

import json
import re
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call, exit_with_result

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# Widget types of CloudWatch's dashboard body structure.
WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer", "custom")
GRID_WIDTH = 24
# AWS's limit on a dashboard body, as sent.
MAX_BODY_BYTES = 1024 * 1024
MISSING = ["ResourceNotFound", "ResourceNotFoundException"]


def argument_spec() -> dict[str, Any]:
    return dict(
        name=dict(type="str", required=True, aliases=["dashboard_name"]),
        body=dict(type="dict"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


# --- inputs ---------------------------------------------------------------------------------


def widget_problems(index: int, widget: Any) -> list[str]:
    """What AWS would refuse in one widget, each naming where it is."""
    where = f"body.widgets[{index}]"
    if not isinstance(widget, dict):
        return [f"{where} is a {type(widget).__name__}; expected a dict with type and properties"]
    problems = []
    if widget.get("type") not in WIDGET_TYPES:
        problems.append(f"{where}.type is {widget.get('type')!r}; expected one of {', '.join(WIDGET_TYPES)}")
    if not isinstance(widget.get("properties"), dict):
        problems.append(f"{where}.properties is missing or not a dict")
    for key, low, high in (("x", 0, GRID_WIDTH - 1), ("y", 0, None), ("width", 1, GRID_WIDTH), ("height", 1, 1000)):
        if key not in widget:
            continue
        value = widget[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            allowed = f"{low}..{high}" if high is not None else f"{low} or more"
            problems.append(f"{where}.{key} is {value!r}; expected an integer {allowed}")
    x, width = widget.get("x"), widget.get("width")
    if isinstance(x, int) and isinstance(width, int) and x + width > GRID_WIDTH:
        problems.append(f"{where}: x {x} + width {width} passes the grid's {GRID_WIDTH} columns")
    return problems


def check_params(module: AnsibleAWSModule) -> None:
    """Fail on a name or a body AWS would refuse, before any call."""
    name, body = module.params["name"], module.params["body"]
    if not NAME.match(name):
        module.fail_json(msg=f"name {name!r} is not a dashboard name: 1-255 letters, digits, '-' and '_'")
    if module.params["state"] == "absent":
        return
    if body is None:
        module.fail_json(msg="body is required when state is present")
    widgets = body.get("widgets")
    if not isinstance(widgets, list):
        module.fail_json(msg=f"body.widgets is {type(widgets).__name__}; expected a list of widgets (it may be empty)")
    problems = [problem for index, widget in enumerate(widgets) for problem in widget_problems(index, widget)]
    if problems:
        module.fail_json(msg="The dashboard body would be refused: " + "; ".join(problems), problems=problems)
    size = len(serialise(body).encode())
    if size > MAX_BODY_BYTES:
        module.fail_json(msg=f"The dashboard body is {size} bytes; CloudWatch takes at most {MAX_BODY_BYTES}")


def serialise(body: dict[str, Any]) -> str:
    """The body as sent: compact JSON with sorted keys, the same bytes for the same data."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


# --- reading and acting ---------------------------------------------------------------------


def read(module: AnsibleAWSModule, client: Any, name: str) -> dict[str, Any] | None:
    """The dashboard with its body parsed, None when there is none."""
    found = call(module, client.get_dashboard, f"Failed to read dashboard {name}", missing=MISSING, DashboardName=name)
    if found is None:
        return None
    try:
        body = json.loads(found.get("DashboardBody") or "{}")
    except ValueError:
        # Not JSON (AWS stores only valid bodies): compare as different, so that it is rewritten.
        body = {"unparsed": found.get("DashboardBody")}
    return {"arn": found.get("DashboardArn", ""), "body": body}


def finish(module: AnsibleAWSModule, changed: bool, before: dict | None, after: dict | None, **extra: Any) -> None:
    exit_with_result(
        module,
        changed,
        (before or {}).get("body", {}),
        (after or {}).get("body", {}),
        dashboard_name=module.params["name"],
        dashboard_arn=(after or {}).get("arn", ""),
        body=(after or {}).get("body", {}),
        validation_messages=extra.get("validation_messages", []),
    )


def ensure_present(module: AnsibleAWSModule, client: Any, current: dict[str, Any] | None) -> None:
    name, wanted = module.params["name"], module.params["body"]
    if current is not None and current["body"] == wanted:
        finish(module, False, current, current)
    if module.check_mode:
        finish(module, True, current, {"arn": (current or {}).get("arn", ""), "body": wanted})
    what = f"Failed to write dashboard {name}"
    answer = call(module, client.put_dashboard, what, DashboardName=name, DashboardBody=serialise(wanted))
    messages = [
        {"data_path": message.get("DataPath", ""), "message": message.get("Message", "")}
        for message in answer.get("DashboardValidationMessages", [])
    ]
    after = read(module, client, name) or {"arn": "", "body": wanted}
    finish(module, True, current, after, validation_messages=messages)


def ensure_absent(module: AnsibleAWSModule, client: Any, current: dict[str, Any] | None) -> None:
    name = module.params["name"]
    if current is None:
        finish(module, False, None, None)
    if not module.check_mode:
        # A dashboard deleted meanwhile is gone all the same.
        what = f"Failed to delete dashboard {name}"
        call(module, client.delete_dashboards, what, missing=MISSING, DashboardNames=[name])
    finish(module, True, current, None)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("state", "present", ["body"])],
    )
    check_params(module)
    client = aws_client(module, "cloudwatch")
    current = read(module, client, module.params["name"])
    if module.params["state"] == "present":
        ensure_present(module, client, current)
    else:
        ensure_absent(module, client, current)


if __name__ == "__main__":
    main()
