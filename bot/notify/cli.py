"""`wxbot worker` and `wxbot notify …` (dead letters)."""

from __future__ import annotations

import contextlib
from typing import Iterator

import click
from rq import Queue
from rq.registry import FailedJobRegistry

from bot.binding.cli import config_option
from bot.config import Settings


@click.command()
@config_option
@click.option("--burst", is_flag=True, help="Dispatch and send what waits now, then exit.")
def worker(config_path: str | None, burst: bool) -> None:
    """Send notifications: run the job queue and the decision dispatcher."""
    from bot.cli import settings_or_exit
    from bot.notify.worker import run_worker
    from bot.server import redis_for

    with redis_for(settings_or_exit(config_path)) as settings:
        run_worker(settings, burst=burst)


@click.group()
def notify() -> None:
    """Notifications that could not be sent (dead letters)."""


@contextlib.contextmanager
def _dead_letters(config_path: str | None) -> Iterator[tuple[Settings, FailedJobRegistry]]:
    from bot.cli import settings_or_exit
    from bot.server import redis_for
    from bot.store.client import connect

    with redis_for(settings_or_exit(config_path)) as settings:
        client = connect(settings.redis)
        yield settings, FailedJobRegistry(queue=Queue(settings.notifications.queue, connection=client))


@notify.command()
@config_option
def dead(config_path: str | None) -> None:
    """List notifications that failed every attempt."""
    from bot.notify.records import NotificationRecords
    from bot.store.keys import Keys

    with _dead_letters(config_path) as (settings, registry):
        records = NotificationRecords(registry.connection, Keys(settings.redis.key_prefix, settings.wechat.appid))
        job_ids = registry.get_job_ids()
        for job_id in job_ids:
            record = records.get(job_id.removeprefix("notify-")) or {}
            click.echo(f"{job_id}  attempts {record.get('attempts', '?')}  last error: {record.get('last_error', '?')}")
        click.echo(f"{len(job_ids)} dead")


@notify.command()
@config_option
@click.argument("job_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Retry every dead notification.")
def retry(config_path: str | None, job_ids: tuple[str, ...], everything: bool) -> None:
    """Queue dead notifications again."""
    with _dead_letters(config_path) as (_, registry):
        targets = registry.get_job_ids() if everything else list(job_ids)
        if not targets:
            raise click.UsageError("name the notifications (see `wxbot notify dead`) or pass --all")
        for job_id in targets:
            registry.requeue(job_id)
            click.echo(f"requeued {job_id}")
