"""The flows as declared: every step reachable by a declared edge exists, and the committed
diagrams are what the code generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.catalog import FLOWS
from flows.diagram import document
from flows.engine import Ask, Do

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("flow", FLOWS.values(), ids=lambda f: f.id)
def test_every_declared_target_exists(flow) -> None:
    assert flow.first in flow.steps
    for step in flow.steps.values():
        assert step.id in flow.steps and flow.steps[step.id] is step
        if isinstance(step, (Ask, Do)):
            assert step.targets, f"{flow.id}.{step.id} declares no next step"
            for target in step.targets:
                assert target in flow.steps, f"{flow.id}.{step.id} -> {target} does not exist"


@pytest.mark.parametrize("flow", FLOWS.values(), ids=lambda f: f.id)
def test_committed_diagram_matches_the_code(flow) -> None:
    committed = (ROOT / "docs" / "flows" / f"{flow.id}.md").read_text(encoding="utf-8")
    assert committed == document(flow), "run: wxbot flows diagram"
