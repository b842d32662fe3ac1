# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base of the RDS DB and ElastiCache cache parameter-group modules.

Both services have the same resource: a named group of one family, whose description and
family cannot change, holding parameter values set through Modify*ParameterGroup and
Reset*ParameterGroup (at most 20 per call), tagged by ARN. Only the API's names differ,
and RDS alone takes an apply method per parameter. ``Kind`` holds those differences;
``ParameterGroup`` reads the group, checks the given values against the family's
catalogue (names, modifiability, allowed values and ranges, the spelling of booleans),
computes what to set, reset and tag, acts (not in check mode), reads the values back,
and exits with the result and the before/after diff.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    normalize_boto3_result,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.webstack.aws.plugins.module_utils.core import AWS_ERRORS, aws_client, call, exit_with_result
from ansible_collections.webstack.aws.plugins.module_utils.tags import (
    apply_resource_tags,
    resource_tags,
    tag_changes,
    tags_after,
)

try:
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    # What an endpoint that cannot answer raises: a server error page instead of an AWS response.
    UNANSWERED: tuple[type[Exception], ...] = (ResponseParserError, NotImplementedError)
except ImportError:
    UNANSWERED = ()  # AnsibleAWSModule reports the missing SDK

MAX_PARAMETERS_PER_CALL = 20  # the limit of Modify*ParameterGroup and Reset*ParameterGroup
# How AWS and users spell true and false; a two-valued parameter lists one of each in AllowedValues.
# ({**a, **b}: the modules run on Python 3.8, which has no dict union.)
BOOLEAN_WORDS = {**dict.fromkeys(("1", "on", "true", "yes"), True), **dict.fromkeys(("0", "off", "false", "no"), False)}
RANGE = re.compile(r"^(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)$")


class Kind:
    """The API names of one service's parameter groups."""

    def __init__(self, *, what: str, members: str, service: str, name_key: str, family_key: str, **names: str) -> None:
        self.what = what  # "DB parameter group"
        self.members = members  # "Instances": what uses a group
        self.service = service
        self.name_key = name_key
        self.family_key = family_key
        self.arn_key: str = names["arn_key"]
        self.describe: str = names["describe"]
        self.groups_key: str = names["groups_key"]
        self.not_found: str = names["not_found"]
        self.parameters: str = names["parameters"]
        self.create: str = names["create"]
        self.created_key: str = names["created_key"]
        self.delete: str = names["delete"]
        self.modify: str = names["modify"]
        self.reset: str = names["reset"]
        self.values_key: str = names["values_key"]
        self.result_key: str = names["result_key"]


def argument_spec() -> dict[str, Any]:
    """The options both modules take (RDS adds apply_method)."""
    return dict(
        name=dict(type="str", required=True),
        family=dict(type="str"),
        description=dict(type="str"),
        parameters=dict(type="dict", default={}),
        purge_parameters=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )


# --- values ---------------------------------------------------------------------------------


def allowed_items(parameter: dict[str, Any]) -> list[str]:
    return [item.strip() for item in (parameter.get("AllowedValues") or "").split(",") if item.strip()]


def boolean_form(parameter: dict[str, Any]) -> tuple[str, str] | None:
    """The (true, false) spellings of a two-valued parameter, as AWS lists them; None for other parameters."""
    allowed = allowed_items(parameter)
    truths = [item for item in allowed if BOOLEAN_WORDS.get(item.lower()) is True]
    falsehoods = [item for item in allowed if BOOLEAN_WORDS.get(item.lower()) is False]
    if len(allowed) == 2 and len(truths) == 1 and len(falsehoods) == 1:
        return truths[0], falsehoods[0]
    if parameter.get("DataType") == "boolean":
        return "1", "0"
    return None


def as_aws_value(value: Any, parameter: dict[str, Any]) -> str:
    """The string AWS reports for ``value``: booleans and listed values in the parameter's own spelling."""
    truth = value if isinstance(value, bool) else BOOLEAN_WORDS.get(str(value).strip().lower())
    form = boolean_form(parameter)
    if form and truth is not None:
        return form[0] if truth else form[1]
    if isinstance(value, bool):
        return "1" if value else "0"
    spelling = {item.lower(): item for item in allowed_items(parameter) if not RANGE.match(item)}
    items = str(value).split(",") if parameter.get("DataType") == "list" else [str(value)]
    return ",".join(spelling.get(item.strip().lower(), item) for item in items)


