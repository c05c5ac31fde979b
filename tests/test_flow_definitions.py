"""The flows as declared: every step reachable by a declared edge exists, the committed
diagrams are what the code generates, and the region rules they read are the bot's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import RegionSettings
from flows.catalog import FLOWS
from flows.context import Region, RegionRules
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


def test_the_bots_region_settings_are_the_rules_the_flows_read() -> None:
    def rules(region: RegionRules) -> tuple:
        return (tuple(region.relationships), region.consent_age, region.minor_proof_required,
                region.verification_code_length)
    assert isinstance(RegionSettings(), RegionRules)
    assert rules(Region()) == rules(RegionSettings())   # Region, for tests and tools, starts from the same
