"""Unit tests of plugins/modules/rds_db_parameter_group.py.

What moto 5.2.5 does with these calls (measured in-process): Create/Describe/DeleteDBParameterGroup
and the tag calls work, except that describing a missing group answers an empty list (AWS raises
DBParameterGroupNotFound) and a group used by an instance is deleted without complaint.
DescribeDBParameters returns only the parameters sent to ModifyDBParameterGroup, exactly as sent
(no family defaults, no Source, ApplyType, DataType, AllowedValues or IsModifiable), never pages, and
ModifyDBParameterGroup stores anything: unknown names, bad values, more than 20 per call.
DescribeEngineDefaultParameters and ResetDBParameterGroup raise NotImplementedError.

So the group's lifecycle and tags run against moto, and everything about parameter values runs
against botocore's Stubber, which replays AWS-shaped pages of mysql8.0 parameters: each expected call
is queued with its exact parameters, and a call that was not queued fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from conftest import Calls, run_module, spy_module_clients, stubbed_module_client
from moto import mock_aws

MODULE = "rds_db_parameter_group"
REGION = "us-east-1"
NAME = "webstack-mysql80"
ARN = f"arn:aws:rds:{REGION}:123456789012:pg:{NAME}"
DESCRIPTION = "Parameters of the web stack database"
MUTATING_PREFIXES = ("Create", "Modify", "Reset", "Delete", "AddTags", "RemoveTags")
GROUP = {
    "DBParameterGroupName": NAME,
    "DBParameterGroupFamily": "mysql8.0",
    "Description": DESCRIPTION,
    "DBParameterGroupArn": ARN,
}
ARGS: dict[str, Any] = {
    "name": NAME,
    "family": "mysql8.0",
    "description": DESCRIPTION,
    "parameters": {"character_set_server": "utf8mb4", "slow_query_log": 1, "long_query_time": 2},
    "tags": {"Project": "webstack"},
}

# --- harness ------------------------------------------------------------------------------


@pytest.fixture
def api_calls() -> Calls:
    """Every RDS call the module makes, as (operation, parameters)."""
    return []


def mutating(calls: Calls) -> list[str]:
    return [name for name, _ in calls if name.startswith(MUTATING_PREFIXES)]


@pytest.fixture
def rds(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process; yields a client to look at what the module left behind."""
    spy_module_clients(monkeypatch, api_calls)
    with mock_aws():
        yield boto3.client("rds", region_name=REGION)


