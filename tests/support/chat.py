"""A WeChat user talking to the real /wechat endpoint over HTTP, as WeChat would deliver it."""

from __future__ import annotations

import itertools
import time

from tests.support.binding import person

CODE = "123456"   # the sandbox's SMS code in these tests


def _start_words() -> dict[str, str]:
    """Each flow's start phrases that are whole words (no “…”), as a user might type them alone."""
    from flows.catalog import FLOWS
    return {phrase: flow.id for flow in FLOWS.values() if flow.entry
            for phrase in flow.entry.phrases if "…" not in phrase}


START_WORDS = _start_words()


def _click_keys() -> dict[str, str]:
    from flows.catalog import ENGINE
    return dict(ENGINE.menu_keys)


CLICK_KEYS = _click_keys()   # the custom menu's keys that start a flow, as the flows declare them


class User:
    def __init__(self, server, side, openid: str) -> None:
        self.server, self.side, self.openid = server, side, openid

    def say(self, text: str) -> str:
        response = self.side.post(self.server.url, self.side.deliver(self.side.text_xml(self.openid, text), self.openid))
        assert response.status_code == 200
        return self.side.open_reply(response.text).get("Content", "")

    def image(self, media_id: str) -> str:
        xml = self.side.image_xml(self.openid, media_id, "http://x/p.jpg")
        response = self.side.post(self.server.url, self.side.deliver(xml, self.openid))
        return self.side.open_reply(response.text).get("Content", "")

    def play(self, rows: list[tuple[str, str]]) -> list[str]:
        answers = []
        for said, expected in rows:
            answer = self.say(said)
            assert expected in answer, f"after {said!r}: {answer!r}"
            answers.append(answer)
        return answers


def verify_rows(name: str) -> list[tuple[str, str]]:
    who = person(name)
    return [(who.name, "身份证号码"), (who.id_number, "验证码已发送到您在医保登记的手机，")]


# WeChat tells events apart by sender and CreateTime only: two clicks in one second would be one
# event (and the second would get the first one's answer). Each click here gets its own second.
_CLICK_TIMES = itertools.count(int(time.time()))


def click(user: User, key: str) -> str:
    xml = user.side.event_xml(user.openid, "CLICK", key=key, create_time=next(_CLICK_TIMES))
    response = user.side.post(user.server.url, user.side.deliver(xml, user.openid))
    return user.side.open_reply(response.text).get("Content", "")


def idle_answer(text: str) -> str:
    """What the bot answers `text` from a user with nothing going on: the engine's own answer, for
    tests about the webhook's plumbing rather than about what a message means."""
    from datetime import date

    from flows.catalog import ENGINE
    from flows.context import Context
    from flows.engine import IDLE, UserText
    outcome = ENGINE.handle(IDLE, UserText(text), Context(now=0.0, today=date(2027, 1, 1)))
    return "\n\n".join(outcome.replies)
