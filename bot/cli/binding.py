"""`wxbot sandbox …` (the sandbox bureau's desk) and `wxbot binding …` (the bot's side)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from bot.binding import errors as e
from bot.cli.settings import config_option
from bot.config import Settings


@contextlib.contextmanager
def _sandbox(config_path: str | None) -> Iterator[tuple[Settings, object]]:
    from bot.binding.factory import sandbox_service
    from bot.cli.settings import development_settings_or_exit
    from bot.store.client import connect
    from bot.store.server import redis_for

    with redis_for(development_settings_or_exit(config_path, "sandbox")) as settings:
        try:
            yield settings, sandbox_service(settings, connect(settings.redis))
        except e.BindingError as error:  # a refusal by the sandbox's rules: say which, exit 1
            click.echo(f"refused: {error.code}: {error.message}", err=True)
            sys.exit(1)


@click.group()
def sandbox() -> None:
    """The sandbox bureau: review applications, end bindings, record usage."""


@sandbox.command()
@config_option
def serve(config_path: str | None) -> None:
    """Serve the sandbox over the REST contract (docs/binding-api.yaml), with its desk running."""
    from bot.background import BackgroundServer
    from bot.binding.factory import callback_url, signing_key
    from bot.binding.sandbox.desk import SandboxDesk
    from bot.binding.sandbox.server import create_sandbox_app

    with _sandbox(config_path) as (settings, service):
        host, port = settings.binding.sandbox.bind.rsplit(":", 1)
        server = BackgroundServer(create_sandbox_app(service, signing_key(settings),
                                                     settings.binding.callback_window), host, int(port)).start()
        click.echo(f"sandbox binding service  {server.url}   decisions → {callback_url(settings)}")
        stop = threading.Event()
        try:
            SandboxDesk(service, callback_url(settings), signing_key(settings)).run(stop)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()


@sandbox.command("reviews")
@config_option
def reviews(config_path: str | None) -> None:
    """List applications waiting for a reviewer."""
    with _sandbox(config_path) as (_, service):
        waiting = service.under_review()
        for application in waiting:
            click.echo(f"{application.application_id}  {application.relationship.value:<12} "
                       f"{application.member_masked_name}  {application.member_masked_id_number}  "
                       f"submitted {application.submitted_at:%Y-%m-%d %H:%M}")
        click.echo(f"{len(waiting)} waiting")


@sandbox.command()
@config_option
@click.argument("application_id")
def approve(config_path: str | None, application_id: str) -> None:
    """Approve an application under review."""
    with _sandbox(config_path) as (_, service):
        application = service.decide(application_id, approve=True)
        click.echo(f"{application.application_id}: {application.status.value}")


@sandbox.command()
@config_option
@click.argument("application_id")
@click.option("--reason", required=True, type=click.Choice(sorted(e.ERRORS)), help="The domain error code.")
def reject(config_path: str | None, application_id: str, reason: str) -> None:
    """Reject an application under review, with a reason."""
    with _sandbox(config_path) as (_, service):
        application = service.decide(application_id, approve=False, reason=reason)
        click.echo(f"{application.application_id}: {application.status.value} ({application.reason})")


@sandbox.command()
@config_option
@click.argument("binding_id")
def terminate(config_path: str | None, binding_id: str) -> None:
    """End a binding automatically, as when either party's insurance ends or moves."""
    with _sandbox(config_path) as (_, service):
        member = service.terminate(binding_id)
        click.echo(f"{member.binding_id}: {member.status.value}")


@sandbox.command()
@config_option
@click.argument("binding_id")
@click.argument("amount")
@click.option("--place", default="定点零售药店", show_default=True)
def spend(config_path: str | None, binding_id: str, amount: str, place: str) -> None:
    """Record that a member spent AMOUNT yuan from the initiator's account."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise click.BadParameter("not an amount", param_hint="AMOUNT") from None
    with _sandbox(config_path) as (_, service):
        record = service.record_usage(binding_id, place, value)
        click.echo(f"{record.member_masked_name} spent ¥{record.amount} at {record.place}")


@sandbox.command()
@config_option
def sms(config_path: str | None) -> None:
    """Show the verification codes the sandbox "sent" most recently."""
    with _sandbox(config_path) as (_, service):
        for challenge_id, code in service.recent_sms():
            click.echo(f"{challenge_id}  {code}")


@click.group()
def binding() -> None:
    """The bot's side of the binding service."""


@binding.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def openapi(output: Path | None) -> None:
    """Print the REST contract (OpenAPI 3.1) generated from the code."""
    from bot.binding.openapi import render_spec

    text = render_spec()
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@binding.command()
@config_option
def reconcile(config_path: str | None) -> None:
    """Ask the binding service about applications pending too long; record what was decided."""
    from bot.app import create_app
    from bot.binding.reconcile import Reconciler
    from bot.cli.settings import settings_or_exit
    from bot.store.server import redis_for

    with redis_for(settings_or_exit(config_path)) as settings:
        bot = create_app(settings).extensions["wxbot"]
        counts = Reconciler(bot.binding, bot.decisions, older_than=settings.binding.reconcile_after).run_once()
        click.echo(", ".join(f"{key} {value}" for key, value in counts.items()))


@binding.command()
@config_option
@click.option("--count", default=20, show_default=True)
def decisions(config_path: str | None, count: int) -> None:
    """The newest decisions recorded (for the notification path), each with whom it tells: the
    initiator, or the binding's member (an ended binding may tell both: two lines)."""
    from bot.app import create_app
    from bot.cli.settings import settings_or_exit
    from bot.store.server import redis_for

    with redis_for(settings_or_exit(config_path)) as settings:
        bot = create_app(settings).extensions["wxbot"]
        for decision, _, party in bot.decisions.told(count):
            click.echo(f"{decision.decided_at:%Y-%m-%d %H:%M}  {decision.application_id}  {decision.kind}  "
                       f"{decision.status}  {decision.reason or ''}  → {party}")


@binding.command()
@config_option
@click.option("--count", default=20, show_default=True)
def refused(config_path: str | None, count: int) -> None:
    """The newest callback decisions the bureau did not confirm (never notified), and why."""
    from bot.app import create_app
    from bot.cli.settings import settings_or_exit
    from bot.store.server import redis_for

    with redis_for(settings_or_exit(config_path)) as settings:
        bot = create_app(settings).extensions["wxbot"]
        for item in bot.decisions.refused(count):
            decision = item.decision
            click.echo(f"{item.at.astimezone(settings.region.zone):%Y-%m-%d %H:%M:%S}  {decision.application_id}  "
                       f"{decision.binding_id or '-'}  {decision.kind}  {decision.status}  {item.reason}  "
                       f"bureau: {item.bureau_status or '-'}")