def within(value: str, item: str, data_type: str | None) -> bool:
    """Whether ``value`` is the allowed value ``item``, or lies in it when ``item`` is a range."""
    bounds = RANGE.match(item)
    if not bounds:
        return value == item
    try:
        number = int(value) if data_type == "integer" else float(value)
    except ValueError:
        return False
    return float(bounds.group(1)) <= number <= float(bounds.group(2))


def value_problem(name: str, value: str, parameter: dict[str, Any], family: str) -> str | None:
    """Why AWS would refuse ``value`` for the parameter, or None."""
    if parameter.get("IsModifiable") is False:
        return f"{name!r} cannot be modified (family {family})"
    allowed = allowed_items(parameter)
    if not allowed or "{" in value:  # formulas such as {DBInstanceClassMemory/12582880} are AWS's to check
        return None
    data_type = parameter.get("DataType")
    items = value.split(",") if data_type == "list" else [value]
    if all(any(within(item, option, data_type) for option in allowed) for item in items):
        return None
    return f"{name!r} is {value!r}, outside its allowed values {parameter['AllowedValues']!r} (family {family})"


def live_value(parameter: dict[str, Any]) -> str | None:
    value = parameter.get("ParameterValue")
    return None if value is None else as_aws_value(value, parameter)


def user_values(known: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    return {name: p.get("ParameterValue") for name, p in known.items() if p.get("Source") == "user"}


def unanswered(error: Exception) -> bool:
    """Whether the endpoint could not answer at all (a server error), as opposed to refusing the request."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or error.response.get("Error", {}).get("Code") in ("NotImplemented", "InternalFailure")
    return isinstance(error, UNANSWERED)


def batches(items: list[Any]) -> list[list[Any]]:
    return [items[start : start + MAX_PARAMETERS_PER_CALL] for start in range(0, len(items), MAX_PARAMETERS_PER_CALL)]


class ParameterGroup:
    """One parameter group of ``kind``, as the module's parameters want it."""

    def __init__(self, module: Any, client: Any, kind: Kind) -> None:
        self.module, self.client, self.kind = module, client, kind
        self.name: str = module.params["name"]
        self.label = f"{kind.what} {self.name}"

    # --- reading --------------------------------------------------------------------------

    def describe(self) -> dict[str, Any] | None:
        try:
            response = getattr(self.client, self.kind.describe)(**{self.kind.name_key: self.name}, aws_retry=True)
        except is_boto3_error_code(self.kind.not_found):
            return None
        except AWS_ERRORS as e:  # pylint: disable=duplicate-except
            self.module.fail_json_aws(e, msg=f"Failed to describe {self.label}")
        groups = response[self.kind.groups_key]  # AWS raises *NotFound; moto an empty list (EMULATOR.md E7)
        return groups[0] if groups else None

    def _paginate(self, operation: str, **query: Any) -> dict[str, Any]:
        return paginated_query_with_retries(self.client, operation, AWSRetry.jittered_backoff(), **query)

    def parameters(self) -> dict[str, dict[str, Any]]:
        """Every parameter of the group by name, all sources, all pages."""
        try:
            response = self._paginate(self.kind.parameters, **{self.kind.name_key: self.name})
        except AWS_ERRORS as e:
            self.module.fail_json_aws(e, msg=f"Failed to read the parameters of {self.label}")
        return {parameter["ParameterName"]: parameter for parameter in response.get("Parameters", [])}

    def family_defaults(self, family: str) -> dict[str, dict[str, Any]]:
        """The parameters a new group of ``family`` starts with; empty when the endpoint cannot list them."""
        try:
            response = self._paginate("describe_engine_default_parameters", **{self.kind.family_key: family})
        except (*AWS_ERRORS, *UNANSWERED) as e:
            if unanswered(e):
                return {}
            self.module.fail_json_aws(e, msg=f"Failed to read the default parameters of family {family}")
        parameters = response.get("EngineDefaults", {}).get("Parameters", [])
        return {parameter["ParameterName"]: parameter for parameter in parameters}

    # --- checking -------------------------------------------------------------------------

    def accept_unchecked(self, known: dict[str, dict[str, Any]], family: str) -> None:
        """Where the endpoint lists no parameter catalogue (AWS always does; an emulator may not:
        docs/EMULATOR.md E6), take the given parameters as they are and say that they were not checked."""
        given = self.module.params["parameters"] or {}
        self.module.warn(
            f"parameters: {sorted(given)} are not checked against family {family}: the endpoint lists no parameter "
            f"catalogue for {self.label}. They are sent as given, applied at the next reboot."
        )
        for name in given:
            known.setdefault(name, {"ParameterName": name})

    def wanted_values(self, known: dict[str, dict[str, Any]], family: str) -> dict[str, str]:
        """The given parameters as AWS strings, after checking each exists, can be modified and is allowed."""
        given = self.module.params["parameters"] or {}
        catalogue = {"ApplyType", "ChangeType", "AllowedValues", "Source"}
        if given and not any(catalogue & parameter.keys() for parameter in known.values()):
            self.accept_unchecked(known, family)
        wanted, problems = {}, []
        for name, value in given.items():
            parameter = known.get(name)
            if parameter is None:
                problems.append(f"{name!r} is not a parameter of family {family}")
                continue
            wanted[name] = as_aws_value(value, parameter)
            problem = value_problem(name, wanted[name], parameter, family)
            if problem:
                problems.append(problem)
        if problems:
            self.module.fail_json(msg=f"parameters: {'; '.join(problems)}")
        return wanted

    def check_fixed_attributes(self, group: dict[str, Any]) -> None:
        family, description = self.module.params["family"], self.module.params["description"]
        live_family = group[self.kind.family_key]
        if family is not None and family != live_family:
            self.module.fail_json(
                msg=f"{self.label} cannot change family in place: family (live: {live_family!r}, "
                f"wanted: {family!r}). Create a group under another name and move the {self.kind.members} to it."
            )
        if description is not None and description != group.get("Description"):
            self.module.warn(f"AWS cannot change the description of {self.label}; it stays as it is")

    def read_parameters(self, group: dict[str, Any] | None) -> tuple[dict[str, dict[str, Any]], str]:
        """The group's parameters (for a group still to create, its family's defaults) and its family."""
        params = self.module.params
        if group is not None:
            self.check_fixed_attributes(group)
            return self.parameters(), group[self.kind.family_key]
        for option in ("family", "description"):
            if params[option] is None:
                self.module.fail_json(msg=f"{option} is required to create {self.label}")
        if not params["parameters"]:
            return {}, params["family"]  # nothing to check, and a new group has no user values to purge
        return self.family_defaults(params["family"]), params["family"]

    # --- acting ---------------------------------------------------------------------------

    def create(self) -> dict[str, Any]:
        params = self.module.params
        request = {
            self.kind.name_key: self.name,
            self.kind.family_key: params["family"],
            "Description": params["description"],
        }
        if params["tags"]:
            request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
        if self.module.check_mode:
            return {key: value for key, value in request.items() if key != "Tags"}
        method = getattr(self.client, self.kind.create)
        return call(self.module, method, f"Failed to create {self.label}", **request)[self.kind.created_key]

    def modify(self, to_set: dict[str, str], methods: dict[str, str] | None) -> None:
        values = [{"ParameterName": key, "ParameterValue": value} for key, value in sorted(to_set.items())]
        self._send(self.kind.modify, "set", values, methods)

    def reset(self, to_reset: list[str], methods: dict[str, str] | None) -> None:
        self._send(self.kind.reset, "reset", [{"ParameterName": key} for key in to_reset], methods, reset=True)

    def _send(self, operation: str, verb: str, values: list[dict], methods: dict | None, reset: bool = False) -> None:
        if methods is not None:
            values = [{**value, "ApplyMethod": methods[value["ParameterName"]]} for value in values]
        extra = {"ResetAllParameters": False} if reset else {}
        for batch in batches(values):
            call(
                self.module,
                getattr(self.client, operation),
                f"Failed to {verb} parameters {[v['ParameterName'] for v in batch]} of {self.name}",
                **{self.kind.name_key: self.name, self.kind.values_key: batch},
                **extra,
            )

    def verify(self, to_set: dict[str, str], to_reset: list[str]) -> None:
        """Read the group back and fail unless AWS reports what was set and reset."""
        known = self.parameters()
        wrong = []
        for key, value in sorted(to_set.items()):
            found = live_value(known[key]) if key in known else None
            if found != value:
                wrong.append(f"{key} (wanted {value!r}, found {found!r})")
        for key in to_reset:
            if known.get(key, {}).get("Source") == "user":
                wrong.append(f"{key} (wanted the default, found the user value {known[key].get('ParameterValue')!r})")
        if wrong:
            self.module.fail_json(msg=f"{self.label} does not report the values sent: {', '.join(wrong)}")

    # --- states ---------------------------------------------------------------------------

    def view(self, group: dict[str, Any], parameters: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
        return {
            "family": group.get(self.kind.family_key),
            "description": group.get("Description"),
            "parameters": parameters,
            "tags": tags,
        }

    def ensure_absent(self, group: dict[str, Any] | None) -> None:
        if group is None:
            exit_with_result(self.module, False, {}, {}, **{self.kind.result_key: {}})
        if not self.module.check_mode:
            method = getattr(self.client, self.kind.delete)
            call(self.module, method, f"Failed to delete {self.label}", **{self.kind.name_key: self.name})
        exit_with_result(self.module, True, self.view(group, {}, {}), {}, **{self.kind.result_key: {}})

    def ensure_present(
        self,
        group: dict[str, Any] | None,
        apply_methods: Callable[[dict[str, dict[str, Any]], list[str]], dict[str, str] | None],
        extra_result: Callable[[dict[str, dict[str, Any]], dict[str, str], dict[str, str] | None], dict[str, Any]],
    ) -> None:
        """Create or update the group. ``apply_methods(known, names)`` gives each changed parameter its apply
        method (None: the service takes none); ``extra_result(known, to_set, methods)`` adds the module's own
        return values (and warns)."""
        params = self.module.params
        created = group is None
        known, family = self.read_parameters(group)
        # Every check runs before the first mutating call, creation included.
        wanted = self.wanted_values(known, family)
        purge = params["purge_parameters"]
        to_set = {name: value for name, value in wanted.items() if live_value(known[name]) != value}
        to_reset = sorted(name for name in user_values(known) if purge and name not in wanted)
        methods = apply_methods(known, [*to_set, *to_reset])
        if created:
            group, live_tags = self.create(), dict(params["tags"] or {})
        else:
            live_tags = resource_tags(self.module, self.client, group[self.kind.arn_key])

        tags_to_set, tags_to_remove = tag_changes(live_tags, params["tags"], params["purge_tags"])
        if not self.module.check_mode:
            self.modify(to_set, methods)
            self.reset(to_reset, methods)
            if to_set or to_reset:
                self.verify(to_set, to_reset)
            if tags_to_set or tags_to_remove:
                apply_resource_tags(self.module, self.client, group[self.kind.arn_key], tags_to_set, tags_to_remove)

        # The diff shows the parameters set on the group and the given ones; reset ones leave it.
        before_parameters = {**user_values(known), **{key: known[key].get("ParameterValue") for key in wanted}}
        after_parameters = {key: value for key, value in before_parameters.items() if key not in to_reset}
        after_parameters.update(to_set)
        final = {key: value for key, value in {**user_values(known), **to_set}.items() if key not in to_reset}
        final_tags = tags_after(live_tags, tags_to_set, tags_to_remove)
        exit_with_result(
            self.module,
            created or bool(to_set or to_reset or tags_to_set or tags_to_remove),
            {} if created else self.view(group, before_parameters, live_tags),
            self.view(group, after_parameters, final_tags),
            **{self.kind.result_key: {**camel_dict_to_snake_dict(normalize_boto3_result(group)), "tags": final_tags}},
            parameters=final,
            **extra_result(known, to_set, methods),
        )


def run(module: Any, kind: Kind, apply_methods: Callable, extra_result: Callable) -> None:
    """The module's main flow once AnsibleAWSModule has checked the parameters."""
    client = aws_client(module, kind.service)
    group_manager = ParameterGroup(module, client, kind)
    group = group_manager.describe()
    if module.params["state"] == "absent":
        group_manager.ensure_absent(group)
    else:
        group_manager.ensure_present(group, apply_methods, extra_result)
