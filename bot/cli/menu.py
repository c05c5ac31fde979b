"""`wxbot menu push | show | delete` through the WeChat API."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click
from wechatpy.exceptions import WeChatClientException

from bot.cli.settings import config_option

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.wechat.client import WeChatAPI


@click.group()
def menu() -> None:
    """The account's custom menu."""


def _api(config_path: str | None, action: Callable[[Settings, WeChatAPI], None]) -> None:
    from bot.cli.settings import settings_or_exit
    from bot.store.client import connect
    from bot.store.server import redis_for
    from bot.wechat.client import wechat_api

    with redis_for(settings_or_exit(config_path)) as settings:
        try:
            action(settings, wechat_api(settings, connect(settings.redis)))
        except WeChatClientException as exc:
            click.echo(f"WeChat refused: errcode {exc.errcode} {exc.errmsg}", err=True)
            sys.exit(1)


@menu.command()
@config_option
def push(config_path: str | None) -> None:
    """Create the menu from the settings (clients show it within about five minutes)."""
    def action(settings: Settings, api: WeChatAPI) -> None:
        api.post("menu/create", data=settings.menu.to_wechat())
        click.echo(f"menu pushed: {', '.join(button.name for button in settings.menu.button)}")
    _api(config_path, action)


@menu.command()
@config_option
def show(config_path: str | None) -> None:
    """Print the menu WeChat has now."""
    def action(settings: Settings, api: WeChatAPI) -> None:
        click.echo(json.dumps(api.get("menu/get").get("menu"), ensure_ascii=False, indent=2))
    _api(config_path, action)


@menu.command()
@config_option
def delete(config_path: str | None) -> None:
    """Remove the menu."""
    def action(settings: Settings, api: WeChatAPI) -> None:
        api.get("menu/delete")
        click.echo("menu deleted")
    _api(config_path, action)
