"""The `wxbot` command."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bot import production
from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from bot.background import BackgroundServer

config_option = click.option("--config", "config_path", envvar="WXBOT_CONFIG",
                             type=click.Path(dir_okay=False),
                             help="TOML settings file (default: $WXBOT_CONFIG).")


def settings_or_exit(config_path: str | None) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def serving_settings_or_exit(config_path: str | None) -> Settings:
    """Settings for a command that serves real users (`serve`, `worker`): in production, the
    laptop's values are refused, one line per key, exit 1."""
    settings = settings_or_exit(config_path)
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
    """`serve` and `worker` with an external Redis: exit 2 when it is too old to work; a warning
    when it lacks security fixes (bot/store/version.py says why only a warning)."""
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


@click.group()
def main() -> None:
    """WeChat official-account service for medical-insurance family mutual aid."""


@main.command("check-config")
@config_option
def check_config(config_path: str | None) -> None:
    """Validate the settings and say which mode the webhook will run in."""
    settings = serving_settings_or_exit(config_path)
    mode = "safe (AES)" if settings.wechat.safe_mode else "plaintext"
    redis = "embedded" if settings.redis.embedded else "external"
    click.echo(f"config ok: {settings.server.environment}, appid {settings.wechat.appid}, {mode} mode, "
               f"{redis} Redis, {settings.binding.adapter} binding service")


@main.command()
def keygen() -> None:
    """Print a new key for conversation.secret_key."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@main.command()
@config_option
def serve(config_path: str | None) -> None:
    """Run the webhook under gunicorn (production)."""
    from bot.server import WebhookServer, redis_for

    settings = serving_settings_or_exit(config_path)
    log_start_warnings(settings)
    redis_checked_or_exit(settings)
    with redis_for(settings) as settings:
        WebhookServer(settings).run()


@main.command()
@config_option
@click.option("--fake-wechat-port", default=8081, show_default=True,
              help="Port of the local fake WeChat API server.")
@click.option("--simulator-port", default=8082, show_default=True, help="Port of the browser simulator.")
def run(config_path: str | None, fake_wechat_port: int, simulator_port: int) -> None:
    """Run everything locally: embedded Redis, a fake WeChat API, the webhook, a notification
    worker, and the browser simulator."""
    import os
    import subprocess

    from bot.background import BackgroundServer
    from bot.server import WebhookServer, redis_for
    from bot.wechat.fake import create_fake_wechat

    settings = development_settings_or_exit(config_path, "run")
    log_start_warnings(settings)
    fake = BackgroundServer(create_fake_wechat(settings.wechat.appid, settings.wechat.secret),
                            port=fake_wechat_port).start()
    settings = settings.model_copy(update={"wechat": settings.wechat.model_copy(update={"api_base_url": fake.url})})
    simulator = None
    try:
        with redis_for(settings) as settings:
            settings = _consent_links_to_simulator(settings, simulator_port)
            simulator = _start_simulator(settings, fake.url, simulator_port)
            click.echo(f"fake WeChat API   {fake.url}  (sent messages: {fake.url}/fake/sent)")
            click.echo(f"webhook           {_webhook_url(settings)}/wechat")
            click.echo(f'terminal chat     wxbot chat --simulator {simulator.url}')
            click.echo(f"\n  Open the simulator:  {simulator.url}\n")
            # The worker is a process of its own, as in production, told where Redis and WeChat are;
            # it stops before the embedded Redis does.
            env = {**os.environ, "WXBOT_REDIS__URL": settings.redis.url, "WXBOT_WECHAT__API_BASE_URL": fake.url,
                   "WXBOT_SERVER__ENVIRONMENT": "development"}
            worker = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker",
                                       *(["--config", config_path] if config_path else [])], env=env)
            click.echo(f"notification worker pid {worker.pid}")
            owner = os.getpid()
            try:
                WebhookServer(settings).run()
            finally:
                # gunicorn's forked workers unwind through here on exit: only the owner stops it.
                if os.getpid() == owner and worker.poll() is None:
                    worker.terminate()
                    worker.wait(15)
    finally:
        if simulator is not None:
            simulator.stop()
        fake.stop()


def _webhook_url(settings: Settings) -> str:
    host, _, port = settings.server.bind.rpartition(":")
    return f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"  # noqa: S104 - reading, not binding


def _consent_links_to_simulator(settings: Settings, port: int) -> Settings:
    """The sandbox's consent links open the simulator's consent page, unless configured."""
    sandbox = settings.binding.sandbox
    if sandbox.consent_url:
        return settings
    sandbox = sandbox.model_copy(update={"consent_url": f"http://127.0.0.1:{port}/consent"})
    return settings.model_copy(update={"binding": settings.binding.model_copy(update={"sandbox": sandbox})})


def _start_simulator(settings: Settings, fake_api_url: str, port: int) -> BackgroundServer:
    """The browser simulator, beside the sandbox's desk when the binding service is the sandbox."""
    from bot.background import BackgroundServer
    from bot.binding.factory import sandbox_service
    from bot.simulator.app import create_simulator
    from bot.simulator.phone import Phone
    from bot.store.client import connect

    desk = sandbox_service(settings, connect(settings.redis)) if settings.binding.adapter == "sandbox" else None
    phone = Phone(settings, _webhook_url(settings), fake_api_url)
    return BackgroundServer(create_simulator(phone, desk), port=port).start()


