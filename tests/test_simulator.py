"""The simulator's API and `wxbot chat`, against the real webhook (plaintext and safe mode), the
fake WeChat API and the sandbox desk: the same path the browser takes, without the browser."""

from __future__ import annotations

import io
import uuid

import pytest
import requests

from bot.app import create_app
from bot.background import BackgroundServer
from bot.binding.models import ApplicationRequest
from bot.simulator.app import create_simulator
from bot.simulator.chat import TerminalChat
from bot.simulator.phone import Phone
from flows.domain.relationships import Relationship
from tests.support.binding import person
from tests.support.chat import CODE
from tests.test_binding_contract import verified
from tests.test_notifications import deliver_callbacks, work


@pytest.fixture(params=["plaintext", "safe"])
def simulator(request, make_settings, fake_wechat, redis_client):
    settings = make_settings(aes=request.param == "safe", wechat={"api_base_url": fake_wechat.url},
                             binding={"sandbox": {"verification_code": CODE, "review": "manual"}})
    app = create_app(settings)
    webhook = BackgroundServer(app).start()
    phone = Phone(settings, webhook.url, fake_wechat.url)
    server = BackgroundServer(create_simulator(phone, app.extensions["wxbot"].binding)).start()
    yield server.url, settings, app
    server.stop()
    webhook.stop()


