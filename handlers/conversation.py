"""Run one message through the user's conversation: load (under the user's lock, taken by the
webhook), ask to resume after the idle window, step the engine, run its effects through the
binding service, act on finished flows, save. Returns the replies to send."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from flows import texts
from flows.catalog import ENGINE
from flows.context import Context, User
from flows.engine import Conversation, Effect, EffectDone, Event, Outcome, Start
from handlers.ports import CountMilestones, DraftStore, FollowUp, IdentityStore, RunEffect, Session, Settings


@dataclass
class Conversations:
    store: DraftStore
    identities: IdentityStore
    run_effect: RunEffect           # the binding service, within the bot's limits (bot/binding/guard.py)
    follow_up: FollowUp             # a submission's decision to wait for, an unbinding's to record
    settings: Settings
    count_milestones: CountMilestones = lambda milestones, session=None: None
    clock: Callable[[], float] = time.time
    subscribe_link: str = ""        # the subscribe page, when a binding's result goes out as a subscription notice

    def handle(self, openid: str, event: Event | None = None, start: str | None = None,
               session: Session | None = None) -> list[str]:
        """The replies to one message (`event`), or to a menu click that starts flow `start`;
        `session`: the user's records read with the message (none outside a message)."""
        conv, rev = self.store.load(openid, session)
        now = self.clock()
        identity = self.identities.get(openid, session)  # read once per message; replaced when verification links it
        ctx = self._context(identity, now)
        if start is not None:
            outcome = self._run(openid, identity, conv, Start(start, ENGINE.start_data(start, None, ctx)), ctx, session)
        elif conv.active and now - conv.updated_at > self.settings.conversation.idle_minutes * 60 \
                and conv.confirming in (None, "clarify"):
            outcome = ENGINE.ask_to_resume(conv)
        else:
            outcome = self._run(openid, identity, conv, event, ctx, session)
        outcome = self._hand_over(openid, outcome, now, session)
        conversation = outcome.conversation
        if conversation.active:
            conversation = replace(conversation, updated_at=now)
        if conversation != conv:   # small talk and answers outside any flow change nothing: no write
            self.store.save(openid, conversation, rev, session)
        self.count_milestones(outcome.milestones, session=session)  # once saved: a stale save counts nothing
        return list(outcome.replies)

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
    def _run(self, openid: str, identity: dict[str, Any] | None, conv: Conversation, event: Event,
             ctx: Context, session: Session | None) -> Outcome:
        """The engine on one event, its effects run through the binding service within the bot's
        limits; what an effect leaves to follow up on (a decision to wait for) is noted at once."""
        def perform(effect: Effect) -> EffectDone:
            done = self.run_effect(effect, openid, identity["person_id"] if identity else None, session=session)
            if done.ok:
                self.follow_up(openid, effect.name, done.value, ctx.now, effect.args, session=session)
            return done
        return ENGINE.run(conv, event, ctx, perform)

    def _hand_over(self, openid: str, outcome: Outcome, now: float, session: Session | None) -> Outcome:
        """What a finished flow leaves to the handler: a verification links the account to the
        person, then starts the service that asked for it; 退出验证 (forget_identity) unlinks."""
        result = outcome.result or {}
        if outcome.finished == ENGINE.verify_flow and result:
            identity = self._link(openid, result, now, session)
            then = result.get("then")
            if not then:
                return outcome
            started = Start(then, result.get("then_data") or {})
            return outcome.followed_by(
                self._run(openid, identity, outcome.conversation, started, self._context(identity, now), session))
        if outcome.finished and result.get("forget_identity"):
            self.identities.unlink(openid, session)
        return outcome

    def _link(self, openid: str, result: Mapping[str, Any], now: float, session: Session | None) -> dict[str, Any]:
        here = datetime.fromtimestamp(now, self.settings.region.zone)
        linked = self.identities.link(openid, result["person"], result["id_number"], here.date(), session)
        if linked.elsewhere:
            # The person is now linked from a second WeChat account: the first one hears of it.
            self.identities.tell(linked.elsewhere, texts.LINKED_ELSEWHERE.format(
                name=linked.record["masked_name"], at=here.strftime(texts.DAY_AND_TIME)), session)
        return linked.record

    def _context(self, identity: dict[str, Any] | None, now: float) -> Context:
        today = datetime.fromtimestamp(now, self.settings.region.zone).date()   # the region's, not the machine's
        return Context(now=now, today=today, region=self.settings.region,
                       user=self._user(identity, now), hash_id_number=self.identities.digest,
                       fresh_id=uuid.uuid4().hex, subscribe_link=self.subscribe_link)

    def _user(self, identity: dict[str, Any] | None, now: float) -> User:
        """The flows' view of the user's identity link (bot/conversations/identities.py)."""
        if not identity:
            return User()
        fresh = now - identity.get("verified_at", 0) <= self.settings.conversation.fresh_minutes * 60
        birth_date = identity.get("birth_date")
        return User(verified=True, fresh=fresh, person_id=identity.get("person_id"),
                    birth_date=date.fromisoformat(birth_date) if birth_date else None,
                    id_digest=identity.get("id_digest", ""))