@pytest.fixture
def stubber(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The module's client is a stubbed one; every expected call must be queued and made."""
    with stubbed_module_client(monkeypatch, "rds", api_calls) as stub:
        yield stub


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


# --- mysql8.0 as DescribeDBParameters / DescribeEngineDefaultParameters report it -----------


def parameter(
    name: str,
    value: str | None = None,
    *,
    source: str = "engine-default",
    apply_type: str = "dynamic",
    data_type: str = "string",
    allowed: str | None = None,
    modifiable: bool = True,
) -> dict[str, Any]:
    entry = {
        "ParameterName": name,
        "Description": f"{name} (MySQL server variable)",
        "Source": source,
        "ApplyType": apply_type,
        "DataType": data_type,
        "IsModifiable": modifiable,
        "ApplyMethod": "pending-reboot",  # what AWS reports on every row of a describe
    }
    if value is not None:
        entry["ParameterValue"] = value
    if allowed is not None:
        entry["AllowedValues"] = allowed
    return entry


CHARSETS = (
    "big5,dec8,cp850,hp8,koi8r,latin1,latin2,swe7,ascii,ujis,sjis,hebrew,tis620,euckr,koi8u,gb2312,greek,cp1250,"
    "gbk,latin5,armscii8,utf8,ucs2,cp866,keybcs2,macce,macroman,cp852,latin7,utf8mb4,cp1251,utf16,cp1256,cp1257,"
    "utf32,binary,geostd8,cp932,eucjpms"
)
COLLATIONS = "latin1_swedish_ci,latin1_bin,utf8mb3_general_ci,utf8mb4_0900_ai_ci,utf8mb4_general_ci,utf8mb4_unicode_ci"
SQL_MODES = (
    "ALLOW_INVALID_DATES,ANSI_QUOTES,ERROR_FOR_DIVISION_BY_ZERO,HIGH_NOT_PRECEDENCE,IGNORE_SPACE,"
    "NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,NO_DIR_IN_CREATE,NO_ENGINE_SUBSTITUTION,NO_UNSIGNED_SUBTRACTION,"
    "NO_ZERO_DATE,NO_ZERO_IN_DATE,ONLY_FULL_GROUP_BY,PAD_CHAR_TO_FULL_LENGTH,PIPES_AS_CONCAT,REAL_AS_FLOAT,"
    "STRICT_ALL_TABLES,STRICT_TRANS_TABLES,TIME_TRUNCATE_FRACTIONAL"
)


def defaults() -> list[dict[str, Any]]:
    return [
        parameter("character_set_server", allowed=CHARSETS),
        parameter("collation_server", allowed=COLLATIONS),
        parameter("datadir", "/rdsdbdata/db/", source="system", apply_type="static", modifiable=False),
        parameter("event_scheduler", allowed="ON,OFF"),
        parameter(
            "innodb_log_file_size",
            "134217728",
            source="system",
            apply_type="static",
            data_type="integer",
            allowed="4194304-274877906944",
        ),
        parameter("long_query_time", data_type="float", allowed="0-31536000"),
        parameter(
            "max_connections",
            "{DBInstanceClassMemory/12582880}",
            source="system",
            data_type="integer",
            allowed="1-100000",
        ),
        parameter("performance_schema", apply_type="static", data_type="boolean", allowed="0,1"),
        parameter("slow_query_log", data_type="boolean", allowed="0,1"),
        parameter("sql_mode", data_type="list", allowed=SQL_MODES),
    ]


def configured(**values: str) -> list[dict[str, Any]]:
    """The group's parameters: the family's, with ``values`` set by the user."""
    result = []
    for item in defaults():
        name = item["ParameterName"]
        result.append({**item, "ParameterValue": values[name], "Source": "user"} if name in values else item)
    return result


LIVE = {"character_set_server": "utf8mb4", "slow_query_log": "1", "long_query_time": "2"}
CONFIGURED = configured(**LIVE)


# --- expected calls -----------------------------------------------------------------------


def expect_absent(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_db_parameter_groups",
        "DBParameterGroupNotFound",
        f"DBParameterGroup not found: {NAME}",
        404,
        expected_params={"DBParameterGroupName": NAME},
    )


def expect_group(stub: Stubber) -> None:
    stub.add_response("describe_db_parameter_groups", {"DBParameterGroups": [GROUP]}, {"DBParameterGroupName": NAME})


def expect_parameters(stub: Stubber, parameters: list[dict[str, Any]]) -> None:
    """DescribeDBParameters, on two pages."""
    stub.add_response(
        "describe_db_parameters", {"Parameters": parameters[:4], "Marker": "page2"}, {"DBParameterGroupName": NAME}
    )
    stub.add_response(
        "describe_db_parameters", {"Parameters": parameters[4:]}, {"DBParameterGroupName": NAME, "Marker": "page2"}
    )


def expect_defaults(stub: Stubber) -> None:
    """DescribeEngineDefaultParameters for mysql8.0, on two pages."""
    family = {"DBParameterGroupFamily": "mysql8.0"}
    params = defaults()
    stub.add_response(
        "describe_engine_default_parameters",
        {"EngineDefaults": {**family, "Parameters": params[:5], "Marker": "page2"}},
        family,
    )
    stub.add_response(
        "describe_engine_default_parameters",
        {"EngineDefaults": {**family, "Parameters": params[5:]}},
        {**family, "Marker": "page2"},
    )


def expect_tags(stub: Stubber, tags: dict[str, str] | None = None) -> None:
    tag_list = [{"Key": key, "Value": value} for key, value in (tags or {"Project": "webstack"}).items()]
    stub.add_response("list_tags_for_resource", {"TagList": tag_list}, {"ResourceName": ARN})


def expect_existing(stub: Stubber, parameters: list[dict[str, Any]], read_tags: bool = True, **tags: str) -> None:
    """The reads for an existing group; the tags are read only once every parameter passed its checks."""
    expect_group(stub)
    expect_parameters(stub, parameters)
    if read_tags:
        expect_tags(stub, tags or None)


def expect_modify(stub: Stubber, *values: tuple[str, str, str]) -> None:
    """One ModifyDBParameterGroup with exactly ``values``: (name, value, apply method)."""
    parameters = [{"ParameterName": n, "ParameterValue": v, "ApplyMethod": m} for n, v, m in values]
    stub.add_response(
        "modify_db_parameter_group",
        {"DBParameterGroupName": NAME},
        {"DBParameterGroupName": NAME, "Parameters": parameters},
    )


# --- lifecycle and tags, against moto -----------------------------------------------------


def test_create_makes_the_group_with_its_tags(rds: Any, api_calls: Calls, capsys) -> None:
    result = run({**ARGS, "parameters": {}}, capsys)

    assert result["changed"] is True
    assert result["db_parameter_group"] == {
        "db_parameter_group_name": NAME,
        "db_parameter_group_family": "mysql8.0",
        "description": DESCRIPTION,
        "db_parameter_group_arn": ARN,
        "tags": {"Project": "webstack"},
    }
    assert (result["parameters_changed"], result["parameters_pending_reboot"]) == ([], [])
    assert mutating(api_calls) == ["CreateDBParameterGroup"]
    assert rds.describe_db_parameter_groups(DBParameterGroupName=NAME)["DBParameterGroups"][0]["Description"] == (
        DESCRIPTION
    )
    assert rds.list_tags_for_resource(ResourceName=ARN)["TagList"] == [{"Key": "Project", "Value": "webstack"}]


def test_rerun_changes_nothing_and_calls_nothing_mutating(rds: Any, api_calls: Calls, capsys) -> None:
    run({**ARGS, "parameters": {}}, capsys)
    api_calls.clear()

    result = run({**ARGS, "parameters": {}}, capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


def test_changed_tags_are_added_and_removed_and_nothing_else(rds: Any, api_calls: Calls, capsys) -> None:
    run({**ARGS, "parameters": {}, "tags": {"Project": "webstack", "Old": "yes"}}, capsys)
    api_calls.clear()

    result = run({**ARGS, "parameters": {}, "tags": {"Project": "webstack", "Owner": "ops"}}, capsys)

    assert result["changed"] is True
    assert result["db_parameter_group"]["tags"] == {"Project": "webstack", "Owner": "ops"}
    assert [(name, params) for name, params in api_calls if name in mutating(api_calls)] == [
        ("RemoveTagsFromResource", {"ResourceName": ARN, "TagKeys": ["Old"]}),
        ("AddTagsToResource", {"ResourceName": ARN, "Tags": [{"Key": "Owner", "Value": "ops"}]}),
    ]
    tags = rds.list_tags_for_resource(ResourceName=ARN)["TagList"]
    assert sorted(tag["Key"] for tag in tags) == ["Owner", "Project"]


def test_tags_left_out_are_kept_without_purge_tags(rds: Any, api_calls: Calls, capsys) -> None:
    run({**ARGS, "parameters": {}}, capsys)
    api_calls.clear()

    result = run({**ARGS, "parameters": {}, "tags": {"Owner": "ops"}, "purge_tags": False}, capsys)

    assert result["db_parameter_group"]["tags"] == {"Project": "webstack", "Owner": "ops"}
    assert mutating(api_calls) == ["AddTagsToResource"]


def test_another_family_fails_naming_live_and_wanted(rds: Any, api_calls: Calls, capsys) -> None:
    run({**ARGS, "parameters": {}}, capsys)
    api_calls.clear()

    result = run({**ARGS, "parameters": {}, "family": "mysql8.4"}, capsys)

    assert result["failed"] is True
    assert "family (live: 'mysql8.0', wanted: 'mysql8.4')" in result["msg"]
    assert mutating(api_calls) == []


def test_another_description_only_warns(rds: Any, api_calls: Calls, capsys) -> None:
    run({**ARGS, "parameters": {}}, capsys)

    result = run({**ARGS, "parameters": {}, "description": "Something else"}, capsys)

    assert result["changed"] is False
    assert "cannot change the description" in json.dumps(result["warnings"])


def test_delete_removes_the_group(rds: Any, api_calls: Calls, capsys) -> None:
    run({**ARGS, "parameters": {}}, capsys)
    api_calls.clear()

    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["changed"] is True
    assert result["db_parameter_group"] == {}
    assert mutating(api_calls) == ["DeleteDBParameterGroup"]
    assert rds.describe_db_parameter_groups()["DBParameterGroups"] == []


def test_delete_of_an_absent_group_changes_nothing(rds: Any, api_calls: Calls, capsys) -> None:
    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


def test_check_mode_reports_changed_and_calls_nothing_mutating(rds: Any, api_calls: Calls, capsys) -> None:
    create = run({**ARGS, "parameters": {}}, capsys, check_mode=True)
    run({**ARGS, "parameters": {}}, capsys)
    api_calls.clear()
    retag = run({**ARGS, "parameters": {}, "tags": {}}, capsys, check_mode=True)
    delete = run({"name": NAME, "state": "absent"}, capsys, check_mode=True)

    assert (create["changed"], retag["changed"], delete["changed"]) == (True, True, True)
    assert create["db_parameter_group"]["db_parameter_group_family"] == "mysql8.0"
    assert mutating(api_calls) == []
    assert rds.list_tags_for_resource(ResourceName=ARN)["TagList"] == [{"Key": "Project", "Value": "webstack"}]


def test_create_without_family_or_description_fails_naming_it(rds: Any, api_calls: Calls, capsys) -> None:
    for option in ("family", "description"):
        result = run({**ARGS, option: None}, capsys)
        assert result["failed"] is True
        assert result["msg"] == f"{option} is required to create DB parameter group {NAME}"
    assert mutating(api_calls) == []


def test_without_a_parameter_catalogue_parameters_are_sent_unchecked_and_said_so(
    rds: Any, api_calls: Calls, capsys
) -> None:
    """moto lists no family parameters: the module sends them as given, pending reboot, and warns."""
    run({**ARGS, "parameters": {}}, capsys)
    api_calls.clear()

    result = run(ARGS, capsys)

    assert result["changed"] is True
    assert any("are not checked against family mysql8.0" in str(warning) for warning in result["warnings"]), result
    assert sorted(result["parameters_pending_reboot"]) == ["character_set_server", "long_query_time", "slow_query_log"]
    assert mutating(api_calls) == ["ModifyDBParameterGroup"]
    api_calls.clear()
    again = run(ARGS, capsys)
    assert again["changed"] is False
    assert mutating(api_calls) == []


# --- parameter values, against AWS-shaped answers -----------------------------------------


def test_create_checks_the_family_then_sets_the_values_and_reads_them_back(
    stubber: Stubber, api_calls: Calls, capsys
) -> None:
    expect_absent(stubber)
    expect_defaults(stubber)
    stubber.add_response(
        "create_db_parameter_group",
        {"DBParameterGroup": GROUP},
        {
            "DBParameterGroupName": NAME,
            "DBParameterGroupFamily": "mysql8.0",
            "Description": DESCRIPTION,
            "Tags": [{"Key": "Project", "Value": "webstack"}],
        },
    )
    expect_modify(
        stubber,
        ("character_set_server", "utf8mb4", "immediate"),
        ("long_query_time", "2", "immediate"),
        ("slow_query_log", "1", "immediate"),
    )
    expect_parameters(stubber, CONFIGURED)

    result = run(ARGS, capsys)

    assert result["changed"] is True
    assert result["db_parameter_group"]["db_parameter_group_arn"] == ARN
    assert result["parameters"] == {"character_set_server": "utf8mb4", "long_query_time": "2", "slow_query_log": "1"}
    assert result["parameters_changed"] == ["character_set_server", "long_query_time", "slow_query_log"]
    assert result["parameters_pending_reboot"] == []
    assert mutating(api_calls) == ["CreateDBParameterGroup", "ModifyDBParameterGroup"]


def test_rerun_with_the_same_values_changes_nothing(stubber: Stubber, api_calls: Calls, capsys) -> None:
    expect_existing(stubber, CONFIGURED)

    result = run(ARGS, capsys)

    assert result["changed"] is False
    assert result["parameters_changed"] == []
    assert mutating(api_calls) == []


def test_one_changed_value_sends_only_that_parameter_immediately(stubber: Stubber, api_calls: Calls, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, ("long_query_time", "5", "immediate"))
    expect_parameters(stubber, configured(character_set_server="utf8mb4", slow_query_log="1", long_query_time="5"))

    result = run({**ARGS, "parameters": {**ARGS["parameters"], "long_query_time": 5}}, capsys)

    assert result["changed"] is True
    assert result["parameters_changed"] == ["long_query_time"]
    assert result["parameters_pending_reboot"] == []
    assert result["parameters"]["long_query_time"] == "5"
    assert mutating(api_calls) == ["ModifyDBParameterGroup"]


def test_a_static_parameter_waits_for_a_reboot(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, ("performance_schema", "1", "pending-reboot"))
    expect_parameters(stubber, configured(**LIVE, performance_schema="1"))

    result = run({**ARGS, "parameters": {**ARGS["parameters"], "performance_schema": True}}, capsys)

    assert result["changed"] is True
    assert result["parameters_changed"] == ["performance_schema"]
    assert result["parameters_pending_reboot"] == ["performance_schema"]
    assert "apply performance_schema only at their next reboot" in json.dumps(result["warnings"])


def test_apply_method_pending_reboot_defers_dynamic_parameters_too(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, ("max_connections", "500", "pending-reboot"))
    expect_parameters(stubber, configured(**LIVE, max_connections="500"))

    result = run(
        {**ARGS, "parameters": {**ARGS["parameters"], "max_connections": 500}, "apply_method": "pending-reboot"}, capsys
    )

    assert result["parameters_pending_reboot"] == ["max_connections"]


def test_apply_method_immediate_refuses_a_static_parameter_before_any_change(
    stubber: Stubber, api_calls: Calls, capsys
) -> None:
    expect_existing(stubber, CONFIGURED, read_tags=False)

    result = run(
        {**ARGS, "parameters": {"innodb_log_file_size": 268435456, "long_query_time": 5}, "apply_method": "immediate"},
        capsys,
    )

    assert result["failed"] is True
    assert "['innodb_log_file_size'] are static" in result["msg"]
    assert "wanted 'immediate', possible 'pending-reboot'" in result["msg"]
    assert mutating(api_calls) == []


def test_twenty_five_changes_go_in_batches_of_twenty_and_five(stubber: Stubber, api_calls: Calls, capsys) -> None:
    names = [f"innodb_setting_{n:02}" for n in range(25)]
    family = [parameter(name, "0", source="system", data_type="integer", allowed="0-100") for name in names]
    expect_existing(stubber, family)
    expect_modify(stubber, *[(name, "7", "immediate") for name in names[:20]])
    expect_modify(stubber, *[(name, "7", "immediate") for name in names[20:]])
    expect_parameters(stubber, [{**item, "ParameterValue": "7", "Source": "user"} for item in family])

    result = run({**ARGS, "parameters": dict.fromkeys(names, 7)}, capsys)

    assert result["changed"] is True
    assert result["parameters_changed"] == names
    modify_sizes = [len(params["Parameters"]) for name, params in api_calls if name == "ModifyDBParameterGroup"]
    assert modify_sizes == [20, 5]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"slow_query_logs": 1}, "'slow_query_logs' is not a parameter of family mysql8.0"),
        ({"datadir": "/tmp/db"}, "'datadir' cannot be modified (family mysql8.0)"),
        (
            {"long_query_time": 40000000},
            "'long_query_time' is '40000000', outside its allowed values '0-31536000' (family mysql8.0)",
        ),
        ({"long_query_time": "two"}, "'long_query_time' is 'two', outside its allowed values '0-31536000'"),
        ({"max_connections": "12.5"}, "'max_connections' is '12.5', outside its allowed values '1-100000'"),
        ({"slow_query_log": 2}, "'slow_query_log' is '2', outside its allowed values '0,1'"),
        ({"character_set_server": "utf9"}, "'character_set_server' is 'utf9', outside its allowed values 'big5,"),
        ({"sql_mode": "STRICT_TRANS_TABLES,NO_SUCH_MODE"}, "'sql_mode' is 'STRICT_TRANS_TABLES,NO_SUCH_MODE'"),
    ],
    ids=["unknown", "not-modifiable", "above-range", "not-a-number", "not-an-integer", "not-0-or-1", "list", "modes"],
)
def test_a_bad_parameter_fails_naming_it_before_any_change(
    stubber: Stubber, api_calls: Calls, capsys, parameters: dict[str, Any], message: str
) -> None:
    expect_existing(stubber, CONFIGURED, read_tags=False)

    result = run({**ARGS, "parameters": {**ARGS["parameters"], **parameters}}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith("parameters: ")
    assert message in result["msg"]
    assert mutating(api_calls) == []


def test_a_bad_parameter_fails_before_the_group_is_created(stubber: Stubber, api_calls: Calls, capsys) -> None:
    expect_absent(stubber)
    expect_defaults(stubber)

    result = run({**ARGS, "parameters": {"slow_query_log": 1, "innodb_log_file_size": 1024}}, capsys)

    assert result["failed"] is True
    assert result["msg"] == (
        "parameters: 'innodb_log_file_size' is '1024', outside its allowed values '4194304-274877906944' "
        "(family mysql8.0)"
    )
    assert mutating(api_calls) == []


@pytest.mark.parametrize(
    "given",
    [
        {"slow_query_log": "ON", "event_scheduler": 1},
        {"slow_query_log": True, "event_scheduler": "on"},
        {"slow_query_log": "1", "event_scheduler": True},
    ],
    ids=["ON-and-1", "true-and-on", "1-and-true"],
)
def test_booleans_compare_in_the_form_the_parameter_reports(stubber: Stubber, capsys, given: dict[str, Any]) -> None:
    expect_existing(stubber, configured(slow_query_log="1", event_scheduler="ON"))

    result = run({**ARGS, "parameters": given}, capsys)

    assert result["changed"] is False
    assert result["parameters"] == {"slow_query_log": "1", "event_scheduler": "ON"}


def test_a_boolean_is_sent_in_the_form_the_parameter_allows(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, configured(slow_query_log="0"))
    expect_modify(stubber, ("event_scheduler", "ON", "immediate"), ("slow_query_log", "1", "immediate"))
    expect_parameters(stubber, configured(slow_query_log="1", event_scheduler="ON"))

    result = run({**ARGS, "parameters": {"slow_query_log": "on", "event_scheduler": "true"}}, capsys)

    assert result["parameters"] == {"event_scheduler": "ON", "slow_query_log": "1"}


def test_listed_values_take_the_spelling_aws_lists(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, configured(character_set_server="utf8mb4", sql_mode="STRICT_TRANS_TABLES"))

    result = run({**ARGS, "parameters": {"character_set_server": "UTF8MB4", "sql_mode": "strict_trans_tables"}}, capsys)

    assert result["changed"] is False


def test_a_formula_is_passed_to_aws_as_it_is(stubber: Stubber, capsys) -> None:
    formula = "{DBInstanceClassMemory/8388608}"
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, ("max_connections", formula, "immediate"))
    expect_parameters(stubber, configured(max_connections=formula))

    result = run({**ARGS, "parameters": {"max_connections": formula}}, capsys)

    assert result["parameters_changed"] == ["max_connections"]


