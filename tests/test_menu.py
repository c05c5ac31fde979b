"""The custom menu: every WeChat limit checked with an error naming the button; pushed, shown and
deleted through `wxbot menu` against the fake WeChat API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.menu import DEFAULT_MENU, MenuSettings
from tests.support.processes import settings_env

ROOT = Path(__file__).resolve().parents[1]


def click(name: str, key: str = "K") -> dict:
    return {"type": "click", "name": name, "key": key}


@pytest.mark.parametrize("buttons, message", [
    ([], "0 top-level buttons; WeChat allows 1 to 3"),
    ([click("一"), click("二"), click("三"), click("四")], "4 top-level buttons; WeChat allows 1 to 3"),
    ([click("家庭共济服务")], "button 1 「家庭共济服务」: the name is 18 bytes; WeChat allows 1 to 16"),
    ([{"name": "查询", "sub_button": [click(str(i)) for i in range(6)]}], "button 1 「查询」: 6 sub-buttons; WeChat allows 5"),
    ([{"name": "查询", "sub_button": [click("办" * 21)]}], "button 1.1 「" + "办" * 21 + "」: the name is 63 bytes; WeChat allows 1 to 60"),
    ([click("绑定", key="K" * 129)], "button 1 「绑定」: the key is 129 bytes; WeChat allows 128"),
    ([{"type": "view", "name": "官网", "url": "https://x/" + "a" * 1020}], "button 1 「官网」: the url is 1030 bytes; WeChat allows 1024"),
    ([{"type": "click", "name": "绑定"}], "button 1 「绑定」: a click button needs key"),
    ([{"type": "view", "name": "官网"}], "button 1 「官网」: a view button needs url"),
    ([{"name": "空的"}], "button 1 「空的」: needs a type (click, view, …) or sub-buttons"),
    ([{"type": "miniprogram", "name": "小程序", "url": "https://x"}], "a miniprogram button needs appid and pagepath"),
    ([{"type": "miniprogram", "name": "小程序", "appid": "wx1", "pagepath": "p"}], "a miniprogram button needs url"),
    ([{"type": "media_id", "name": "图文"}], "button 1 「图文」: a media_id button needs media_id"),
    ([{"type": "view_limited", "name": "图文"}], "a view_limited button needs media_id"),
    ([{"type": "article_id", "name": "政策解读"}], "button 1 「政策解读」: an article_id button needs article_id"),
    ([{"type": "article_view_limited", "name": "政策解读", "media_id": "M"}],
     "an article_view_limited button needs article_id"),
    ([{"type": "article_id", "name": "政策解读", "article_id": "A", "url": "https://x"}],
     "an article_id button takes no url"),
    ([{"type": "click", "name": "绑定", "key": "K", "media_id": "M"}], "a click button takes no media_id"),
])
def test_each_limit_is_checked_and_names_the_button(buttons, message) -> None:
    with pytest.raises(ValidationError) as caught:
        MenuSettings(button=buttons)
    assert message in str(caught.value)


def test_every_button_type_wechat_documents_is_accepted_with_what_it_needs() -> None:
    from bot.menu import REQUIRED
    values = {"key": "K", "url": "https://example.gov.cn/", "appid": "wx1234567890abcdef", "pagepath": "pages/index",
              "media_id": "MEDIA", "article_id": "ARTICLE"}
    buttons = [{"type": kind, "name": f"按钮{i}", **{field: values[field] for field in needs}}
               for i, (kind, needs) in enumerate(REQUIRED.items())]
    assert {"article_id", "article_view_limited", "media_id", "view_limited", "miniprogram"} <= set(REQUIRED)
    menu = MenuSettings(button=[{"name": "全部", "sub_button": buttons[:5]}, {"name": "更多", "sub_button": buttons[5:10]},
                                {"name": "其余", "sub_button": buttons[10:]}])
    pushed = [sub for button in menu.to_wechat()["button"] for sub in button["sub_button"]]
    assert pushed == buttons   # each with exactly its own fields, nothing empty


def test_the_default_menu_is_valid_and_uses_the_keys_the_bot_knows() -> None:
    from handlers.router import CLICK_ANSWERS
    from tests.support.chat import CLICK_KEYS
    keys = {sub.key for button in DEFAULT_MENU.button for sub in button.sub_button}
    assert keys <= set(CLICK_KEYS) | set(CLICK_ANSWERS)
    assert DEFAULT_MENU.to_wechat()["button"][0]["sub_button"][0] == {"type": "click", "name": "绑定家人",
                                                                      "key": "BIND_MEMBER"}


def test_a_wrong_menu_stops_start_up_with_one_line(make_settings) -> None:
    from bot.config import ConfigError, load_settings
    with pytest.raises(ConfigError) as caught:
        load_settings(None, wechat={"appid": "wx1", "token": "tok123"},
                      conversation={"secret_key": "dGVzdC1jb252ZXJzYXRpb24ta2V5LTMyLWJ5dGVzISE="},
                      menu={"button": [click("家庭共济服务中心")]})
    assert str(caught.value).startswith("config: menu: button 1 「家庭共济服务中心」: the name is 24 bytes")


def test_push_show_delete_against_the_fake_wechat_api(make_settings, fake_wechat, redis_client) -> None:
    settings = make_settings(wechat={"api_base_url": fake_wechat.url})
    env = {**os.environ, **settings_env(settings)}
    env.pop("WXBOT_MENU__BUTTON", None)  # the default menu

    def wxbot(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", "menu", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    pushed = wxbot("push")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == "menu pushed: 家庭共济, 查询, 帮助"
    shown = json.loads(wxbot("show").stdout)
    assert shown == DEFAULT_MENU.to_wechat()
    assert wxbot("delete").stdout.strip() == "menu deleted"
    refused = wxbot("show")
    assert refused.returncode == 1 and "errcode 46003" in refused.stderr


def test_the_fake_wechat_api_refuses_a_type_wechat_does_not_know(fake_wechat) -> None:
    import requests

    from tests.conftest import APPID, SECRET
    token = requests.get(f"{fake_wechat.url}/cgi-bin/token", params={"grant_type": "client_credential", "appid": APPID,
                                                                    "secret": SECRET}, timeout=5).json()["access_token"]
    create = f"{fake_wechat.url}/cgi-bin/menu/create?access_token={token}"
    known = requests.post(create, json={"button": [{"type": "article_id", "name": "解读", "article_id": "A"}]}, timeout=5)
    unknown = requests.post(create, json={"button": [{"type": "mystery", "name": "解读", "key": "K"}]}, timeout=5)
    assert known.json()["errcode"] == 0 and unknown.json()["errcode"] == 40017
