"""The custom menu (自定义菜单): defined in settings, checked against WeChat's limits before it is
pushed, each mistake named by the button it is in."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from flows.texts import menu as words

TOP_LEVEL, SUB_BUTTONS = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES, URL_BYTES = 16, 60, 128, 1024
ButtonType = Literal["click", "view", "miniprogram", "scancode_push", "scancode_waitmsg", "pic_sysphoto",
                     "pic_photo_or_album", "pic_weixin", "location_select", "media_id", "view_limited",
                     "article_id", "article_view_limited"]

# What each type of button needs besides its name, as WeChat's menu API documents it today: the
# events a user's tap sends carry the key; view opens the url; a mini program page (url: for old
# WeChat versions); a permanent material (media_id, view_limited: older accounts'); a published
# article (article_id: the reply is the article, article_view_limited: the article's page).
REQUIRED = {
    **dict.fromkeys(("click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
                     "pic_weixin", "location_select"), ("key",)),
    "view": ("url",),
    "miniprogram": ("url", "appid", "pagepath"),
    "media_id": ("media_id",), "view_limited": ("media_id",),
    "article_id": ("article_id",), "article_view_limited": ("article_id",),
}


class MenuButton(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: ButtonType | None = None
    key: str = ""
    url: str = ""
    appid: str = ""
    pagepath: str = ""
    media_id: str = ""
    article_id: str = ""
    sub_button: list[MenuButton] = []

    def to_wechat(self) -> dict[str, Any]:
        if self.sub_button:
            return {"name": self.name, "sub_button": [button.to_wechat() for button in self.sub_button]}
        fields = {"type": self.type, "name": self.name, "key": self.key, "url": self.url, "appid": self.appid,
                  "pagepath": self.pagepath, "media_id": self.media_id, "article_id": self.article_id}
        return {name: value for name, value in fields.items() if value}


class MenuSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    button: list[MenuButton]

    @model_validator(mode="after")
    def _within_wechats_limits(self) -> MenuSettings:
        problems = menu_problems(self)
        if problems:
            raise ValueError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        return self

    def to_wechat(self) -> dict[str, Any]:
        return {"button": [button.to_wechat() for button in self.button]}


def menu_problems(menu: MenuSettings) -> list[str]:
    problems = []
    if not 1 <= len(menu.button) <= TOP_LEVEL:
        problems.append(f"{len(menu.button)} top-level buttons; WeChat allows 1 to {TOP_LEVEL}")
    for i, button in enumerate(menu.button, start=1):
        problems += _button_problems(button, f"button {i}", TOP_NAME_BYTES, top=True)
    return problems


def _button_problems(button: MenuButton, where: str, name_limit: int, top: bool) -> list[str]:
    label = f"{where} 「{button.name}」"   # not wording: an operator's settings error, quoting the button
    problems = []
    size = len(button.name.encode())
    if not button.name or size > name_limit:
        problems.append(f"{label}: the name is {size} bytes; WeChat allows 1 to {name_limit}")
    if button.sub_button:
        if not top:
            problems.append(f"{label}: a sub-button cannot have sub-buttons")
        if len(button.sub_button) > SUB_BUTTONS:
            problems.append(f"{label}: {len(button.sub_button)} sub-buttons; WeChat allows {SUB_BUTTONS}")
        for j, sub in enumerate(button.sub_button, start=1):
            problems += _button_problems(sub, f"{where}.{j}", SUB_NAME_BYTES, top=False)
        return problems
    if button.type is None:
        problems.append(f"{label}: needs a type (click, view, …) or sub-buttons")
        return problems
    kind = f"{'an' if button.type[0] in 'aeiou' else 'a'} {button.type} button"
    missing = [field for field in REQUIRED[button.type] if not getattr(button, field)]
    if missing:
        problems.append(f"{label}: {kind} needs {' and '.join(missing)}")
    unused = [field for field in ("key", "url", "appid", "pagepath", "media_id", "article_id")
              if getattr(button, field) and field not in REQUIRED[button.type]]
    if unused:
        problems.append(f"{label}: {kind} takes no {' or '.join(unused)}")
    if len(button.key.encode()) > KEY_BYTES:
        problems.append(f"{label}: the key is {len(button.key.encode())} bytes; WeChat allows {KEY_BYTES}")
    if len(button.url.encode()) > URL_BYTES:
        problems.append(f"{label}: the url is {len(button.url.encode())} bytes; WeChat allows {URL_BYTES}")
    return problems


def _group(group: str, *keys: str) -> MenuButton:
    """A top-level button of clicks, named in the catalogue (flows/texts/menu.py)."""
    return MenuButton(name=words.GROUPS[group],
                      sub_button=[MenuButton(type="click", name=words.BUTTONS[key], key=key) for key in keys])


DEFAULT_MENU = MenuSettings(button=[
    _group("family", "BIND_MEMBER", "MY_FAMILY", "UNBIND", "DEDUCTION_ORDER"),
    _group("query", "PROGRESS", "USAGE"),
    _group("help", "FAQ", "OFFLINE", "HOTLINE"),
])
