"""`wxbot serve`, `run`, `check-config`, `keygen`, `say`, `chat` and `flows diagram`: the service
itself, and the local stand-ins around it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bot.cli.settings import (
    config_option,
    development_settings_or_exit,
    log_start_warnings,
    redis_checked_or_exit,
    serving_settings_or_exit,
    settings_or_exit,
    templates_fit_or_exit,
)
from bot.config import Settings

if TYPE_CHECKING:
    from bot.background import BackgroundServer


@click.command("check-config")
@config_option
def check_config(config_path: str | None) -> None:
    """Validate the settings and say which mode the webhook will run in."""
    settings = serving_settings_or_exit(config_path)
    mode = "safe (AES)" if settings.wechat.safe_mode else "plaintext"
    redis = "embedded" if settings.redis.embedded else "external"
    click.echo(f"config ok: {settings.server.environment}, appid {settings.wechat.appid}, {mode} mode, "
               f"{redis} Redis, {settings.binding.adapter} binding service")


@click.command()
def keygen() -> None:
    """Print a new key for conversation.secret_key."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@click.command()
@config_option
def serve(config_path: str | None) -> None:
    """Run the webhook under gunicorn (production)."""
    from bot.server import WebhookServer
    from bot.store.server import redis_for

    settings = serving_settings_or_exit(config_path)
    log_start_warnings(settings)
    redis_checked_or_exit(settings)
    with redis_for(settings) as settings:
        WebhookServer(settings).run()


@click.command()
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
    from bot.server import WebhookServer
    from bot.simulator.fake_wechat import create_fake_wechat
    from bot.simulator.fake_wechat.pushes import Pushes
    from bot.simulator.wechat_side import WeChatSide
    from bot.store.server import redis_for
    from bot.subscribe_page import page_url

    settings = development_settings_or_exit(config_path, "run")
    templates_fit_or_exit(settings)
    log_start_warnings(settings)
    # The fake pushes what WeChat pushes on its own (subscription pop-ups, notices' receipts) to the webhook.
    pushes = Pushes(_webhook_url(settings), WeChatSide(settings.wechat))
    fake = BackgroundServer(create_fake_wechat(settings.wechat.appid, settings.wechat.secret, pushes=pushes),
                            port=fake_wechat_port).start()
    settings = settings.model_copy(update={"wechat": settings.wechat.model_copy(update={"api_base_url": fake.url})})
    simulator = None
    try:
        with redis_for(settings) as settings:
            settings = _consent_links_to_simulator(settings, simulator_port)
            simulator = _start_simulator(settings, fake.url, simulator_port)
            click.echo(f"fake WeChat API   {fake.url}  (sent messages: {fake.url}/fake/sent)")
            click.echo(f"webhook           {_webhook_url(settings)}/wechat")
            click.echo(f"subscribe page    {page_url(settings)}")
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


@click.command()
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
    from bot.simulator.wechat_side import WeChatSide

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


@click.command()
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


@click.group()
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
