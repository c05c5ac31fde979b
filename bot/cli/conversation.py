"""`wxbot conversation show | reset OPENID`: one user's draft, masked, for the stuck-user runbook."""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import click
import redis

from bot.cli.settings import config_option
from bot.config import Settings
from bot.conversations.identities import Identities
from bot.conversations.store import ConversationStore, StaleConversation
from bot.store.keys import Keys
from flows.domain.identity import mask_id_number, mask_name, mask_phone
from flows.engine import Conversation

# What a draft's fields hold, for showing them masked. Anything not named here shows as "(filled)".
NAME_FIELDS = frozenset({"name", "member_name"})
ID_NUMBER_FIELDS = frozenset({"id_number", "member_id"})     # member_id: {"value": the number, …}
PHONE_FIELDS = frozenset({"masked_phone"})
PLAIN_FIELDS = frozenset({"relationship", "age_confirmed", "pledge", "confirmed", "sure", "agree", "chosen",
                          "then", "status", "reason"})       # choices and yes/no answers: no personal data
_LONG_NUMBER = re.compile(r"\d{5,}")


def masked(field: str, value: Any) -> str:
    """A draft's value as an operator may see it: 王**, 3301**********0428, 138****5678."""
    if field in NAME_FIELDS and isinstance(value, str):
        return mask_name(value)
    if field in ID_NUMBER_FIELDS:
        number = value.get("value", "") if isinstance(value, dict) else value
        return mask_id_number(str(number))
    if field in PHONE_FIELDS and isinstance(value, str):
        return value if "*" in value else mask_phone(value)
    if field in PLAIN_FIELDS and isinstance(value, (str, bool, int)) and not _LONG_NUMBER.search(str(value)):
        return str(value)
    return "(filled)"


@dataclass
class _User:
    settings: Settings
    client: redis.Redis
    keys: Keys
    store: ConversationStore
    identities: Identities


@contextlib.contextmanager
def _user(config_path: str | None) -> Iterator[_User]:
    from bot.cli.settings import settings_or_exit
    from bot.logs import configure_for
    from bot.store.client import connect
    from bot.store.server import redis_for

    with redis_for(settings_or_exit(config_path)) as settings:
        configure_for(settings)  # user_ref keyed as the webhook keys it
        client = connect(settings.redis)
        keys = Keys.of(settings)
        secret = settings.conversation.secret_key
        yield _User(settings, client, keys,
                    ConversationStore(client, keys, secret, ttl=settings.conversation.expire_hours * 3600),
                    Identities(client, keys, secret, days=settings.conversation.identity_days))


_USER_REF = re.compile(r"[0-9a-f]{12}")


def _openid_or_exit(user: _User, who: str) -> str:
    """The openid itself, or the openid behind a user_ref from the logs (found by scanning the
    users' keys); one line and exit 1 for someone unknown."""
    from bot.logs import user_ref

    keys = user.keys
    records = [keys.conversation, keys.identity, keys.pending_notices]
    if user.client.exists(*(record(who) for record in records)):
        return who
    if _USER_REF.fullmatch(who):
        for record in ("draft", "identity", "notices"):
            # Every node's keys on a cluster: the cluster client's SCAN visits each master.
            for key in user.client.scan_iter(match=keys.user_records(record), count=1000):
                openid = keys.openid_in(key.decode())
                if user_ref(openid) == who:
                    return openid
    click.echo(f"unknown openid: no conversation, identity or waiting notices for {who}", err=True)
    sys.exit(1)


@click.group()
def conversation() -> None:
    """One user's conversation: look at it masked, or delete it (the stuck-user runbook)."""


@conversation.command()
@config_option
@click.argument("who", metavar="OPENID")
def show(config_path: str | None, who: str) -> None:
    """Print the user's draft (masked), verified identity and waiting notices. OPENID may also be
    the user_ref the logs show for them."""
    from bot.logs import user_ref
    from flows.catalog import FLOWS

    with _user(config_path) as user:
        openid = _openid_or_exit(user, who)
        keys, now = user.keys, time.time()
        conv, rev = user.store.load(openid)
        ttl = user.client.ttl(keys.conversation(openid))
        click.echo(f"user_ref   {user_ref(openid)}")
        if conv.active:
            flow = FLOWS.get(conv.flow)
            click.echo(f"draft      rev {rev}, deleted in {_duration(ttl)} unless the user goes on")
            click.echo(f"flow       {conv.flow}{f' ({flow.title})' if flow else ' (no longer exists)'}, "
                       f"step {conv.step}, attempts {conv.retries}, confirming {conv.confirming or '-'}")
            click.echo(f"updated    {_when(conv.updated_at, now, user.settings.region.zone)}")
            click.echo(f"filled     {_fields(conv)}")
        else:
            click.echo(f"draft      none{f' (rev {rev}: the last flow ended)' if rev else ''}")
        for draft in conv.paused:
            click.echo(f"paused     {draft.flow} at {draft.step}, updated {_when(draft.updated_at, now, user.settings.region.zone)}: "
                       f"{_fields(draft)}")
        identity = user.identities.get(openid)
        if identity:
            click.echo(f"identity   verified: {identity['masked_name']} {identity['masked_id_number']}")
        elif user.client.exists(keys.identity(openid)):
            click.echo("identity   unreadable (conversation.secret_key changed): the user verifies again")
        else:
            click.echo("identity   not verified")
        click.echo(f"notices    {user.client.llen(keys.pending_notices(openid))} waiting for the next visit")
        lock, queued = user.client.pttl(keys.user_lock(openid)), user.client.llen(keys.user_queue(openid))
        click.echo(f"lock       {f'held, expires in {lock / 1000:.1f} s' if lock > 0 else 'free'}"
                   + (f", {queued} message(s) waiting behind it" if queued else ""))


@conversation.command()
@config_option
@click.argument("who", metavar="OPENID")
@click.option("--identity", is_flag=True, help="Also unlink the verified identity (the user verifies again).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(config_path: str | None, who: str, identity: bool, yes: bool) -> None:
    """Delete the user's draft (and its paused drafts): their next message starts afresh. OPENID
    may also be the user_ref the logs show for them."""
    with _user(config_path) as user:
        openid = _openid_or_exit(user, who)
        conv, rev = user.store.load(openid)
        what = [f"the draft ({conv.flow} at {conv.step}, {len(conv.paused)} paused)"] if conv.active or conv.paused \
            else []
        if identity:
            what.append("the verified identity")
        if not what:
            click.echo("nothing to delete: no draft (add --identity to unlink the verified identity)")
            return
        if not yes:
            click.confirm(f"Delete {' and '.join(what)}?", abort=True)
        if conv.active or conv.paused:
            try:
                user.store.clear(openid, rev)  # keeps the revision: a handler running now cannot write it back
            except StaleConversation:
                click.echo("the user's draft changed meanwhile (a message came in): look again and retry", err=True)
                sys.exit(1)
        if identity:
            user.identities.unlink(openid)
        click.echo(f"deleted {' and '.join(what)}")


def _fields(conv: Conversation) -> str:
    return "  ".join(f"{field}={masked(field, value)}" for field, value in conv.data.items()) or "-"


def _when(timestamp: float, now: float, zone: tzinfo) -> str:
    if not timestamp:
        return "-"
    return f"{datetime.fromtimestamp(timestamp, zone):%Y-%m-%d %H:%M:%S} ({_duration(now - timestamp)} ago)"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 0:
        return "-"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
