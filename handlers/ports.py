"""What the handlers need from the outside world, as protocols: the bot (bot/) supplies the real
ones — Redis stores, the binding service behind the guard, metrics — and the handlers import
nothing from it. Tests may supply in-memory ones.

Dependencies run one way, bot → handlers → flows (import-linter checks it in `make test`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from flows.context import RegionRules
from flows.engine import Conversation, Effect, EffectDone, Milestone


class Session(Protocol):
    """One message's view of its user, read when the message was admitted under the user's lock
    (bot/store/session.py). The handlers only pass it on to the stores, which keep it current."""
    openid: str


class DraftStore(Protocol):
    """Each user's conversation, revision-checked (bot/conversations/store.py)."""
    def load(self, openid: str, session: Session | None = None) -> tuple[Conversation, int]: ...
    def save(self, openid: str, conversation: Conversation, rev: int, session: Session | None = None) -> int: ...
    def delete(self, openid: str, session: Session | None = None) -> None: ...


class Linked(Protocol):
    record: dict[str, Any]
    elsewhere: str | None    # another account the person was linked from until now


class IdentityStore(Protocol):
    """Which insured person each account has proven to be (bot/conversations/identities.py)."""
    def get(self, openid: str, session: Session | None = None) -> dict[str, Any] | None: ...
    def link(self, openid: str, person: dict[str, Any], id_number: str, today: date,
             session: Session | None = None) -> Linked: ...
    def unlink(self, openid: str, session: Session | None = None) -> None: ...
    def tell(self, openid: str, text: str, session: Session | None = None) -> None: ...
    def digest(self, id_number: str) -> str: ...


class Notices(Protocol):
    """Notifications that wait for the user's next message (bot/notify/records.py)."""
    def take_pending(self, openid: str, session: Session | None = None) -> list[str]: ...
    def delivery_report(self, msgid: str, status: str) -> str | None: ...


class Subscriptions(Protocol):
    """What users said to the subscription notices (订阅通知), from WeChat's events
    (bot/notify/subscription_records.py)."""
    def popup(self, openid: str, choices: Mapping[str, str]) -> None: ...   # template id → accept | reject
    def changed(self, openid: str, choices: Mapping[str, str]) -> None: ...  # likewise, from the notice's settings
    def sent(self, openid: str, results: Mapping[str, str]) -> None: ...     # template id → a send's ErrorStatus


class ConversationSettings(Protocol):
    idle_minutes: int
    fresh_minutes: int


class MenuButton(Protocol):
    name: str
    sub_button: Sequence[MenuButton]


class Menu(Protocol):
    button: Sequence[MenuButton]


class Settings(Protocol):
    """The settings the handlers read (bot/config.py Settings has them all)."""
    conversation: ConversationSettings
    region: RegionRules   # passed on to the flows in the Context
    menu: Menu


class RunEffect(Protocol):
    """An effect's outcome: the binding service, within the bot's limits. `session`: the message's
    (a step tried on the request thread is handed over before the call leaves the process)."""
    def __call__(self, effect: Effect, openid: str, person_id: str | None, *,
                 session: Session | None = None) -> EffectDone: ...
class FollowUp(Protocol):
    """What the bot must follow up on after an effect (a decision to wait for, whom to tell of
    it): the effect's name, the bureau's answer (`value`) and the effect's arguments (`args`)."""
    def __call__(self, openid: str, effect: str, value: dict[str, Any], now: float, args: dict[str, Any], *,
                 session: Session | None = None) -> None: ...
class CountMilestones(Protocol):
    """The milestones of one message, counted once its conversation is saved (the metrics)."""
    def __call__(self, milestones: Iterable[Milestone], *, session: Session | None = None) -> None: ...
