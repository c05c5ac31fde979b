"""The services behind the menu, through the real /wechat endpoint, real Redis and the sandbox:
my family, progress, unbind (its receipts: tests/test_unbinding_receipts.py), deduction order, usage; every menu click;
a click in the middle of a flow."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from bot.app import create_app
from bot.background import BackgroundServer
from bot.binding.models import ApplicationRequest, ConsentAnswer
from bot.binding.sandbox.roster import Roster
from bot.binding.sandbox.server import create_sandbox_app
from bot.binding.sandbox.service import SandboxService
from bot.binding.signing import SigningKey
from bot.conversations.identities import Identities
from bot.menu import DEFAULT_MENU
from bot.simulator.wechat_side import WeChatSide
from bot.store.keys import Keys
from flows import texts
from flows.domain.relationships import Relationship
from flows.texts import services as t
from tests.conftest import free_port
from tests.support.binding import person
from tests.support.chat import CODE, User, click, verify_rows
from tests.test_binding_contract import verified
from tests.test_notifications import deliver_callbacks, sent, work


@pytest.fixture
def world(make_settings, fake_wechat, redis_client):
    settings = make_settings(wechat={"api_base_url": fake_wechat.url},
                             binding={"sandbox": {"verification_code": CODE}},
                             notifications={"max_attempts": 2, "retry_intervals": [0]})
    app = create_app(settings)
    server = BackgroundServer(app).start()
    yield SimpleNamespace(settings=settings, app=app, server=server, side=WeChatSide(settings.wechat),
                          fake_wechat=fake_wechat, bot=app.extensions["wxbot"])
    server.stop()


def user(world, openid: str) -> User:
    return User(world.server, world.side, openid)


def sandbox(world):
    return world.app.extensions["wxbot"].binding


def bind(world, initiator: str, member: str, relationship: Relationship, **extra):
    """A binding made elsewhere (the app, the service hall): straight into the sandbox."""
    service, who = sandbox(world), person(member)
    return service.submit_application(ApplicationRequest(
        initiator_id=verified(service, initiator, code=CODE), member_name=who.name,
        member_id_number=who.id_number, relationship=relationship, pledge_accepted=True,
        idempotency_key=uuid.uuid4().hex, **extra))


def consent(world, application, member: str) -> None:
    service = sandbox(world)
    service.answer_consent(application.consent.code,
                           ConsentAnswer(person_id=verified(service, member, code=CODE), agree=True))


def first_visit(chat: User, key: str, name: str = "王建国") -> str:
    """A click by someone not yet verified: verification first, then the service's answer."""
    assert "先验证一下您的身份" in click(chat, key)
    chat.play(verify_rows(name))
    answer = chat.say(CODE)
    assert "身份验证成功" in answer
    return answer


def no_personal_data(text: str, *names: str) -> bool:
    people = [person(name) for name in names]
    return not re.search(r"\d{17}[\dX]", text) and not any(p.name in text for p in people)


# -- every click ---------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [sub.key for button in DEFAULT_MENU.button for sub in button.sub_button])
def test_every_default_menu_click_gets_its_own_answer(world, key) -> None:
    answer = click(user(world, f"o_click_{key.lower()}"), key)
    assert answer and answer != texts.HELP