def send(url: str, **body) -> list[dict]:
    response = requests.post(f"{url}/api/send", json={"openid": "o_sim", **body}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def test_config_describes_the_menu_and_the_mode(simulator) -> None:
    url, settings, _ = simulator
    config = requests.get(f"{url}/api/config", timeout=5).json()
    assert config["menu"] == settings.menu.to_wechat()["button"]
    assert config["mode"] == ("safe" if settings.wechat.safe_mode else "plaintext")


def test_follow_text_and_click_go_through_the_real_webhook(simulator) -> None:
    url, _, _ = simulator
    [welcome] = send(url, follow=True)
    assert "点击下方菜单即可办理" in welcome["text"]
    assert "先验证一下您的身份" in send(url, click="MY_FAMILY")[0]["text"]
    assert "身份证号码" in send(url, text="王建国")[0]["text"]


def test_a_voice_message_is_read_by_its_recognised_words(simulator) -> None:
    url, _, _ = simulator
    assert "先验证一下您的身份" in send(url, voice="我想给我老伴办个家庭共济。")[0]["text"]
    unheard = send(url, voice="")[0]["text"]          # WeChat heard nothing: the question follows
    assert "没听清" in unheard and unheard.endswith("请输入您的姓名（与身份证一致）：")


def test_a_photo_reaches_the_flow_as_a_media_id(simulator) -> None:
    url, _, app = simulator
    for text in ["绑定家人", "王建国", person("王建国").id_number, CODE, "孙女", "王朵朵", person("王朵朵").id_number]:
        send(url, text=text)
    response = requests.post(f"{url}/api/image", data={"openid": "o_sim"}, timeout=10,
                             files={"photo": ("hukou.png", io.BytesIO(b"\x89PNG fake"), "image/png")})
    assert "承诺书" in response.json()["replies"][0]["text"]


def test_the_desk_shows_codes_and_applications_and_its_decision_arrives_as_a_card(simulator) -> None:
    url, settings, app = simulator
    sandbox = app.extensions["wxbot"].binding
    send(url, text="绑定家人")
    send(url, text="王建国")
    send(url, text=person("王建国").id_number)
    assert CODE in [s["code"] for s in requests.get(f"{url}/api/desk", timeout=5).json()["sms"]]

    child = person("王朵朵")
    application = sandbox.submit_application(ApplicationRequest(
        initiator_id=verified(sandbox, "王建国", code=CODE), member_name=child.name,
        member_id_number=child.id_number, relationship=Relationship.GRANDCHILD, pledge_accepted=True,
        proof_media_ids=["m"], idempotency_key=uuid.uuid4().hex))
    app.extensions["wxbot"].decisions.remember_submission(application.application_id, "o_sim")
    [waiting] = requests.get(f"{url}/api/desk", timeout=5).json()["applications"]
    assert waiting == {"application_id": application.application_id, "relationship": "孙子女/外孙子女",
                       "member": "王**", "id_number": "3301**********0428",
                       "submitted_at": waiting["submitted_at"]}

    bad = requests.post(f"{url}/api/desk/decide", json={"application_id": application.application_id,
                                                        "approve": False, "reason": "because"}, timeout=5)
    assert bad.status_code == 400
    unknown = requests.post(f"{url}/api/desk/decide", json={"application_id": "A-none", "approve": True}, timeout=5)
    assert unknown.status_code == 404
    decided = requests.post(f"{url}/api/desk/decide", json={"application_id": application.application_id,
                                                            "approve": True}, timeout=5)
    assert decided.json() == {"status": "approved"}

    deliver_callbacks(app)
    work(settings)
    [card] = requests.get(f"{url}/api/inbox", params={"openid": "o_sim"}, timeout=5).json()["messages"]
    assert card["type"] == "template" and card["title"] == "家庭共济办理成功通知"
    assert [row["label"] for row in card["rows"]] == ["家庭成员", "关系", "办理结果", "办理时间"]
    assert card["rows"][0]["value"] == "王**" and card["rows"][2]["value"] == "已通过"
    assert requests.get(f"{url}/api/inbox", params={"openid": "o_sim", "after": card["at"]},
                        timeout=5).json()["messages"] == []


@pytest.mark.parametrize("body", [{}, {"openid": "o_sim"}, {"openid": "o_sim", "text": "  "}])
def test_bad_requests_get_a_400(simulator, body) -> None:
    url, _, _ = simulator
    assert requests.post(f"{url}/api/send", json=body, timeout=5).status_code == 400


def test_terminal_chat_is_the_same_conversation(simulator) -> None:
    url, _, _ = simulator
    said: list[str] = []
    lines = iter(["/menu", "/click 我的家人", "王建国", person("王建国").id_number, "/sms", CODE,
                  "/click NOPE", "/quit"])
    TerminalChat(url, "o_terminal", write=said.append, poll_every=60).run(read=lambda prompt: next(lines))
    text = "\n".join(said)
    assert "点击下方菜单即可办理" in text                 # the follow
    assert "我的家人 MY_FAMILY" in " ".join(text.split())   # /menu
    assert "先验证一下您的身份" in text and f"  {CODE}  (" in text
    assert "您还没有绑定家人" in text                      # verified, then the service ran
    assert "no menu button 'NOPE'" in text


# -- subscription notices: the pop-up the simulator plays, the notices it shows ----------------------

@pytest.fixture
def subscribing(make_settings, redis_client):
    """The simulator over the webhook, the fake WeChat API pushing its events to the webhook, and
    notices configured: (simulator's URL, settings, app)."""
    from bot.simulator.fake_wechat import create_fake_wechat
    from bot.simulator.fake_wechat.pushes import Pushes
    from bot.simulator.wechat_side import WeChatSide
    from tests.conftest import APPID, SECRET
    from tests.test_binding_contract import CODE as CONTRACT_CODE  # what decided_application verifies with
    from tests.test_subscription_notices import NOTICES

    fake_app = create_fake_wechat(APPID, SECRET)
    fake = BackgroundServer(fake_app).start()
    settings = make_settings(wechat={"api_base_url": fake.url}, notifications=NOTICES,
                             binding={"sandbox": {"verification_code": CONTRACT_CODE, "review": "manual"}})
    app = create_app(settings)
    webhook = BackgroundServer(app).start()
    fake_app.extensions["fake_wechat"].pushes = Pushes(webhook.url, WeChatSide(settings.wechat))
    server = BackgroundServer(create_simulator(Phone(settings, webhook.url, fake.url),
                                               app.extensions["wxbot"].binding)).start()
    yield server.url, settings, app
    for running in (server, webhook, fake):
        running.stop()


def test_the_pop_up_reaches_the_webhook_and_the_notice_shows_as_a_card(subscribing) -> None:
    from tests.test_notifications import decided_application
    from tests.test_subscription_notices import APPROVED, REJECTED

    url, settings, app = subscribing
    config = requests.get(f"{url}/api/config", timeout=5).json()
    assert config["webhook"].startswith("http://127.0.0.1:")
    assert {n["template_id"]: n["title"] for n in config["notices"]}[APPROVED] == "家庭共济办理成功提醒"
    assert requests.post(f"{url}/api/subscribe", json={"openid": "o_sim"}, timeout=5).status_code == 400
    answer = requests.post(f"{url}/api/subscribe", timeout=10,
                           json={"openid": "o_sim", "accept": [APPROVED], "reject": [REJECTED]}).json()
    assert answer == {"recorded": 2, "pushed": 200}

    decided_application(app, openid="o_sim")
    work(settings)
    [card] = requests.get(f"{url}/api/inbox", params={"openid": "o_sim"}, timeout=5).json()["messages"]
    assert (card["type"], card["channel"], card["title"]) == ("template", "subscription", "家庭共济办理成功提醒")
    assert [row["label"] for row in card["rows"]] == ["家庭成员", "关系", "办理结果", "办理时间", "申请编号"]


def test_terminal_chat_plays_the_pop_up_and_shows_links_with_their_words(subscribing) -> None:
    from tests.test_subscription_notices import APPROVED

    url, _, _ = subscribing
    said: list[str] = []
    lines = iter(["/subscribe", "/subscribe no", "/quit"])
    chat = TerminalChat(url, "o_terminal", write=said.append, poll_every=60)
    chat.run(read=lambda prompt: next(lines))
    assert any(line.startswith("  allowed: ") and APPROVED in line for line in said)
    assert any(line.startswith("  refused: ") for line in said)
    chat._show([{"type": "text", "text": '请点：<a href="http://x/subscribe?a=1&amp;b=2">订阅办理结果提醒</a>'}])
    assert said[-1] == "请点：订阅办理结果提醒 http://x/subscribe?a=1&b=2"
