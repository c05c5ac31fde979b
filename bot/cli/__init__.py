"""The `wxbot` command: one group, its commands in this package's modules (local.py: the service
and the local stand-ins; deploy.py: a deployment's secrets and health probe; binding.py, notify.py, menu.py,
conversation.py, store.py: the operators' tools),
the settings they share in settings.py."""

from __future__ import annotations

import click

from bot.cli.binding import binding, sandbox
from bot.cli.conversation import conversation
from bot.cli.deploy import make_secrets, probe
from bot.cli.local import chat, check_config, flows, keygen, run, say, serve
from bot.cli.menu import menu
from bot.cli.notify import notify, worker
from bot.cli.store import redis_group


@click.group()
def main() -> None:
    """WeChat official-account service for medical-insurance family mutual aid."""


for command in (check_config, keygen, make_secrets, probe, serve, run, say, chat, flows, sandbox, binding, worker, notify,
                menu, conversation, redis_group):
    main.add_command(command)