# -- 我的家人 ---------------------------------------------------------------------------------------
def test_my_family_lists_members_and_open_applications_masked(world) -> None:
    chat = user(world, "o_family")
    assert t.NO_MEMBERS in first_visit(chat, "MY_FAMILY")
    bind(world, "王建国", "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    bind(world, "王建国", "李秀英", Relationship.SPOUSE)
    answer = click(chat, "MY_FAMILY")
    assert "1. 孙子女/外孙子女 王**（3301**********0428）共济中" in answer
    assert "正在办理：\n1. 配偶 李**（3301**********0224）等待家人确认" in answer
    assert no_personal_data(answer, "王朵朵", "李秀英")
    assert chat.say("我的家人") == answer   # typed, the same


# -- 办理进度 ---------------------------------------------------------------------------------------
def test_progress_says_how_the_member_gives_consent_then_the_result(world) -> None:
    chat = user(world, "o_progress")
    assert t.NO_APPLICATIONS in first_visit(chat, "PROGRESS")
    waiting = bind(world, "王建国", "王小明", Relationship.CHILD)
    answer = click(chat, "PROGRESS")
    assert "1. 子女 王**：等待家人确认" in answer
    assert f"发送“同意 {waiting.consent.code}”" in answer and waiting.consent.url in answer
    consent(world, waiting, "王小明")
    assert "1. 子女 王**：已通过" in chat.say("办理进度")


# -- 解除绑定 ---------------------------------------------------------------------------------------
def test_unbind_chooses_confirms_and_the_reply_is_the_receipt(world) -> None:
    chat = user(world, "o_unbind")
    assert t.NO_ACTIVE_BINDINGS in first_visit(chat, "UNBIND")
    bind(world, "王建国", "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    son = bind(world, "王建国", "王小明", Relationship.CHILD)
    consent(world, son, "王小明")

    chat.play([("解绑", "要和哪位家人解除共济关系"), ("7", t.BAD_CHOICE), ("儿子", "确定要解除与子女 王**的共济关系吗"),
               ("否", "没有解除")])
    assert chat.play([("解除绑定", "请回复序号"), ("儿子", "确定要解除"),
                      ("是", "已解除与子女 王**的共济关系：王**就医购药不再使用您的个人账户余额")])
    members = {m.relationship: m for m in sandbox(world).members(person("王建国").person_id).members}
    assert (members[Relationship.CHILD].status, members[Relationship.CHILD].end_reason) == ("ended",
                                                                                           "ended_by_initiator")
    assert members[Relationship.GRANDCHILD].status == "active"

    # The reply was his receipt; the son, who does not use this account (his binding was made
    # elsewhere), has nobody to be told at: the bureau's report of it sends nothing.
    deliver_callbacks(world.app)
    work(world.settings)
    assert sent(world.fake_wechat) == []


def ended_cards(world) -> list[dict]:
    return [m for m in sent(world.fake_wechat) if m["template_id"] == "TPL_BINDING_ENDED"]


def test_a_member_ends_a_binding_and_each_side_hears_exactly_once(world) -> None:
    """王建国 binds his son through this account; the son, who consented here, ends it here: the
    son's receipt is his chat's reply, the father's the one notification."""
    dad, son = user(world, "o_dad"), user(world, "o_son")
    dad.play([("绑定家人", "先验证一下您的身份"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的"),
              ("儿子", "姓名"), ("王小明", "证件号码"), (person("王小明").id_number, "承诺书"), ("同意", "请核对")])
    code = re.search(r"同意 ([0-9A-F]{6})", dad.say("确认")).group(1)
    son.play([(f"同意 {code}", "先验证一下您的身份"), *verify_rows("王小明"), (CODE, "授权给您使用"),
              ("同意", "您已同意")])

    # The son sees his father as 父母: the relationship seen from his side.
    family = son.say("我的家人")
    assert "为您开通共济的家人（您可以用他们的个人账户余额）：\n1. 父母 王**（3301**********0111）共济中" in family
    assert "您的家庭共济成员" not in family and no_personal_data(family, "王建国", "王小明")

    son.play([("我不想用我爸的医保了", "确定要解除与父母 王**的共济关系吗"), ("是", "这条消息就是解除回执")])
    [sharer] = sandbox(world).sharers(person("王小明").person_id).sharers
    assert (sharer.status, sharer.end_reason) == ("ended", "ended_by_member")

    deliver_callbacks(world.app)   # the bureau reports the same unbinding: still one notification
    work(world.settings)
    [card] = ended_cards(world)
    assert card["touser"] == "o_dad" and "家人申请解除" in {item["value"] for item in card["data"].values()}
    assert not [m for m in sent(world.fake_wechat) if m["touser"] == "o_son"]   # his receipt was the reply
    assert "1. 子女 王**（3301**********0319）已解除，家人申请解除，" in click(dad, "MY_FAMILY")
    assert "1. 父母 王**（3301**********0111）已解除，您申请解除，" in son.say("我的家人")


def test_unbinding_offers_both_sides_and_picks_the_one_named(world) -> None:
    """王建国 shares his account with his granddaughter, and his son shares his with him."""
    bind(world, "王建国", "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    consent(world, bind(world, "王小明", "王建国", Relationship.PARENT), "王建国")
    chat = user(world, "o_both")
    assert first_visit(chat, "UNBIND").endswith(
        "请回复序号：\n1. 孙子女/外孙子女 王**\n2. 子女 王**（您在用对方的个人账户）")
    chat.play([("儿子", "确定要解除与子女 王**的共济关系吗？\n解除后，您就医购药将不能再使用王**的个人账户余额"),
               ("否", "没有解除。您仍可以使用子女 王**的个人账户余额")])
    chat.play([("解除绑定", "请回复序号"), ("1", "确定要解除与孙子女/外孙子女 王**的共济关系吗？\n解除后，王**就医购药"),
               ("否", "没有解除")])
    chat.play([("我不想再用我儿子的医保了", "确定要解除与子女 王**"), ("是", "已解除与子女 王**的共济关系")])
    me = person("王建国").person_id
    assert [(s.status, s.end_reason) for s in sandbox(world).sharers(me).sharers] == [("ended", "ended_by_member")]
    assert [m.status for m in sandbox(world).members(me).members] == ["active"]

    family = chat.say("我的家人")
    assert "您的家庭共济成员（可以用您的个人账户余额）：\n1. 孙子女/外孙子女 王**（3301**********0428）共济中" in family
    assert "为您开通共济的家人（您可以用他们的个人账户余额）：\n1. 子女 王**（3301**********0319）已解除，您申请解除，" \
        in family
    # The son's application was made elsewhere: the bot does not know his account, and tells nobody
    # else; the father has his receipt in the chat.
    deliver_callbacks(world.app)
    work(world.settings)
    assert ended_cards(world) == []


# -- 扣款顺序 ---------------------------------------------------------------------------------------
def test_deduction_order_for_a_shared_member_is_shown_reordered_and_confirmed(world) -> None:
    bind(world, "周强", "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    mine = bind(world, "王建国", "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    chat = user(world, "o_order")
    shown = first_visit(chat, "DEDUCTION_ORDER")
    assert "王**有 2 位共济人，目前的扣款顺序是：\n1. 周*\n2. 王**（您）" in shown
    chat.play([("1 1", "每个序号一次"), ("我第一", "新的扣款顺序：\n1. 王**（您）\n2. 周*"),
               ("是", "扣款顺序已修改")])
    order = sandbox(world).deduction_order(person("王建国").person_id, mine.binding_id)
    assert [p.is_me for p in order.payers] == [True, False]
    chat.play([("扣款顺序", "1. 王**（您）\n2. 周*"), ("2 1", "确认修改吗"), ("否", t.ORDER_UNCHANGED)])
    chat.play([("扣款顺序", "目前的扣款顺序"), ("不用", t.ORDER_UNCHANGED)])
    assert [p.is_me for p in sandbox(world).deduction_order(person("王建国").person_id, mine.binding_id).payers] \
        == [True, False]


def test_deduction_order_with_one_payer_needs_no_setting(world) -> None:
    bind(world, "王建国", "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    assert "目前只有您一位共济人" in first_visit(user(world, "o_order1"), "DEDUCTION_ORDER")


# -- 共济记录 ---------------------------------------------------------------------------------------
def test_usage_shows_the_balances_and_what_the_family_spent(world) -> None:
    chat = user(world, "o_usage")
    assert t.NO_USAGE in first_visit(chat, "USAGE")
    grandchild = bind(world, "王建国", "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    sandbox(world).record_usage(grandchild.binding_id, "西湖区定点药店", Decimal("35.50"))
    answer = click(chat, "USAGE")
    assert "您的个人账户余额 8,614.50 元" in answer
    assert re.search(r"\d\d-\d\d 王\*\* 西湖区定点药店 35\.50 元", answer)


# -- a click in the middle of a flow -------------------------------------------------------------
def test_a_click_mid_binding_asks_first_and_the_draft_waits(world) -> None:
    chat = user(world, "o_mid")
    first_visit(chat, "MY_FAMILY")
    chat.play([("绑定家人", "请问要绑定的家人是您的"), ("老伴", "请输入这位家人的姓名")])
    assert "“政策问答”" not in click(chat, "FAQ")        # an answer, not a service: nothing to leave
    assert texts.STILL_OPEN.format(title="绑定家人") in click(chat, "HOTLINE")
    chat.play([("李秀英", "证件号码")])
    # A service with questions of its own asks before leaving the draft.
    assert click(chat, "UNBIND") == texts.CONFIRM_SWITCH.format(current="绑定家人", target="解除绑定")
    chat.play([("否", "证件号码")])
    # A look at one's records asks nothing: it is shown, and the draft is offered again at once.
    answer = click(chat, "USAGE")
    assert "您的个人账户余额" in answer and texts.RESUME_PAUSED.format(title="绑定家人") in answer
    chat.play([("1", "证件号码"), (person("李秀英").id_number, "承诺书")])


def test_a_click_on_the_paused_service_resumes_it(world) -> None:
    chat = user(world, "o_mid2")
    first_visit(chat, "MY_FAMILY")
    chat.play([("绑定家人", "请问要绑定的家人是您的"), ("老伴", "姓名")])
    click(chat, "UNBIND")
    chat.play([("是", t.NO_ACTIVE_BINDINGS)])
    assert click(chat, "BIND_MEMBER") == texts.RESUME_QUESTION.format(title="绑定家人")
    chat.play([("1", "姓名")])


# -- the bureau's system down ----------------------------------------------------------------------
def test_an_outage_gets_a_polite_try_again_and_the_service_runs_when_it_is_back(make_settings, redis_client) -> None:
    port, key = free_port(), SigningKey("k", "s" * 16)
    settings = make_settings(binding={"adapter": "http", "key_id": key.key_id, "secret": key.secret,
                                      "http": {"base_url": f"http://127.0.0.1:{port}", "retries": 0},
                                      "sandbox": {"verification_code": CODE}})
    app = create_app(settings)
    server = BackgroundServer(app).start()
    bureau = SandboxService(redis_client, Roster.load(None), settings.region, settings.binding.sandbox)
    me = verified(bureau, "王建国", code=CODE)
    who = person("王建国")
    Identities(redis_client, Keys.of(settings),
               settings.conversation.secret_key).link(
        "o_outage", {"person_id": me, "masked_name": "王**", "masked_id_number": "3301**********0111"},
        who.id_number, date.today())
    chat = User(server, WeChatSide(settings.wechat), "o_outage")
    try:
        answer = click(chat, "USAGE")   # nothing listens on the bureau's port
        assert "医保系统繁忙，请稍后再试" in answer and "重试" in answer
        back = BackgroundServer(create_sandbox_app(bureau, key), port=port).start()
        try:
            assert "您的个人账户余额 8,650.00 元" in chat.say("重试")
        finally:
            back.stop()
    finally:
        server.stop()
