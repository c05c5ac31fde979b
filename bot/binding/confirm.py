"""A callback's decision is a claim; the bureau's own record is the truth. Before anyone is told,
the claim is checked against the bureau's status call: the application's (`application`) for
`application.decided`, the binding's (`binding`) for `binding.ended` and `binding.terminated`.

A decision is confirmed when the bureau says the same thing now: the application has that status
(and that binding, when the decision names one); the binding has that status and belongs to that
application. Anything else is unconfirmed, for one of `REASONS`:

- `not_decided`: the bureau has the application still waiting (consent, review) or the binding
  still active — a forgery, or a callback sent before the bureau's own record caught up (the
  reconciler records such an application's decision once the bureau's status says so);
- `status_differs`: the bureau decided otherwise (or the kind and status do not go together);
- `binding_differs`: the application led to another binding;
- `application_differs`: the binding belongs to another application (whose owner would be told);
- `unknown`: the bureau knows no such application or binding, or refused to say.

What is recorded (and told) is the bureau's version: a claim's reason or time is never shown.

`ServiceUnavailable` is not an answer: it propagates, and the callback asks the bureau to retry.
The reconciler and the bot's own unbinding need no check: what they record is what the bureau
itself answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.binding import errors as e
from bot.binding.models import Decision
from bot.binding.service import BindingService

REASONS = ("not_decided", "status_differs", "binding_differs", "application_differs", "unknown")

_STATUSES = {"application.decided": {"approved", "rejected"}, "binding.ended": {"ended"},
             "binding.terminated": {"terminated"}}
_UNDECIDED = {"pending_consent", "under_review", "active"}


@dataclass(frozen=True)
class Unconfirmed:
    reason: str                # one of REASONS
    bureau_status: str = ""    # what the bureau's record says instead ('' when it said nothing)


def confirmed(service: BindingService, decision: Decision) -> Decision | Unconfirmed:
    """The decision as the bureau's own record tells it (its reason, binding and time, never the
    claim's), or why the bureau does not confirm it. Raises ServiceUnavailable when the bureau
    cannot be asked."""
    try:
        if decision.kind == "application.decided":
            application = service.application(decision.application_id)
            status, differs = application.status.value, (
                "binding_differs" if decision.binding_id and decision.binding_id != application.binding_id else None)
            told = decision.model_copy(update={"reason": application.reason, "binding_id": application.binding_id,
                                               "decided_at": application.decided_at or decision.decided_at})
        elif decision.binding_id:
            member = service.binding(decision.binding_id)
            # The decision's application says whom to tell: the binding must be that application's.
            status, differs = member.status.value, (
                "application_differs" if member.application_id != decision.application_id else None)
            # An automatic end says why in the domain's words; a party's end says which party.
            reason = e.RelationshipTerminated.code if status == "terminated" else member.end_reason
            told = decision.model_copy(update={"reason": reason, "decided_at": member.ended_at or decision.decided_at})
        else:
            return Unconfirmed("unknown")  # the end of a binding that it does not name
    except e.ServiceUnavailable:
        raise
    except e.BindingError:
        return Unconfirmed("unknown")
    if status != decision.status or status not in _STATUSES[decision.kind]:
        return Unconfirmed("not_decided" if status in _UNDECIDED else "status_differs", status)
    if differs:
        return Unconfirmed(differs, status)
    return told
