"""`wxbot worker` and `wxbot notify …` (dead letters)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from bot.cli.settings import config_option

if TYPE_CHECKING:
    from bot.notify.queue import NotificationQueue
    from bot.notify.records import NotificationRecords

PREFIX = "notify-"   # how dead letters are listed; `retry` takes the id with or without it


@click.command()
@config_option
@click.option("--burst", is_flag=True, help="Send what waits now, then exit.")
@click.option("--metrics-bind", metavar="HOST:PORT", default=None,
              help="Serve Prometheus metrics (notification outcomes) at http://HOST:PORT/metrics.")
def worker(config_path: str | None, burst: bool, metrics_bind: str | None) -> None:
    """Send notifications: read the decisions stream, send on sender threads, retry, keep dead letters."""
    import os

    from bot.cli.settings import log_start_warnings, redis_checked_or_exit, serving_settings_or_exit
    from bot.store.server import redis_for

    settings = serving_settings_or_exit(config_path)
    log_start_warnings(settings)
    redis_checked_or_exit(settings)
    # One process, its sender threads: its counts live in its own registry (an inherited
    # multiprocess directory, e.g. from `wxbot run`'s gunicorn, is not this process's to write).
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from bot.notify.worker import run_worker  # imports bot.metrics: after the variable is gone

    with redis_for(settings) as settings:
        run_worker(settings, burst=burst, metrics_bind=metrics_bind)


@click.group()
def notify() -> None:
    """Notifications that could not be sent (dead letters)."""


@contextlib.contextmanager
def _dead_letters(config_path: str | None) -> Iterator[tuple[NotificationQueue, NotificationRecords]]:
    from bot.cli.settings import settings_or_exit
    from bot.notify.queue import NotificationQueue
    from bot.notify.records import NotificationRecords
    from bot.store.client import connect
    from bot.store.keys import Keys
    from bot.store.server import redis_for

    with redis_for(settings_or_exit(config_path)) as settings:
        client = connect(settings.redis)
        yield NotificationQueue(client, settings), NotificationRecords(client, Keys.of(settings))


@notify.command()
@config_option
def dead(config_path: str | None) -> None:
    """List notifications that failed every attempt (or met an error trying again cannot mend), and
    any pause for WeChat's quota in force."""
    from datetime import datetime

    from bot.notify.send import APIS

    with _dead_letters(config_path) as (queue, records):
        zone = queue.settings.region.zone
        for api in APIS:
            paused = queue.paused(api)
            if paused is not None:
                click.echo(f"sends through {api} paused until "
                           f"{datetime.fromtimestamp(paused.until, zone):%Y-%m-%d %H:%M:%S} ({zone}): {paused.reason}")
        ids = queue.dead()
        for notification_id in ids:
            record = records.get(notification_id) or {}
            click.echo(f"{PREFIX}{notification_id}  attempts {record.get('attempts', '?')}  "
                       f"last error: {record.get('last_error', '?')}")
        click.echo(f"{len(ids)} dead")


@notify.command()
@config_option
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Retry every dead notification.")
def retry(config_path: str | None, ids: tuple[str, ...], everything: bool) -> None:
    """Queue dead notifications again, each with all its attempts (ids as `notify dead` lists them)."""
    with _dead_letters(config_path) as (queue, _):
        targets = queue.dead() if everything else [name.removeprefix(PREFIX) for name in ids]
        if not targets:
            raise click.UsageError("name the notifications (see `wxbot notify dead`) or pass --all")
        unknown, expired = [], []
        for notification_id in targets:
            # A fresh start: its attempts count towards notifications.max_attempts again.
            revived = queue.revive(notification_id)
            if revived == 1:
                click.echo(f"requeued {PREFIX}{notification_id}")
            elif revived == 0:
                unknown.append(f"{PREFIX}{notification_id}")
            else:
                expired.append(f"{PREFIX}{notification_id}")
        if expired:
            click.echo(f"dropped, their records have expired: {', '.join(expired)}", err=True)
        if unknown:
            click.echo(f"not dead notifications (see `wxbot notify dead`): {', '.join(unknown)}", err=True)
            sys.exit(1)
