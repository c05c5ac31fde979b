"""A binding's end reaches both of its people exactly once (issue 17, point 4): whoever ends it in
the chat has the reply as their receipt, the other one a notification — the member too, found
through their identity link, in the member's words. Through the real /wechat endpoint, the
bureau's signed callback, the decisions stream, the worker and the fake WeChat API, on a real
Redis and the sandbox bureau."""

from __future__ import annotations

import re
import threading

from bot.binding.decisions import INITIATOR, MEMBER
from bot.binding.factory import signing_key
from bot.binding.models import ConsentAnswer, Decision
from bot.binding.signing import sign
from bot.notify.worker import Worker
from flows.domain.relationships import Relationship
from tests import test_services_e2e
from tests.support.binding import person
from tests.support.chat import CODE, User, click, verify_rows
from tests.test_binding_contract import verified
from tests.test_notifications import deliver_callbacks, fake, sent, work
from tests.test_services_e2e import bind

RECEIPT = "这条消息就是解除回执"
world = test_services_e2e.world   # the same fixture: the webhook, the sandbox and the fake API


def user(world, openid: str) -> User:
    return User(world.server, world.side, openid)


def applied_here(world, initiator: User, word: str, member: str) -> str:
    """`initiator` (王建国) applies through this account for `member`, whom they call `word`: the
    consent code the member is given."""
    initiator.play([("绑定家人", "先验证一下您的身份"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的"),
                    (word, "姓名"), (member, "证件号码"), (person(member).id_number, "承诺书"), ("同意", "请核对")])
    return re.search(r"同意 ([0-9A-F]{6})", initiator.say("确认")).group(1)


def consented_elsewhere(world, code: str, member: str) -> None:
    """The member agrees in the bureau's own app: this account hears nothing of it."""
    world.bot.binding.answer_consent(code, ConsentAnswer(person_id=verified(world.bot.binding, member, code=CODE),
                                                         agree=True))


def consented_here(member: User, code: str, name: str) -> None:
    member.play([(f"同意 {code}", "先验证一下您的身份"), *verify_rows(name), (CODE, "授权给您使用"), ("同意", "您已同意")])


def verifies_here(member: User, name: str) -> None:
    """The member uses this account too: they verified who they are (a look at 我的家人)."""
    assert "先验证一下您的身份" in click(member, "MY_FAMILY")
    member.play([*verify_rows(name), (CODE, "身份验证成功")])


def binding_of(world, member: str):
    [sharer] = world.bot.binding.sharers(person(member).person_id).sharers
    return sharer


def callback_again(world, sharer, reason: str, kind: str = "binding.ended", status: str = "ended") -> bool:
    """The bureau repeats its callback for the binding's end (a new event id and nonce): whether
    the bot recorded anything new."""
    decision = Decision(event_id=f"again:{sharer.binding_id}", kind=kind, application_id=sharer.application_id,
                        binding_id=sharer.binding_id, status=status, reason=reason, decided_at=sharer.ended_at)
    body = decision.model_dump_json().encode()
    response = world.app.test_client().post(
        "/binding/callback", data=body,
        headers={"Content-Type": "application/json",
                 **sign(signing_key(world.settings), "POST", "/binding/callback", body)})
    assert response.status_code == 200
    return response.get_json()["recorded"]


def ended_cards(world) -> list[dict]:
    return [m for m in sent(world.fake_wechat) if m["template_id"] == "TPL_BINDING_ENDED"]


def values(card: dict) -> dict[str, str]:
    return {keyword: item["value"] for keyword, item in card["data"].items()}


def test_the_initiator_ends_it_the_member_hears_once_in_their_own_words(world) -> None:
    """王建国 binds his wife here; she consents in the bureau's app and uses this account too. He
    ends it here: his receipt is the reply, hers one card naming him, from her side."""
    dad, wife = user(world, "o_dad"), user(world, "o_wife")
    consented_elsewhere(world, applied_here(world, dad, "老伴", "李秀英"), "李秀英")
    verifies_here(wife, "李秀英")
    deliver_callbacks(world.app)
    work(world.settings)   # the approval, his
    assert [m["touser"] for m in sent(world.fake_wechat)] == ["o_dad"]

    assert RECEIPT in dad.play([("解除绑定", "确定要解除与配偶 李**的共济关系吗"), ("是", "已解除与配偶 李**的共济关系")])[-1]
    sharer = binding_of(world, "李秀英")
    assert (sharer.status, sharer.end_reason) == ("ended", "ended_by_initiator")

    deliver_callbacks(world.app)   # the bureau reports the same unbinding
    assert callback_again(world, sharer, "ended_by_initiator") is False   # and again: nothing new
    fake(world.fake_wechat, "fail", [{"status": 502, "path": "template"}])   # her card goes on its retry
    work(world.settings)
    work(world.settings)
    [card] = ended_cards(world)
    assert card["touser"] == "o_wife"
    assert values(card) == {"thing1": "王**", "phrase2": "已解除", "thing3": "家人申请解除",
                            "time4": values(card)["time4"]}
    assert "李" not in values(card)["thing1"]   # the other party's name, never her own
    assert not [m for m in ended_cards(world) if m["touser"] == "o_dad"]   # his receipt was the reply
    assert [party for d, _, party in world.bot.decisions.told() if d.kind == "binding.ended"] == [MEMBER]


def test_the_member_ends_it_the_initiator_hears_once(world) -> None:
    """The son consented here and ends it here: his receipt is the reply, his father's one card."""
    dad, son = user(world, "o_dad2"), user(world, "o_son2")
    consented_here(son, applied_here(world, dad, "儿子", "王小明"), "王小明")

    assert RECEIPT in son.play([("解除绑定", "确定要解除与父母 王**的共济关系吗"), ("是", "已解除与父母 王**")])[-1]
    sharer = binding_of(world, "王小明")
    deliver_callbacks(world.app)
    assert callback_again(world, sharer, "ended_by_member") is False
    work(world.settings)
    work(world.settings)
    [card] = ended_cards(world)
    assert card["touser"] == "o_dad2" and values(card)["thing1"] == "王**" and values(card)["thing3"] == "家人申请解除"
    assert not [m for m in sent(world.fake_wechat) if m["touser"] == "o_son2"]
    assert [party for d, _, party in world.bot.decisions.told() if d.kind == "binding.ended"] == [INITIATOR]


def test_a_member_who_never_used_the_account_is_simply_not_told(world, capfd) -> None:
    dad = user(world, "o_dad3")
    consented_elsewhere(world, applied_here(world, dad, "老伴", "李秀英"), "李秀英")
    assert RECEIPT in dad.play([("解除绑定", "确定要解除"), ("是", "已解除与配偶 李**")])[-1]
    deliver_callbacks(world.app)
    capfd.readouterr()
    work(world.settings)
    logged = "".join(capfd.readouterr())
    assert ended_cards(world) == []
    assert [d.kind for d, _ in world.bot.decisions.recorded()] == ["application.decided"]   # the approval's card
    assert world.bot.redis.zcard(world.bot.keys.notification_dead()) == 0
    assert "error" not in logged.lower() and "decision_without_owner" not in logged


def test_ended_by_the_bureau_both_hear_once_each_whatever_repeats(world) -> None:
    """An automatic termination: nobody ended it in the chat, so both are told — the initiator in
    his words, the member in hers — however often the callback comes and however many workers run."""
    dad, wife = user(world, "o_dad4"), user(world, "o_wife4")
    consented_here(wife, applied_here(world, dad, "老伴", "李秀英"), "李秀英")
    sharer = binding_of(world, "李秀英")
    world.bot.binding.terminate(sharer.binding_id)
    deliver_callbacks(world.app)
    ended = binding_of(world, "李秀英")
    assert callback_again(world, ended, "relationship_terminated", "binding.terminated", "terminated") is False

    workers = [Worker(world.settings, name=f"w{i}") for i in range(2)]   # two at once
    threads = [threading.Thread(target=w.run, kwargs={"burst": True}) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    work(world.settings)
    cards = sorted(ended_cards(world), key=lambda m: m["touser"])
    assert [m["touser"] for m in cards] == ["o_dad4", "o_wife4"]
    to_dad, to_wife = (values(m) for m in cards)
    assert to_dad["thing1"] == "李**" and to_wife["thing1"] == "王**"
    assert to_dad["thing3"] == to_wife["thing3"] == "参保状态变化自动解除"


def test_a_member_who_unfollowed_finds_the_news_at_their_next_message_in_their_words(world) -> None:
    """WeChat answers 43004 for the son (he unfollowed, and the bot did not hear of it): the news
    waits for his next message, naming his father as his relative."""
    dad, son = user(world, "o_dad5"), user(world, "o_son5")
    consented_elsewhere(world, applied_here(world, dad, "儿子", "王小明"), "王小明")
    verifies_here(son, "王小明")
    fake(world.fake_wechat, "unfollow", {"openid": "o_son5"})
    dad.play([("解除绑定", "确定要解除与子女 王**"), ("是", RECEIPT)])
    deliver_callbacks(world.app)
    work(world.settings)
    assert ended_cards(world) == []
    news = son.say("你好")
    assert news.startswith("【办理结果】父母 王** 为您办理的家庭共济已解除：家人申请解除（")
    assert not son.say("你好").startswith("【办理结果】")   # shown once


def test_a_member_who_consented_here_is_told_of_a_binding_applied_for_elsewhere(world) -> None:
    """王建国 applied in the bureau's app (the bot never saw the son's ID number, nor knows the
    father's account); the son consented here. The bureau ends it: the son is told; the father's
    news waits, as every decision does, for the bot to learn his account."""
    son = user(world, "o_son6")
    application = bind(world, "王建国", "王小明", Relationship.CHILD)
    consented_here(son, application.consent.code, "王小明")
    world.bot.binding.terminate(binding_of(world, "王小明").binding_id)
    deliver_callbacks(world.app)
    work(world.settings)
    [card] = ended_cards(world)
    assert card["touser"] == "o_son6" and values(card)["thing1"] == "王**"
    assert [(d.kind, party) for d, _, party in world.bot.decisions.told()] == [("binding.terminated", MEMBER)]


def test_a_member_who_signed_out_is_not_told(world) -> None:
    dad, wife = user(world, "o_dad7"), user(world, "o_wife7")
    consented_here(wife, applied_here(world, dad, "老伴", "李秀英"), "李秀英")
    wife.play([("退出验证", "确定要退出身份验证吗"), ("是", "已退出身份验证")])
    dad.play([("解除绑定", "确定要解除与配偶 李**"), ("是", RECEIPT)])
    deliver_callbacks(world.app)
    work(world.settings)
    assert ended_cards(world) == []


def test_a_binding_is_remembered_while_it_lasts_then_for_the_late_callbacks(world) -> None:
    """Bindings last years: the application's owner and member outlive the half year an undecided
    application is remembered once it is approved, so that its end, whenever it comes, is told to
    both; after the end they are kept a half year more, for callbacks still on their way."""
    from bot.binding.decisions import BINDING_KEPT, OWNER_TTL

    dad, wife = user(world, "o_dad6"), user(world, "o_wife6")
    code = applied_here(world, dad, "老伴", "李秀英")
    application_id = binding_of_application(world, dad)
    records = (world.bot.keys.application_owner(application_id), world.bot.keys.application_member(application_id))
    assert all(0 < world.bot.redis.ttl(key) <= OWNER_TTL for key in records)       # waiting for its decision
    consented_here(wife, code, "李秀英")
    deliver_callbacks(world.app)
    assert all(OWNER_TTL < world.bot.redis.ttl(key) <= BINDING_KEPT for key in records)   # approved
    world.bot.binding.terminate(binding_of(world, "李秀英").binding_id)
    deliver_callbacks(world.app)
    assert all(0 < world.bot.redis.ttl(key) <= OWNER_TTL for key in records)       # ended


def test_one_phone_for_both_people_gets_one_card(world) -> None:
    """王建国 applied for his wife from his phone, and later verified on it as her (he helps her):
    the openid is both the initiator's and the member's newest. When the bureau ends the binding,
    that phone gets one card, the initiator's — not two contradicting each other."""
    dad, wife = user(world, "o_dad7"), user(world, "o_wife7")
    consented_here(wife, applied_here(world, dad, "老伴", "李秀英"), "李秀英")
    deliver_callbacks(world.app)
    work(world.settings)
    world.bot.redis.delete(world.bot.keys.identity("o_wife7"))   # she stopped using her own
    world.bot.redis.delete(world.bot.keys.identity("o_dad7"))    # his verification lapsed (30 days)
    verifies_here(dad, "李秀英")                                 # the same phone, now as her
    world.bot.binding.terminate(binding_of(world, "李秀英").binding_id)
    deliver_callbacks(world.app)
    work(world.settings)
    assert [(m["touser"], values(m)["thing1"]) for m in ended_cards(world)] == [("o_dad7", "李**")]


def binding_of_application(world, initiator: User) -> str:
    """The id of the application `initiator` submitted last (the bureau's record of them)."""
    [application_id] = [a for a, o in ((k.decode().rsplit(":", 1)[1], world.bot.redis.get(k))
                                       for k in world.bot.redis.scan_iter(match=world.bot.keys.application_owner("*")))
                        if o == initiator.openid.encode()]
    return application_id