def test_purge_resets_exactly_the_other_user_set_parameters(stubber: Stubber, api_calls: Calls, capsys) -> None:
    live = configured(character_set_server="utf8mb4", slow_query_log="1", performance_schema="1", long_query_time="2")
    expect_existing(stubber, live)
    expect_existing(stubber, live)
    stubber.add_response(
        "reset_db_parameter_group",
        {"DBParameterGroupName": NAME},
        {
            "DBParameterGroupName": NAME,
            "ResetAllParameters": False,
            "Parameters": [
                {"ParameterName": "long_query_time", "ApplyMethod": "immediate"},
                {"ParameterName": "performance_schema", "ApplyMethod": "pending-reboot"},
            ],
        },
    )
    expect_parameters(stubber, configured(character_set_server="utf8mb4", slow_query_log="1"))
    given = {"character_set_server": "utf8mb4", "slow_query_log": "ON"}

    kept = run({**ARGS, "parameters": given}, capsys)
    purged = run({**ARGS, "parameters": given, "purge_parameters": True}, capsys)

    assert kept["changed"] is False
    assert purged["changed"] is True
    assert purged["parameters_changed"] == ["long_query_time", "performance_schema"]
    assert purged["parameters_pending_reboot"] == ["performance_schema"]
    assert purged["parameters"] == {"character_set_server": "utf8mb4", "slow_query_log": "1"}
    assert mutating(api_calls) == ["ResetDBParameterGroup"]


