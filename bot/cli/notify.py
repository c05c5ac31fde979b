"""`wxbot worker` and `wxbot notify …` (dead letters)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import click
from rq import Queue
from rq.registry import FailedJobRegistry

from bot.cli.settings import config_option
from bot.config import Settings


@click.command()
@config_option
@click.option("--burst", is_flag=True, help="Dispatch and send what waits now, then exit.")
@click.option("--metrics-bind", metavar="HOST:PORT", default=None,
              help="Serve Prometheus metrics (notification outcomes) at http://HOST:PORT/metrics.")
def worker(config_path: str | None, burst: bool, metrics_bind: str | None) -> None:
    """Send notifications: run the job queue and the decision dispatcher."""
    import os

    from bot.cli.settings import log_start_warnings, redis_checked_or_exit, serving_settings_or_exit
    from bot.server import metrics_directory
    from bot.store.server import redis_for

    settings = serving_settings_or_exit(config_path)
    log_start_warnings(settings)
    redis_checked_or_exit(settings)
    with contextlib.ExitStack() as stack:
        if metrics_bind:
            # RQ runs each job in a forked work horse: they count into files that /metrics adds up.
            stack.enter_context(metrics_directory())
        else:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # nobody reads them: count in memory
        from bot.notify.worker import run_worker  # imports bot.metrics: after its directory is set

        settings = stack.enter_context(redis_for(settings))
        run_worker(settings, burst=burst, metrics_bind=metrics_bind)


@click.group()
def notify() -> None:
    """Notifications that could not be sent (dead letters)."""


@contextlib.contextmanager
def _dead_letters(config_path: str | None) -> Iterator[tuple[Settings, FailedJobRegistry]]:
    from bot.cli.settings import settings_or_exit
    from bot.store.client import connect
    from bot.store.server import redis_for

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
        records = NotificationRecords(registry.connection, Keys.of(settings))
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
    """Queue dead notifications again, each with all its attempts."""
    from bot.notify.dispatch import Dispatcher
    from bot.notify.records import QUEUED

    with _dead_letters(config_path) as (settings, registry):
        dead = registry.get_job_ids()
        targets = dead if everything else list(job_ids)
        if not targets:
            raise click.UsageError("name the notifications (see `wxbot notify dead`) or pass --all")
        dispatcher, unknown = Dispatcher(registry.connection, settings), []
        for job_id in targets:
            if job_id not in dead:
                unknown.append(job_id)
                continue
            notification_id = job_id.removeprefix("notify-")
            registry.remove(job_id)
            # A fresh start: the record's attempts count towards notifications.max_attempts again.
            dispatcher.records.update(notification_id, status=QUEUED, attempts=0)
            dispatcher.enqueue(notification_id)
            click.echo(f"requeued {job_id}")
        if unknown:
            click.echo(f"not dead notifications (see `wxbot notify dead`): {', '.join(unknown)}", err=True)
            sys.exit(1)
