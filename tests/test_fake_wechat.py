"""The fake WeChat API checks requests as WeChat does (it stands in for WeChat in every other test)."""

from __future__ import annotations

import time

import pytest
import requests

from bot.store.keys import Keys
from bot.wechat.client import WeChatAPI
from bot.wechat.token import SharedAccessToken
from tests.conftest import APPID, SECRET


@pytest.fixture
def api(fake_wechat, redis_client) -> WeChatAPI:
    client = WeChatAPI(APPID, SECRET, base_url=fake_wechat.url, timeout=2)
    client.tokens = SharedAccessToken(redis_client, Keys("wxbot", APPID), client.fetch_stable_token)
    return client


def control(fake_wechat, path: str, body) -> None:
    requests.post(f"{fake_wechat.url}/fake/{path}", json=body, timeout=5).raise_for_status()


def template(api: WeChatAPI, openid: str, value: str = "已通过", client_msg_id: str | None = None) -> dict:
    body = {"touser": openid, "template_id": "TPL1", "data": {"thing1": {"value": value}}}
    if client_msg_id:
        body["client_msg_id"] = client_msg_id
    return api.post("message/template/send", data=body)


def test_template_values_over_20_characters_or_with_line_breaks_are_refused(api) -> None:
    assert template(api, "o1", "二" * 20)["errcode"] == 0
    for bad in ("二" * 21, "第一行\n第二行"):
        with pytest.raises(Exception) as caught:
            template(api, "o1", bad)
        assert caught.value.errcode == 47003


def test_client_msg_id_repeats_are_dropped(api, fake_wechat) -> None:
    first = template(api, "o1", client_msg_id="decision-1")
    again = template(api, "o1", client_msg_id="decision-1")
    assert first["msgid"] == again["msgid"]
    assert len(requests.get(f"{fake_wechat.url}/fake/sent", timeout=5).json()) == 1


def test_users_who_do_not_follow_get_43004(api, fake_wechat) -> None:
    control(fake_wechat, "unfollow", {"openid": "o_gone"})
    with pytest.raises(Exception) as caught:
        template(api, "o_gone")
    assert caught.value.errcode == 43004


def test_customer_service_window(api, fake_wechat) -> None:
    with pytest.raises(Exception) as caught:
        api.send_text("o_quiet", "hi")
    assert caught.value.errcode == 45015
    control(fake_wechat, "interact", {"openid": "o_click", "kind": "event"})
    for _ in range(3):
        api.send_text("o_click", "hi")
    with pytest.raises(Exception) as caught:
        api.send_text("o_click", "hi")
    assert caught.value.errcode == 45047


def test_menu_create_get_delete(api) -> None:
    menu = {"button": [{"type": "click", "name": "绑定家人", "key": "BIND_MEMBER"}]}
    api.post("menu/create", data=menu)
    assert api.get("menu/get")["menu"] == menu
    api.get("menu/delete")
    with pytest.raises(Exception) as caught:
        api.get("menu/get")
    assert caught.value.errcode == 46003


def test_media_get(api, fake_wechat) -> None:
    media_id = requests.post(f"{fake_wechat.url}/fake/media", data=b"\xff\xd8jpeg", timeout=5).json()["media_id"]
    response = api._http.get(f"{fake_wechat.url}/cgi-bin/media/get",
                             params={"access_token": api.access_token, "media_id": media_id}, timeout=5)
    assert response.content == b"\xff\xd8jpeg"


def test_injected_faults(api, fake_wechat) -> None:
    control(fake_wechat, "fail", [{"errcode": 45009, "path": "template"}, {"status": 502}])
    with pytest.raises(Exception) as caught:
        template(api, "o1")
    assert caught.value.errcode == 45009
    with pytest.raises(Exception):  # noqa: B017 - a 502, however the client reports it: the next call succeeds
        template(api, "o1")
    assert template(api, "o1")["errcode"] == 0


def test_an_outage_fails_every_matching_call_until_it_ends(api, fake_wechat) -> None:
    control(fake_wechat, "fail", [{"status": 503, "path": "template", "seconds": 0.6}])
    started = time.monotonic()
    for _ in range(3):   # not used up by a call, unlike the other faults
        with pytest.raises(Exception) as caught:
            template(api, "o1")
        assert caught.value.response.status_code == 503
    control(fake_wechat, "interact", {"openid": "o1"})
    api.send_text("o1", "hi")   # other paths are not affected
    time.sleep(max(0.0, 0.7 - (time.monotonic() - started)))   # the outage ends
    assert template(api, "o1")["errcode"] == 0
    assert requests.get(f"{fake_wechat.url}/fake/stats", timeout=5).json()["pending_failures"] == 0


def notice(api: WeChatAPI, openid: str, **data: str) -> dict:
    body = {"touser": openid, "template_id": "SUB1", "data": {k: {"value": v} for k, v in data.items()}}
    return api.post("message/subscribe/bizsend", data=body)


def test_subscription_notices_need_a_subscription_and_one_time_ones_are_used_up(api, fake_wechat) -> None:
    with pytest.raises(Exception) as caught:
        notice(api, "o1", thing1="王**")
    assert caught.value.errcode == 43101
    control(fake_wechat, "subscribe_popup", {"openid": "o1", "accept": ["SUB1"]})    # one-time, no webhook to push to
    control(fake_wechat, "unfollow", {"openid": "o1"})                               # notices reach non-followers
    assert notice(api, "o1", thing1="王**")["errcode"] == 0
    with pytest.raises(Exception) as caught:
        notice(api, "o1", thing1="王**")
    assert caught.value.errcode == 43101
    control(fake_wechat, "subscribe_popup", {"openid": "o2", "accept": ["SUB1"], "long_term": ["SUB1"]})
    for _ in range(3):
        assert notice(api, "o2", thing1="王**")["errcode"] == 0
    control(fake_wechat, "subscribe_popup", {"openid": "o2", "reject": ["SUB1"]})
    with pytest.raises(Exception) as caught:
        notice(api, "o2", thing1="王**")
    assert caught.value.errcode == 43101
    kinds = [m["kind"] for m in requests.get(f"{fake_wechat.url}/fake/sent", timeout=5).json()]
    assert kinds == ["subscription"] * 4


@pytest.mark.parametrize("data", [
    {"thing1": "二" * 21}, {"phrase2": "审核没有通过"}, {"phrase2": "OK"}, {"name3": "王" * 11},
    {"character_string4": "申请A1"}, {"time5": "昨天下午"}, {"thing1": "第一行\n第二行"}, {"thing1": ""},
])
def test_subscription_values_must_fit_their_keywords_types(api, fake_wechat, data) -> None:
    control(fake_wechat, "subscribe_popup", {"openid": "o1", "accept": ["SUB1"], "long_term": ["SUB1"]})
    with pytest.raises(Exception) as caught:
        notice(api, "o1", **data)
    assert caught.value.errcode == 47003
    assert notice(api, "o1", thing1="二" * 20, phrase2="已通过", name3="王**", character_string4="A5f3c8e21d0b94a77",
                  time5="2026-11-22 16:05")["errcode"] == 0


def test_jsapi_tickets(api, fake_wechat) -> None:
    first = api.get("ticket/getticket", params={"type": "jsapi"})
    assert first["errcode"] == 0 and first["expires_in"] == 7200 and first["ticket"]
    assert requests.get(f"{fake_wechat.url}/fake/stats", timeout=5).json()["tickets"] == [first["ticket"]]
