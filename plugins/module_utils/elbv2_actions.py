# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ALB actions (forward, authenticate-cognito, redirect, fixed-response) in one option shape.

Both what a task asks for and what DescribeRules / DescribeListeners report are turned into the
same *view*: a dict of the action's options, with the values AWS fills in by default filled in
on both sides, so that a rerun against real AWS compares equal. amazon.aws's elbv2 helpers do
this only for authenticate-oidc; AWS also completes authenticate-cognito (scope, session
timeout, cookie name, unauthenticated behaviour), redirects (host, path, query, port, protocol)
and mirrors a forward's target group into a ForwardConfig.
"""

from __future__ import annotations

import re
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

ACTION_TYPES = ("forward", "authenticate-cognito", "redirect", "fixed-response")
TERMINAL_TYPES = ("forward", "redirect", "fixed-response")

# Per type: the config key of the API's Action and the action's options with their API names.
CONFIG_FIELDS: dict[str, tuple[str, dict[str, str]]] = {
    "forward": ("", {"target_group_arn": "TargetGroupArn"}),
    "authenticate-cognito": (
        "AuthenticateCognitoConfig",
        {
            "user_pool_arn": "UserPoolArn",
            "user_pool_client_id": "UserPoolClientId",
            "user_pool_domain": "UserPoolDomain",
            "scope": "Scope",
            "session_timeout": "SessionTimeout",
            "session_cookie_name": "SessionCookieName",
            "on_unauthenticated_request": "OnUnauthenticatedRequest",
            "authentication_request_extra_params": "AuthenticationRequestExtraParams",
        },
    ),
    "redirect": (
        "RedirectConfig",
        {
            "protocol": "Protocol",
            "host": "Host",
            "port": "Port",
            "path": "Path",
            "query": "Query",
            "status_code": "StatusCode",
        },
    ),
    "fixed-response": (
        "FixedResponseConfig",
        {"status_code": "StatusCode", "content_type": "ContentType", "message_body": "MessageBody"},
    ),
}

# What AWS stores when the request leaves an option out (and reports back on describe).
AWS_DEFAULTS: dict[str, dict[str, Any]] = {
    "authenticate-cognito": {
        "scope": "openid",
        "session_timeout": 604800,
        "session_cookie_name": "AWSELBAuthSessionCookie",
        "on_unauthenticated_request": "authenticate",
        "authentication_request_extra_params": {},
    },
    "redirect": {
        "protocol": "#{protocol}",
        "host": "#{host}",
        "port": "#{port}",
        "path": "/#{path}",
        "query": "#{query}",
    },
}

# Options left out of the task keep the value the action has (AWS documents no default for them).
KEEP_WHEN_UNSET: dict[str, tuple[str, ...]] = {"fixed-response": ("content_type", "message_body")}

ACTION_OPTIONS: dict[str, Any] = {
    "type": dict(type="str", required=True, choices=list(ACTION_TYPES)),
    "target_group_arn": dict(type="str"),
    "user_pool_arn": dict(type="str"),
    "user_pool_client_id": dict(type="str"),
    "user_pool_domain": dict(type="str"),
    "scope": dict(type="str"),
    "session_timeout": dict(type="int"),
    "session_cookie_name": dict(type="str"),
    "on_unauthenticated_request": dict(type="str", choices=["deny", "allow", "authenticate"]),
    "authentication_request_extra_params": dict(type="dict"),
    "protocol": dict(type="str", choices=["HTTP", "HTTPS", "#{protocol}"]),
    "host": dict(type="str"),
    "port": dict(type="str"),
    "path": dict(type="str"),
    "query": dict(type="str"),
    "status_code": dict(type="str"),
    "content_type": dict(
        type="str", choices=["text/plain", "text/css", "text/html", "application/javascript", "application/json"]
    ),
    "message_body": dict(type="str"),
}
ACTION_REQUIRED_IF = [
    ("type", "forward", ["target_group_arn"]),
    ("type", "authenticate-cognito", ["user_pool_arn", "user_pool_client_id", "user_pool_domain"]),
    ("type", "redirect", ["status_code"]),
    ("type", "fixed-response", ["status_code"]),
]

USER_POOL_ARN = re.compile(r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[a-z0-9-]+_[0-9A-Za-z]+$")
MAX_SESSION_TIMEOUT = 604800  # seconds, 7 days


def action_option_spec() -> dict[str, Any]:
    """The argument spec of a list-of-actions option."""
    return dict(type="list", elements="dict", options=ACTION_OPTIONS, required_if=ACTION_REQUIRED_IF)


def _action_errors(index: int, option: dict[str, Any]) -> list[str]:
    kind = option["type"]
    where = f"actions[{index}] ({kind})"
    allowed = set(CONFIG_FIELDS[kind][1]) | {"type"}
    errors = [
        f"{where}: {key} is not an option of this type"
        for key, value in option.items()
        if value is not None and key not in allowed
    ]
    status = option.get("status_code")
    if kind == "authenticate-cognito":
        if not USER_POOL_ARN.match(option["user_pool_arn"] or ""):
            # moto would accept it (docs/EMULATOR.md E21)
            errors.append(f"{where}: user_pool_arn {option['user_pool_arn']!r} is not a Cognito user pool ARN")
        timeout = option.get("session_timeout")
        if timeout is not None and not 1 <= timeout <= MAX_SESSION_TIMEOUT:
            errors.append(f"{where}: session_timeout must be 1..{MAX_SESSION_TIMEOUT} seconds, got {timeout}")
    elif kind == "redirect" and status not in ("HTTP_301", "HTTP_302"):
        errors.append(f"{where}: status_code must be HTTP_301 or HTTP_302, got {status!r}")
    elif kind == "fixed-response" and not re.match(r"^[245]\d\d$", status or ""):
        errors.append(f"{where}: status_code must be a 2XX, 4XX or 5XX code, got {status!r}")
    return errors


def action_errors(options: list[dict[str, Any]]) -> list[str]:
    """What AWS would refuse in the given actions, so that nothing is sent that cannot work."""
    errors = [error for index, option in enumerate(options) for error in _action_errors(index, option)]
    kinds = [option["type"] for option in options]
    terminal = [index for index, kind in enumerate(kinds) if kind in TERMINAL_TYPES]
    if terminal != [len(kinds) - 1]:
        errors.append(f"actions: exactly one forward, redirect or fixed-response action must come last, got {kinds}")
    return errors


def _complete(view: dict[str, Any]) -> dict[str, Any]:
    """The view with AWS's defaults in place of unset options and without None values."""
    filled = {**AWS_DEFAULTS.get(view["type"], {}), **{k: v for k, v in view.items() if v is not None}}
    if filled["type"] == "redirect":
        filled["port"] = str(filled["port"])
    return filled


