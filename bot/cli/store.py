"""`wxbot redis`: the operators' tools for the bot's Redis data (bot/store/)."""

from __future__ import annotations

import sys

import click

from bot.cli.settings import config_option, settings_or_exit


@click.group("redis")
def redis_group() -> None:
    """The bot's Redis data."""


@redis_group.command()
@config_option
@click.option("--from", "source_url", default=None,
              help="The Redis holding the old layout, when it is not the configured one (e.g. moving to a cluster).")
@click.option("--dry-run", is_flag=True, help="Count what would be moved; change nothing.")
@click.option("--force", is_flag=True, help="Even while a worker's heartbeat is fresh (it may be a dead one's).")
def migrate(config_path: str | None, source_url: str | None, dry_run: bool, force: bool) -> None:
    """Move the keys written before their hash tags (the layout until commit 2ddcf01) to their new names (docs/operations.md, Redis).
    Stop `serve` and `worker` first. On the same Redis the keys are renamed; from `--from` they are
    copied (the source is left as it was)."""
    from bot.notify.worker import WORKER_TTL
    from bot.store.client import connect
    from bot.store.keys import Keys
    from bot.store.migrate import live_workers
    from bot.store.migrate import migrate as move
    from bot.store.server import redis_for

    with redis_for(settings_or_exit(config_path)) as settings:
        if source_url is None and settings.redis.mode == "cluster":
            click.echo("redis migrate: the old layout never ran on a cluster; give the Redis it is on: --from URL",
                       err=True)
            sys.exit(2)
        target = connect(settings.redis)
        source = target if source_url is None else connect(
            settings.redis.model_copy(update={"mode": "single", "url": source_url}))
        keys = Keys.of(settings)
        beating = live_workers(source, keys, WORKER_TTL)
        if beating and not dry_run and not force:
            # A worker writing meanwhile would recreate the decisions stream under its new name.
            click.echo(f"redis migrate: {beating} worker(s) running (heartbeat under {WORKER_TTL} s); "
                       "stop every `wxbot serve` and `wxbot worker` first", err=True)
            sys.exit(1)
        report = move(source, target, keys, same_server=source_url is None, dry_run=dry_run)
        for line in report.lines():
            click.echo(line)
        moved = sum(report.moved.values())
        click.echo(f"{'would move' if dry_run else 'moved'} {moved} keys"
                   + (f"; {sum(report.there.values())} already there" if report.there else "")
                   + (f"; {len(report.conflicts)} kept (their new names exist)" if report.conflicts else ""))
        if report.conflicts:
            sys.exit(1)
