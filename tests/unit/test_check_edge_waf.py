"""scripts/check_edge_waf.py: the project's roles pass, every bad fixture fails for its own reason."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "policies" / "fixtures" / "waf"
BAD_CASES = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir() and not path.name.startswith("pass"))


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_edge_waf", ROOT / "scripts" / "check_edge_waf.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check_edge_waf = load_script()


def test_project_roles_and_playbooks_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_edge_waf.main([]) == 0
    out = capsys.readouterr().out
    assert "roles/shared_edge/tasks/alb.yml" in out, "the shared_edge role's internet-facing ALB must be found"
    assert "0 problems" in out


def test_project_finds_only_the_edge_alb() -> None:
    albs, problems = check_edge_waf.check([ROOT / "roles", ROOT / "playbooks"])
    assert problems == []
    # The compute role's internal ALB and the teardown tasks are not public ALB tasks.
    assert [(alb.path.relative_to(ROOT).as_posix(), alb.register) for alb in albs] == [
        ("roles/shared_edge/tasks/alb.yml", "__shared_edge_alb")
    ]


def test_good_fixture_passes() -> None:
    albs, problems = check_edge_waf.check([FIXTURES / "pass"])
    assert problems == []
    assert len(albs) == 2  # the role's ALB and the playbook's; the internal ALB is not one


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_fixture_fails_for_its_reason(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = check_edge_waf.expected_problem(FIXTURES / case)
    assert expected, f"{case} has no `# expect:` comment"
    assert check_edge_waf.main([str(FIXTURES / case)]) == 1
    out = capsys.readouterr().out
    assert expected in out
    assert "FAILED WAF" in out


def test_required_bad_cases_exist() -> None:
    assert {"no_association", "association_absent", "no_web_acl"} <= set(BAD_CASES)


def test_fixtures_mode_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_edge_waf.main(["--fixtures", str(FIXTURES)]) == 0
    assert f"{len(BAD_CASES)} of {len(BAD_CASES)} bad fixtures failed as intended" in capsys.readouterr().out


def test_fixtures_mode_fails_when_a_case_stops_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "no_association" / "roles" / "edge" / "tasks"
    case.mkdir(parents=True)
    for name in ("alb.yml", "waf.yml"):
        (case / name).write_text((FIXTURES / "pass" / "roles" / "edge" / "tasks" / name).read_text())
    (case / "waf.yml").write_text("# expect: no wafv2_web_acl_association task in\n" + (case / "waf.yml").read_text())
    good = tmp_path / "pass" / "roles" / "edge" / "tasks"
    good.mkdir(parents=True)
    (good / "alb.yml").write_text((FIXTURES / "pass" / "roles" / "edge" / "tasks" / "alb.yml").read_text())
    assert check_edge_waf.main(["--fixtures", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "no_association: expected a problem" in out
    assert "pass (good fixture)" in out


def test_missing_directory_fails(tmp_path: Path) -> None:
    assert check_edge_waf.main([str(tmp_path / "nowhere")]) == 1
