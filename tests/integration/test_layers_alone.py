"""Each layer run alone on the deployed environments (the shared deployment, stack.py, step layers-alone).

A layer reads what it needs from the layers before it through their published
outputs (SSM parameters under /<prefix>/<layer>/), never through another
role's variables or facts, so it runs alone as well as in a full provision:
each layer alone, and each layer selection README.md shows, is a no-op on a
deployed environment. Staging runs with the stock strategy, prod with the
project's default.
"""

from __future__ import annotations

import pytest

from .conftest import changed_tasks, mutating
from .stack import LAYERS, Stack, alone_run_name, layer_selections, readme_layer_selections

pytestmark = pytest.mark.integration

RUNS = [
    pytest.param(env, layers, id=f"{env}-{'-'.join(layers)}")
    for env in ("staging", "prod")
    for layers in layer_selections()
]


def test_every_layer_and_every_readme_selection_is_run_alone() -> None:
    shown = readme_layer_selections()
    assert shown, "README.md shows no provision_layers example: the pattern in stack.py no longer finds them"
    assert ["edge", "compute"] in shown
    selections = layer_selections()
    assert [[layer] for layer in LAYERS] == selections[: len(LAYERS)]
    assert all(found in selections for found in shown)


@pytest.mark.stack("layers-alone")
@pytest.mark.parametrize(("env", "layers"), RUNS)
def test_a_layer_alone_succeeds(stack: Stack, env: str, layers: list[str]) -> None:
    run = stack.runs[alone_run_name(env, layers)]
    assert run.returncode == 0, run.output[-4000:]


@pytest.mark.stack("layers-alone")
@pytest.mark.parametrize(("env", "layers"), RUNS)
def test_a_layer_alone_changes_nothing(stack: Stack, env: str, layers: list[str]) -> None:
    run = stack.runs[alone_run_name(env, layers)]
    changed = [task for layer in layers for task in changed_tasks(run.output, layer)]
    assert run.changed == 0, changed or run.output[-4000:]


@pytest.mark.stack("layers-alone")
@pytest.mark.parametrize(("env", "layers"), RUNS)
def test_a_layer_alone_sends_no_mutating_call(stack: Stack, env: str, layers: list[str]) -> None:
    run = stack.runs[alone_run_name(env, layers)]
    assert run.requests, "the run sent no request at all"
    assert mutating(run.requests) == []


@pytest.mark.stack("layers-alone")
def test_the_guarded_edge_reads_its_upstream_outputs_with_one_request_each(stack: Stack) -> None:
    # The shared edge's outputs and the identity layer's, then its own (to compare before
    # publishing): one GetParametersByPath each, each path fitting one page.
    run = stack.runs[alone_run_name("staging", ["edge"])]
    reads = [request for request in run.requests if request["action"] == "GetParametersByPath"]
    assert len(reads) == 3, reads


@pytest.mark.stack("layers-alone")
def test_the_edge_refuses_a_guarded_environment_whose_identity_outputs_are_missing(stack: Stack) -> None:
    run = stack.runs["alone-prod-edge-unpublished-identity"]
    flat = " ".join(run.output.split())
    assert run.returncode != 0, run.output[-4000:]
    assert "/webstack-prod/identity/user-pool-arn" in flat, run.output[-4000:]
    assert "Run the identity layer first" in flat
    assert run.changed == 0
    assert mutating(run.requests) == []