def desired_action_view(option: dict[str, Any]) -> dict[str, Any]:
    """An action as the task gives it, in the view shape."""
    fields = CONFIG_FIELDS[option["type"]][1]
    return _complete({"type": option["type"], **{key: option.get(key) for key in fields}})


def _simple_target_group(action: dict[str, Any]) -> str | None:
    """The one target group a forward sends to, unless its ForwardConfig says more than that."""
    config = dict(action.get("ForwardConfig") or {})
    stickiness = config.pop("TargetGroupStickinessConfig", {"Enabled": False})
    groups = config.pop("TargetGroups", [])
    if config or stickiness.get("Enabled") or len(groups) > 1:
        return None
    # The weight of a lone target group changes nothing.
    arns = {action.get("TargetGroupArn")} | {group.get("TargetGroupArn") for group in groups}
    arns.discard(None)
    return arns.pop() if len(arns) == 1 else None


def current_action_view(action: dict[str, Any]) -> dict[str, Any]:
    """An action as AWS describes it, in the view shape."""
    kind = action["Type"]
    if kind == "forward":
        arn = _simple_target_group(action)
        if arn is not None:
            return {"type": kind, "target_group_arn": arn}
        return {"type": kind, "forward_config": camel_dict_to_snake_dict(action.get("ForwardConfig", {}))}
    if kind not in CONFIG_FIELDS:  # a type this module does not manage, e.g. authenticate-oidc
        return {"type": kind, "config": camel_dict_to_snake_dict({k: v for k, v in action.items() if k != "Type"})}
    config_key, fields = CONFIG_FIELDS[kind]
    config = action.get(config_key, {})
    return _complete({"type": kind, **{key: config.get(name) for key, name in fields.items()}})


def current_action_views(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Described actions in the order AWS runs them."""
    ordered = sorted(enumerate(actions), key=lambda item: (item[1].get("Order", item[0] + 1), item[0]))
    return [current_action_view(action) for _position, action in ordered]


def keep_unset(desired: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Desired views where the options in KEEP_WHEN_UNSET take the current action's value when unset."""
    result = []
    for index, view in enumerate(desired):
        now = current[index] if index < len(current) else {}
        kept = {
            key: now[key]
            for key in KEEP_WHEN_UNSET.get(view["type"], ())
            if key not in view and key in now and now.get("type") == view["type"]
        }
        result.append({**view, **kept})
    return result


def action_request(view: dict[str, Any], order: int) -> dict[str, Any]:
    """The API's Action for a view; every default is sent explicitly."""
    config_key, fields = CONFIG_FIELDS[view["type"]]
    values = {name: view[key] for key, name in fields.items() if key in view}
    if not values.get("AuthenticationRequestExtraParams", True):
        del values["AuthenticationRequestExtraParams"]
    if not config_key:
        return {"Type": view["type"], "Order": order, **values}
    return {"Type": view["type"], "Order": order, config_key: values}


def action_requests(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's Actions, ordered 1..n as listed."""
    return [action_request(view, order) for order, view in enumerate(views, start=1)]
