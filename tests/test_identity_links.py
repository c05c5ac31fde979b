"""Identity links bound to their openid (issue 14, point 5): through the real /wechat endpoint,
real Redis and the sandbox bureau."""

from __future__ import annotations

import time
import uuid
from datetime import date

from bot.conversations.identities import Identities
from flows import texts
from flows.texts import verify as verify_texts
from tests.support.binding import person
from tests.support.chat import CODE, User, verify_rows
from tests.test_verification_limits import NOT_ON_FILE, start

ASKS_TO_VERIFY = "先验证一下您的身份"


def verified(user: User) -> None:
    user.play([("验证身份", "姓名"), *verify_rows("王建国"), (CODE, "身份验证成功")])


def link_made_at(app, openid: str, seconds_ago: float, person_id: str | None = None) -> None:
    """A link as the bot writes it, made `seconds_ago` (the bureau knows the person as verified)."""
    bot = app.extensions["wxbot"]
    who = person("王建国")
    verified_person = {"person_id": person_id or _person_id(app), "masked_name": "王**",
                       "masked_id_number": "3301**********0111"}
    Identities(bot.redis, bot.keys, bot.settings.conversation.secret_key,
               clock=lambda: time.time() - seconds_ago).link(openid, verified_person, who.id_number, date.today())


def _person_id(app) -> str:
    from bot.binding.models import VerificationAnswer, VerificationStart
    bot, who = app.extensions["wxbot"], person("王建国")
    challenge = bot.binding.start_verification(VerificationStart(openid="o_setup", name=who.name,
                                                                 id_number=who.id_number))
    return bot.binding.complete_verification(challenge.challenge_id,
                                             VerificationAnswer(openid="o_setup", code=CODE)).person_id


def _bound_grandchild(app) -> tuple[str, str]:
    """王建国 with 王朵朵 (a minor, proof given) bound at the bureau: (his person id, the binding)."""
    from bot.binding.models import ApplicationRequest
    from flows.domain.relationships import Relationship
    granddaughter = person("王朵朵")
    application = app.extensions["wxbot"].binding.submit_application(ApplicationRequest(
        initiator_id=(person_id := _person_id(app)), member_name=granddaughter.name,
        member_id_number=granddaughter.id_number, relationship=Relationship.GRANDCHILD, pledge_accepted=True,
        proof_media_ids=["media-hukou"], idempotency_key=uuid.uuid4().hex))
    return person_id, application.binding_id


def test_a_link_copied_to_another_openids_key_is_refused(chat_world) -> None:
    app, server, side = chat_world
    verified(User(server, side, "o_victim"))
    bot = app.extensions["wxbot"]
    bot.redis.set(bot.keys.identity("o_thief"), bot.redis.get(bot.keys.identity("o_victim")))
    assert ASKS_TO_VERIFY in User(server, side, "o_thief").say("共济记录")
    assert "可供家人共济使用" in User(server, side, "o_victim").say("共济记录")   # the real one still works


def test_links_last_thirty_days_then_verification_is_asked_again(chat_world) -> None:
    app, server, side = chat_world
    bot = app.extensions["wxbot"]
    link_made_at(app, "o_recent", 29 * 86400)
    link_made_at(app, "o_old", 31 * 86400)
    assert "可供家人共济使用" in User(server, side, "o_recent").say("共济记录")
    assert ASKS_TO_VERIFY in User(server, side, "o_old").say("共济记录")
    assert 0 < bot.redis.ttl(bot.keys.identity("o_recent")) <= 30 * 86400


