"""Every flow, by its stable id."""

from flows import bind_member, consent, verify
from flows.engine import Engine, Flow

FLOWS: dict[str, Flow] = {flow.id: flow for flow in (verify.FLOW, bind_member.FLOW, consent.FLOW)}

# Flows that touch the user's insurance data: they need a verified identity first.
NEEDS_IDENTITY = frozenset({bind_member.FLOW_ID, consent.FLOW_ID})

ENGINE = Engine(FLOWS)