@main.command()
@config_option
@click.option("--url", default=None, help="Webhook base URL (default: from server.bind).")
@click.option("--openid", default="o_local_user", show_default=True)
@click.option("--event", default=None, help="Send this event (e.g. subscribe) instead of a text.")
@click.option("--click", "menu_key", default=None, metavar="KEY",
              help="Click the menu button with this key (e.g. MY_FAMILY).")
@click.option("--voice", is_flag=True, help="Send TEXT as a voice message: WeChat's recognised words.")
@click.option("--fake-wechat", default="http://127.0.0.1:8081", show_default=True,
              help="The local fake WeChat API to tell about the message (opens the reply window).")
@click.argument("text", required=False, default="")
def say(config_path: str | None, url: str | None, openid: str, event: str | None, menu_key: str | None,
        voice: bool, fake_wechat: str, text: str) -> None:
    """Send one message to the webhook as WeChat would, and print the reply."""
    from bot.wechat.simulate import WeChatSide

    settings = settings_or_exit(config_path)
    side = WeChatSide(settings.wechat, fake_api=fake_wechat)
    if menu_key:
        xml = side.event_xml(openid, "CLICK", key=menu_key)
    elif voice:
        xml = side.voice_xml(openid, text)
    else:
        xml = side.event_xml(openid, event) if event else side.text_xml(openid, text or "你好")
    response = side.post(url or f"http://{settings.server.bind}", side.deliver(xml, openid))
    if response.status_code != 200:
        click.echo(f"HTTP {response.status_code}: {response.text}", err=True)
        sys.exit(1)
    reply = side.open_reply(response.text)
    click.echo(reply.get("Content", "(no reply: success)"))


@main.command()
@click.option("--simulator", "simulator_url", default="http://127.0.0.1:8082", show_default=True,
              help="The simulator that `wxbot run` started.")
@click.option("--openid", default=None, help="Talk as this user (default: a new one).")
def chat(simulator_url: str, openid: str | None) -> None:
    """Chat with the account in this terminal, through the simulator (start `wxbot run` first)."""
    import requests

    from bot.simulator.chat import TerminalChat

    try:
        TerminalChat(simulator_url, openid).run()
    except requests.ConnectionError:
        click.echo(f"no simulator at {simulator_url}: start it with `make run` (or `wxbot run`) first", err=True)
        sys.exit(1)


@main.group()
def flows() -> None:
    """The conversations."""


@flows.command()
@click.option("--output", type=click.Path(file_okay=False), default="docs/flows", show_default=True)
def diagram(output: str) -> None:
    """Write a Mermaid diagram of every flow to OUTPUT/<flow>.md."""
    from pathlib import Path

    from flows.catalog import FLOWS
    from flows.diagram import document

    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    for flow in FLOWS.values():
        (folder / f"{flow.id}.md").write_text(document(flow), encoding="utf-8")
        click.echo(f"wrote {folder / f'{flow.id}.md'}")


from bot.binding.cli import binding, sandbox  # noqa: E402 - the groups need `main` defined first
from bot.conversation_cli import conversation  # noqa: E402 - the groups need `main` first
from bot.menu_cli import menu  # noqa: E402 - the groups need `main` first
from bot.notify.cli import notify, worker  # noqa: E402 - the groups need `main` first

main.add_command(sandbox)
main.add_command(binding)
main.add_command(worker)
main.add_command(notify)
main.add_command(menu)
main.add_command(conversation)

if __name__ == "__main__":
    main()