def test_binding_unbinding_and_consent_need_a_new_code_after_fifteen_minutes(chat_world) -> None:
    app, server, side = chat_world
    link_made_at(app, "o_stale", 20 * 60)
    user = User(server, side, "o_stale")
    assert "可供家人共济使用" in user.say("共济记录")                 # looking needs no new code
    for service in ("绑定家人", "解除绑定", "同意 AB12CD"):
        assert user.say(service).startswith(verify_texts.ASK_NAME_AGAIN.split("\n")[0]), service
        user.play([("取消", "取消"), ("是", "已取消")])
    user.play([("绑定家人", "再验证一次身份"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的")])

    link_made_at(app, "o_fresh", 5 * 60)
    assert "请问要绑定的家人是您的" in User(server, side, "o_fresh").say("绑定家人")


def test_a_draft_that_acts_after_the_window_asks_for_a_new_code_then_goes_on(chat_world) -> None:
    app, server, side = chat_world
    person_id = _person_id(app)
    link_made_at(app, "o_walked_away", 60)
    user, wife = User(server, side, "o_walked_away"), person("李秀英")
    user.play([("绑定家人", "请问要绑定的家人是您的"), ("老伴", "姓名"), (wife.name, "证件号码"),
               (wife.id_number, "承诺书"), ("同意", "请核对")])
    link_made_at(app, "o_walked_away", 20 * 60, person_id)     # what the bot sees 20 minutes later
    assert user.say("确认").startswith(verify_texts.ASK_NAME_AGAIN.split("\n")[0])   # nothing submitted
    assert not app.extensions["wxbot"].binding.applications(person_id).applications
    answers = user.play([*verify_rows("王建国"), (CODE, "还没有办完"), ("1", "本人确认同意")])
    assert "身份验证成功" in answers[-2]
    assert len(app.extensions["wxbot"].binding.applications(person_id).applications) == 1


def test_an_unbinding_confirmed_after_the_window_asks_for_a_new_code_first(chat_world) -> None:
    app, server, side = chat_world
    person_id, binding_id = _bound_grandchild(app)
    link_made_at(app, "o_unbinds", 60, person_id)
    user = User(server, side, "o_unbinds")
    assert "确定要解除" in user.say("解除绑定")
    link_made_at(app, "o_unbinds", 20 * 60, person_id)
    assert user.say("是").startswith(verify_texts.ASK_NAME_AGAIN.split("\n")[0])
    assert app.extensions["wxbot"].binding.binding(binding_id).status.value == "active"
    user.play([*verify_rows("王建国"), (CODE, "还没有办完"), ("1", "已解除")])
    assert app.extensions["wxbot"].binding.binding(binding_id).status.value == "ended"


def test_a_second_account_is_told_in_the_first_which_can_sign_out(chat_world) -> None:
    _, server, side = chat_world
    first, second = User(server, side, "o_first"), User(server, side, "o_second")
    verified(first)
    verified(second)
    told = first.say("共济记录")
    assert told.startswith(texts.LINKED_ELSEWHERE.split("{at}")[0].format(name="王**"))
    assert "可供家人共济使用" in told                           # and then the answer asked for
    assert "【安全提醒】" not in first.say("你好")              # told once
    assert "【安全提醒】" not in second.say("你好")             # the newer account is not warned about itself
    assert first.say("退出验证") == verify_texts.CONFIRM_SIGN_OUT
    assert first.say("是") == verify_texts.SIGNED_OUT
    assert ASKS_TO_VERIFY in first.say("共济记录")
    assert "可供家人共济使用" in second.say("共济记录")
    assert User(server, side, "o_nobody").say("退出验证") == verify_texts.NOT_SIGNED_IN


def test_signing_out_is_asked_once_and_takes_the_drafts_with_it(chat_world) -> None:
    _, server, side = chat_world
    user = User(server, side, "o_shared_phone")
    verified(user)
    user.play([("绑定家人", "请问要绑定的家人是您的"), ("老伴", "姓名"), ("李秀英", "证件号码"),
               ("不要退出验证", "要先去“退出验证”吗"), ("否", "证件号码"),      # a slip signs nobody out
               ("退出验证", "要先去“退出验证”吗"), ("是", "确定要退出身份验证吗"), ("不退出", "已保留您的身份验证"),
               ("退出验证", "确定要退出身份验证吗"), ("是", "已退出身份验证")])
    answer = user.say("绑定家人")
    assert ASKS_TO_VERIFY in answer and "还没有办完" not in answer   # the draft went with the link


def test_a_hong_kong_resident_with_a_residence_permit_verifies(make_settings, redis_client, tmp_path) -> None:
    # 港澳台居民居住证 numbers (8x…) are accepted by the ID step; the bureau must be told the type.
    from bot.app import create_app
    from bot.background import BackgroundServer
    from bot.simulator.wechat_side import WeChatSide
    roster = tmp_path / "roster.toml"
    roster.write_text('[[person]]\nname = "陈家明"\nid_number = "810000199001011230"\ninsurance = "employee"\n'
                      'balance = 100.00\ncarried_over = 0.00\nregion = "330100"\nphone = "13900000009"\n',
                      encoding="utf-8")
    settings = make_settings(binding={"sandbox": {"verification_code": CODE, "roster": str(roster)}})
    server = BackgroundServer(create_app(settings)).start()
    try:
        User(server, WeChatSide(settings.wechat), "o_hk").play([
            ("验证身份", "姓名"), ("陈家明", "身份证号码"), ("810000199001011230", "验证码已发送"),
            (CODE, "身份验证成功")])
    finally:
        server.stop()


def test_a_draft_paused_for_reverification_is_not_submitted_under_another_person(chat_world) -> None:
    # 王建国's draft (his wife 李秀英, as his 配偶) waits at the summary; his link is 20 minutes old.
    # Whoever has the phone re-verifies as someone else (their son 王小明): the draft, with
    # 王建国's answers, eligibility and age checks, must not go to the bureau as 王小明's.
    app, server, side = chat_world
    binding = app.extensions["wxbot"].binding
    father = _person_id(app)
    link_made_at(app, "o_shared", 60, father)
    user, wife = User(server, side, "o_shared"), person("李秀英")
    user.play([("绑定家人", "请问要绑定的家人是您的"), ("老伴", "姓名"), (wife.name, "证件号码"),
               (wife.id_number, "承诺书"), ("同意", "请核对")])
    link_made_at(app, "o_shared", 20 * 60, father)
    assert user.say("确认").startswith(verify_texts.ASK_NAME_AGAIN.split("\n")[0])
    answers = user.play([*verify_rows("王小明"), (CODE, "身份验证成功")])
    answers.append(user.say("1"))
    from bot.binding.models import VerificationAnswer, VerificationStart
    who = person("王小明")
    challenge = binding.start_verification(VerificationStart(openid="o_setup2", name=who.name, id_number=who.id_number))
    son_id = binding.complete_verification(challenge.challenge_id, VerificationAnswer(openid="o_setup2", code=CODE)).person_id
    submitted = binding.applications(son_id).applications
    assert not submitted, (answers[-2:], [(a.relationship, a.member_masked_name, a.status) for a in submitted])


def test_the_bureaus_lock_does_not_tell_a_real_pair_from_a_decoy(chat_world) -> None:
    # The guard's lock window starts at the account's first wrong code for an ID number (here one
    # made against a surely-wrong name, a decoy); the bureau's at its first failure for the real
    # person. When the guard's window ends first (simulated: its key gone, as 15 minutes after the
    # decoy's wrong code), the bureau still counts four failures for a real pair, none for a decoy:
    # one more wrong code and a new start tell the two apart.
    app, server, side = chat_world
    bot = app.extensions["wxbot"]
    said = {}
    for openid, id_number in (("o_oracle_real", person("王建国").id_number), ("o_oracle_decoy", NOT_ON_FILE)):
        user = User(server, side, openid)
        start(user, "张三丰", id_number)               # t = 0: a decoy on purpose
        user.say("900000")                              # the guard's window starts here
        start(user, "王建国", id_number)                # t = 13 min: the pair being probed
        for n in range(4):
            user.say(f"{900001 + n:06d}")               # 4 wrong: the guard locks (5), the bureau counts 4 (if real)
        digest = Identities(bot.redis, bot.keys, bot.settings.conversation.secret_key).digest(id_number)
        assert bot.redis.delete(bot.keys.user_limit("lock", openid, digest))   # t = 15 min: the guard's window is over
        said[openid] = [start(user, "王建国", id_number), user.say("900009"), start(user, "王建国", id_number)]
    assert said["o_oracle_real"] == said["o_oracle_decoy"], said


def test_verifying_as_someone_else_mid_draft_does_not_hand_them_the_draft(chat_world) -> None:
    # The same without any staleness: 重新验证 in the middle of a draft pauses it; the verification
    # is done as another person; the draft is offered back ("回复 1 继续") and submitted as theirs.
    app, server, side = chat_world
    binding = app.extensions["wxbot"].binding
    link_made_at(app, "o_shared2", 60, _person_id(app))
    user, wife = User(server, side, "o_shared2"), person("李秀英")
    user.play([("绑定家人", "请问要绑定的家人是您的"), ("老伴", "姓名"), (wife.name, "证件号码"),
               (wife.id_number, "承诺书"), ("重新验证", "吗"), ("是", "姓名")])
    answers = user.play([*verify_rows("王小明"), (CODE, "身份验证成功")])
    answers += [user.say("1"), user.say("同意"), user.say("确认")]
    from bot.binding.models import VerificationAnswer, VerificationStart
    who = person("王小明")
    challenge = binding.start_verification(VerificationStart(openid="o_setup3", name=who.name, id_number=who.id_number))
    son_id = binding.complete_verification(challenge.challenge_id, VerificationAnswer(openid="o_setup3", code=CODE)).person_id
    submitted = binding.applications(son_id).applications
    assert not submitted, (answers[-4:], [(a.relationship, a.member_masked_name) for a in submitted])


def test_an_identity_read_before_still_lapses_on_its_day(redis_client) -> None:
    """Identities are kept decrypted once read (every message reads one); the age check still
    applies to each read, as decrypting would."""
    from datetime import date

    from bot.conversations.identities import Identities
    from bot.store.keys import Keys
    from tests.conftest import CONVERSATION_KEY
    now = [1_700_000_000.0]
    identities = Identities(redis_client, Keys("wxbot", "wx_test"), CONVERSATION_KEY, days=30, clock=lambda: now[0])
    who = person("王建国")
    identities.link("o_cached", {"person_id": "P1", "masked_name": "王*国", "masked_id_number": "1101**"},
                    who.id_number, date(2023, 11, 14))
    assert identities.get("o_cached")["person_id"] == "P1"
    assert identities.get("o_cached")["person_id"] == "P1"   # from what was read before
    now[0] += 30 * 24 * 3600 - 1
    assert identities.get("o_cached") is not None
    now[0] += 2
    assert identities.get("o_cached") is None
