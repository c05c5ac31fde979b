"""Run one message through the user's conversation: load (under the user's lock, taken by the
webhook), ask to resume after the idle window, step the engine, run its effects through the
binding service, act on finished flows, save. Returns the replies to send."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from flows import texts
from flows.catalog import ENGINE
from flows.context import Context, User
from flows.engine import Event, Milestone, Outcome, Start
from handlers.ports import CountMilestones, DraftStore, FollowUp, IdentityStore, RunEffect, Session, Settings

MAX_EFFECTS = 5  # effects per message; a flow never chains more, this only guards against a loop


@dataclass
class Conversations:
    store: DraftStore
    identities: IdentityStore
    run_effect: RunEffect           # the binding service, within the bot's limits (bot/binding/guard.py)
    follow_up: FollowUp             # a submission's decision to wait for, an unbinding's to record
    settings: Settings
    count_milestones: CountMilestones = lambda milestones: None
    clock: Callable[[], float] = time.time

    def handle(self, openid: str, event: Event | None = None, start: str | None = None,
               session: Session | None = None) -> list[str]:
        """The replies to one message (`event`), or to a menu click that starts flow `start`;
        `session`: the user's records read with the message (none outside a message)."""
        conv, rev = self.store.load(openid, session)
        now = self.clock()
        identity = self.identities.get(openid, session)  # read once per message; replaced when verification links it
        ctx = self._context(identity, now)
        if start is not None:
            outcome = ENGINE.handle(conv, Start(start, ENGINE.start_data(start, None, ctx)), ctx)
        elif conv.active and now - conv.updated_at > self.settings.conversation.idle_minutes * 60 \
                and conv.confirming in (None, "clarify"):
            outcome = ENGINE.ask_to_resume(conv)
        else:
            outcome = ENGINE.handle(conv, event, ctx)
        replies, outcome, milestones = self._settle(openid, identity, outcome, now, session)
        conversation = outcome.conversation
        if conversation.active:
            conversation = replace(conversation, updated_at=now)
        if conversation != conv:   # small talk and answers outside any flow change nothing: no write
            self.store.save(openid, conversation, rev, session)
        self.count_milestones(milestones)  # counted once saved: a stale save counts nothing
        return replies

    def forget(self, openid: str, session: Session | None = None) -> None:
        """The user unfollowed: delete their draft and their verified identity."""
        self.store.delete(openid, session)
        self.identities.unlink(openid, session)

    def active_flow(self, openid: str, session: Session | None = None) -> str | None:
        return self.store.load(openid, session)[0].flow

    def active_title(self, openid: str, session: Session | None = None) -> str | None:
        flow = ENGINE.flows.get(self.active_flow(openid, session) or "")
        return flow.title if flow else None

    # -- internals ---------------------------------------------------------------------------
    def _settle(self, openid: str, identity: dict[str, Any] | None, outcome: Outcome,
                now: float, session: Session | None) -> tuple[list[str], Outcome, list[Milestone]]:
        """Run effects and follow finished flows until the engine waits for the user."""
        replies, milestones = list(outcome.replies), list(outcome.milestones)
        for _ in range(MAX_EFFECTS):
            if outcome.effects:
                [effect] = outcome.effects
                done = self.run_effect(effect, openid, identity["person_id"] if identity else None)
                if done.ok:
                    self.follow_up(openid, effect.name, done.value, now)
                outcome = ENGINE.handle(outcome.conversation, done, self._context(identity, now))
                replies += outcome.replies
                milestones += outcome.milestones
            elif outcome.finished == ENGINE.verify_flow and outcome.result:
                linked = self.identities.link(openid, outcome.result["person"], outcome.result["id_number"],
                                              datetime.fromtimestamp(now).date(), session)
                identity = linked.record
                if linked.elsewhere:
                    # The person is now linked from a second WeChat account: the first one hears of it.
                    self.identities.tell(linked.elsewhere, texts.LINKED_ELSEWHERE.format(
                        name=identity["masked_name"], at=datetime.fromtimestamp(now).strftime(texts.DAY_AND_TIME)))
                then = outcome.result.get("then")
                if not then:
                    break
                outcome = ENGINE.handle(outcome.conversation, Start(then, outcome.result.get("then_data") or {}),
                                        self._context(identity, now))
                replies += outcome.replies
                milestones += outcome.milestones
            elif outcome.finished and (outcome.result or {}).get("forget_identity"):
                self.identities.unlink(openid, session)
                identity = None
                break
            else:
                break
        return replies, outcome, milestones

    def _context(self, identity: dict[str, Any] | None, now: float) -> Context:
        return Context(now=now, today=datetime.fromtimestamp(now).date(), region=self.settings.region,
                       user=self._user(identity, now), hash_id_number=self.identities.digest,
                       fresh_id=uuid.uuid4().hex)

    def _user(self, identity: dict[str, Any] | None, now: float) -> User:
        """The flows' view of the user's identity link (bot/conversations/identities.py)."""
        if not identity:
            return User()
        fresh = now - identity.get("verified_at", 0) <= self.settings.conversation.fresh_minutes * 60
        birth_date = identity.get("birth_date")
        return User(verified=True, fresh=fresh, person_id=identity.get("person_id"),
                    birth_date=date.fromisoformat(birth_date) if birth_date else None,
                    id_digest=identity.get("id_digest", ""))
