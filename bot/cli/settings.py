"""What every `wxbot` command shares: the --config option, and settings read (and refused) the
way each kind of command needs them."""

from __future__ import annotations

import sys

import click

from bot import production
from bot.config import ConfigError, Settings, load_settings

config_option = click.option("--config", "config_path", envvar="WXBOT_CONFIG",
                             type=click.Path(dir_okay=False),
                             help="TOML settings file (default: $WXBOT_CONFIG).")


def settings_or_exit(config_path: str | None) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def templates_fit_or_exit(settings: Settings) -> None:
    """Every value the bot can fill a template's keyword with must fit the keyword's type (WeChat
    refuses the whole message otherwise: 47003). One line per keyword that cannot, exit 2."""
    from bot.notify.templates import problems

    misfits = problems(settings)
    if misfits:
        for line in misfits:
            click.echo(f"config: {line}", err=True)
        sys.exit(2)


def serving_settings_or_exit(config_path: str | None) -> Settings:
    """Settings for a command that serves real users (`serve`, `worker`, `check-config`): every
    template's keywords must take their values (exit 2); in production, the laptop's values are
    refused, one line per key, exit 1."""
    settings = settings_or_exit(config_path)
    templates_fit_or_exit(settings)
    refused = production.refusals(settings)
    if refused:
        for line in refused:
            click.echo(f"production refuses {line}", err=True)
        click.echo('(on a laptop: server.environment = "development", or `wxbot run`)', err=True)
        sys.exit(1)
    return settings


def log_start_warnings(settings: Settings) -> None:
    from bot.logs import configure_for, log

    configure_for(settings)
    for event, fields in production.warnings(settings):
        log.warning(event, **fields)


def development_settings_or_exit(config_path: str | None, command: str) -> Settings:
    """Settings for the laptop's stand-ins (the local stack, the sandbox bureau): refused for a
    config that says production, or that production would accept (a real deployment's)."""
    settings = settings_or_exit(config_path)
    if settings.server.environment == "production":
        if "environment" in settings.server.model_fields_set or not production.refusals(settings):
            click.echo(f"`wxbot {command}` is for development, and this config is production's "
                       '(set server.environment = "development" on a laptop)', err=True)
            sys.exit(1)
        settings = settings.model_copy(update={"server": settings.server.model_copy(
            update={"environment": "development"})})
    return settings


def redis_checked_or_exit(settings: Settings) -> None:
    """`serve` and `worker` with an external Redis: exit 2 when it is too old to work, or still holds
    the key layout before the hash tags (`wxbot redis migrate` first); a warning
    when it lacks security fixes (bot/store/version.py says why only a warning). In cluster mode
    the client is made from a node that answers: none answering (the cluster down, or refusing us —
    a wrong CA, no client certificate) is exit 1 and one line, where one Redis would be waited for."""
    from redis.exceptions import RedisClusterException

    from bot.logs import configure_for
    from bot.store.server import RedisServer
    from bot.store.version import RedisTooOld, check_server

    if settings.redis.embedded or settings.redis.url == RedisServer(settings.redis.data_dir).url:
        return  # the embedded server (`wxbot run` hands its URL to the worker): for development only
    configure_for(settings)
    try:
        check_server(settings.redis)
    except RedisTooOld as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except RedisClusterException as exc:   # not a RedisError: check_server lets it through
        click.echo(f"redis: {exc}", err=True)
        sys.exit(1)
    left = _old_layout_left(settings)
    if left:
        click.echo(f"redis: keys of the layout before the hash tags are still here ({left[0]}): stop every "
                   "`wxbot serve` and `wxbot worker`, run `wxbot redis migrate`, then start again", err=True)
        sys.exit(2)


def _old_layout_left(settings: Settings) -> list[str]:
    """Started on the old layout, the bot would strand its drafts and pending decisions."""
    import redis

    from bot.store.client import connect
    from bot.store.keys import Keys
    from bot.store.migrate import old_layout_left

    try:
        return old_layout_left(connect(settings.redis), Keys.of(settings))
    except redis.RedisError:
        return []   # not answering: the commands start anyway and wait for it