def test_values_aws_does_not_report_back_fail_the_module(stubber: Stubber, capsys) -> None:
    """A modify that AWS accepts but does not apply is a failure, not a silent success."""
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, ("long_query_time", "5", "immediate"))
    expect_parameters(stubber, CONFIGURED)

    result = run({**ARGS, "parameters": {"long_query_time": 5}}, capsys)

    assert result["failed"] is True
    assert result["msg"] == (
        f"DB parameter group {NAME} does not report the values sent: long_query_time (wanted '5', found '2')"
    )


# --- check mode and diff ------------------------------------------------------------------


def test_check_mode_reads_only_and_reports_changed(stubber: Stubber, api_calls: Calls, capsys) -> None:
    expect_absent(stubber)
    expect_defaults(stubber)
    expect_existing(stubber, CONFIGURED)

    create = run(ARGS, capsys, check_mode=True)
    modify = run(
        {**ARGS, "parameters": {"performance_schema": 1}, "purge_parameters": True, "tags": {}}, capsys, check_mode=True
    )

    assert (create["changed"], modify["changed"]) == (True, True)
    assert create["parameters"] == {"character_set_server": "utf8mb4", "long_query_time": "2", "slow_query_log": "1"}
    assert modify["parameters_changed"] == [
        "character_set_server",
        "long_query_time",
        "performance_schema",
        "slow_query_log",
    ]
    assert modify["parameters_pending_reboot"] == ["performance_schema"]
    assert mutating(api_calls) == []


def test_diff_shows_the_parameters_before_and_after(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    expect_modify(stubber, ("long_query_time", "5", "immediate"))
    expect_parameters(stubber, configured(character_set_server="utf8mb4", slow_query_log="1", long_query_time="5"))

    result = run({**ARGS, "parameters": {**ARGS["parameters"], "long_query_time": 5}}, capsys, diff=True)

    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["parameters"] == {"character_set_server": "utf8mb4", "slow_query_log": "1", "long_query_time": "2"}
    assert after["parameters"] == {"character_set_server": "utf8mb4", "slow_query_log": "1", "long_query_time": "5"}
    assert {key: before[key] for key in ("family", "description", "tags")} == {
        key: after[key] for key in ("family", "description", "tags")
    }


def test_diff_of_a_create_starts_empty(stubber: Stubber, capsys) -> None:
    expect_absent(stubber)
    expect_defaults(stubber)

    result = run(ARGS, capsys, check_mode=True, diff=True)

    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["family"] == "mysql8.0"
    assert result["diff"]["after"]["parameters"] == {
        "character_set_server": "utf8mb4",
        "slow_query_log": "1",
        "long_query_time": "2",
    }


# --- AWS errors ---------------------------------------------------------------------------


def test_an_aws_error_becomes_a_failed_result_with_its_message(stubber: Stubber, capsys) -> None:
    expect_existing(stubber, CONFIGURED)
    stubber.add_client_error(
        "modify_db_parameter_group",
        service_error_code="InvalidParameterValue",
        service_message="Invalid parameter value: 5 for: long_query_time",
        http_status_code=400,
    )

    result = run({**ARGS, "parameters": {"long_query_time": 5}}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to set parameters ['long_query_time'] of {NAME}: ")
    assert result["msg"].endswith("Invalid parameter value: 5 for: long_query_time")
    assert result["error"]["code"] == "InvalidParameterValue"


def test_a_group_in_use_is_not_deleted_and_aws_says_why(stubber: Stubber, capsys) -> None:
    """moto deletes a group in use; AWS refuses, and the module passes its message on."""
    message = (
        f"One or more database instances are still members of this parameter group {NAME}, "
        "so the group cannot be deleted"
    )
    expect_group(stubber)
    stubber.add_client_error(
        "delete_db_parameter_group",
        service_error_code="InvalidDBParameterGroupState",
        service_message=message,
        http_status_code=400,
        expected_params={"DBParameterGroupName": NAME},
    )

    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to delete DB parameter group {NAME}: ")
    assert result["msg"].endswith(message)
    assert result["error"]["code"] == "InvalidDBParameterGroupState"
