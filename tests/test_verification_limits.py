"""Verification that cannot be abused (issue 14, point 4): the attacks as they were made, through
the real /wechat endpoint, real Redis and the sandbox bureau, with the default limits."""

from __future__ import annotations

from flows.texts import verify as verify_texts
from tests.support.binding import person
from tests.support.chat import CODE, User

LIMITED = "尝试次数已经达到上限"


def codes_sent(app) -> int:
    return app.extensions["wxbot"].redis.llen(f"{app.extensions['wxbot'].settings.redis.key_prefix}:sandbox:sms")


def start(user: User, name: str, id_number: str | None = None) -> str:
    """From wherever the user is: verification from the top, up to the code."""
    user.say("取消")
    user.say("是")
    user.say("验证身份")
    user.say(name)
    return user.say(id_number or person(name).id_number)


def test_one_openid_gets_five_codes_an_hour_then_a_polite_wait(chat_world) -> None:
    app, server, side = chat_world
    attacker = User(server, side, "o_bomber")
    answers = [start(attacker, "王建国") for _ in range(8)]
    assert all(a == verify_texts.ASK_CODE for a in answers[:5])
    assert all(LIMITED in a and "60 分钟后再试" in a and "12393" in a for a in answers[5:])
    assert codes_sent(app) == 5          # was 30 in 0.8 s


def test_one_person_gets_five_codes_an_hour_whoever_asks(chat_world) -> None:
    app, server, side = chat_world
    answers = [start(User(server, side, f"o_asker{n}"), "王建国") for n in range(7)]
    assert [LIMITED in a for a in answers] == [False] * 5 + [True] * 2
    assert codes_sent(app) == 5


def test_one_openid_verifies_at_most_three_people_a_day(chat_world) -> None:
    _, server, side = chat_world
    prober = User(server, side, "o_prober")
    answers = [start(prober, name) for name in ("王建国", "李秀英", "王建华", "赵丽")]
    assert [LIMITED in a for a in answers] == [False, False, False, True]
    assert "24 小时后再试" in answers[-1]
    assert start(prober, "李秀英") == verify_texts.ASK_CODE   # one already tried today still may be


def test_an_unmatched_pair_is_answered_like_a_matched_one(chat_world) -> None:
    app, server, side = chat_world
    right = start(User(server, side, "o_a"), "王建国")
    wrong = start(User(server, side, "o_b"), "李建国", person("王建国").id_number)      # name differs
    unknown = start(User(server, side, "o_c"), "王建国", "11010519491231002X")         # not on file
    assert right == wrong == unknown == verify_texts.ASK_CODE
    assert "不一致" not in wrong and "*" not in right       # no oracle, no phone hint
    assert codes_sent(app) == 1                               # only the real pair reached a phone


def test_ten_wrong_codes_an_hour_from_one_openid_then_nothing_reaches_the_bureau(chat_world) -> None:
    app, server, side = chat_world
    guesser = User(server, side, "o_guesser")
    tried = []
    for name in ("王建国", "李秀英", "王建华", "王建国", "李秀英"):   # five codes, three people
        assert start(guesser, name) == verify_texts.ASK_CODE
        tried += [guesser.say(f"{n:06d}") for n in range(2)]
    assert all("验证码不对" in a for a in tried[:-1])
    assert LIMITED in tried[-1]                       # said at the tenth, not after an eleventh
    redis = app.extensions["wxbot"].redis
    assert sum(int(redis.get(key)) for key in redis.scan_iter("*:sandbox:failures:*")) == 10
    assert LIMITED in start(guesser, "王建国")         # nothing guessable until the hour is over
    assert sum(int(redis.get(key)) for key in redis.scan_iter("*:sandbox:failures:*")) == 10


def test_a_strangers_wrong_codes_never_lock_the_person_out(chat_world) -> None:
    _, server, side = chat_world
    stranger = User(server, side, "o_stranger")
    answers = []
    for tries in (2, 2, 1):
        start(stranger, "王建国")
        answers += [stranger.say(f"{n:06d}") for n in range(tries)]
    assert LIMITED in answers[-1] and "15 分钟后再试" in answers[-1]   # the fifth wrong code locks its sender
    owner = User(server, side, "o_owner")
    assert start(owner, "王建国") == verify_texts.ASK_CODE
    assert "身份验证成功" in owner.say(CODE)


def test_consent_codes_cannot_be_guessed_at_speed(chat_world) -> None:
    _, server, side = chat_world
    guesser = User(server, side, "o_consent_guesser")
    start(guesser, "李秀英")
    guesser.say(CODE)
    answers = [guesser.say(f"同意 {n:06X}") for n in range(12)]
    assert all("确认码不正确" in a for a in answers[:9])
    assert all(LIMITED in a for a in answers[9:])   # the tenth wrong code is the last tried


def test_members_name_and_id_pairs_cannot_be_probed_at_speed(chat_world) -> None:
    # A verified user could test a leaked list through binding applications: the bureau says
    # whether a member's name matches the ID number. Those answers count as wrong guesses too.
    _, server, side = chat_world
    prober = User(server, side, "o_member_prober")
    prober.play([("绑定家人", "姓名"), ("王建国", "身份证号码"), (person("王建国").id_number, "验证码已发送"),
                 (CODE, "请问要绑定的家人是您的"), ("1", "姓名")])
    wife = person("李秀英")
    answers = []
    for n in range(11):
        prober.say(f"李秀{'一二三四五六七八九十丁'[n]}")
        prober.say(wife.id_number)
        prober.say("同意")
        answers.append(prober.say("确认"))
    assert all("不一致" in a for a in answers[:9])
    assert LIMITED in answers[9] and "60 分钟后再试" in answers[9]


NOT_ON_FILE = "11010519491231002X"   # a valid ID number nobody on the roster has


def test_a_decoy_and_a_real_challenge_answer_alike_to_the_end(chat_world) -> None:
    # Five wrong codes and a new start, for a real pair and for one not on file: every answer the
    # same (the bureau's own lock of the real one is said the guard's way).
    _, server, side = chat_world
    real, decoy = User(server, side, "o_probe_real"), User(server, side, "o_probe_decoy")
    said = {}
    for user, id_number in ((real, None), (decoy, NOT_ON_FILE)):
        said[user.openid] = [start(user, "王建国", id_number)]
        said[user.openid] += [user.say(f"{900000 + n:06d}") for n in range(5)]
        said[user.openid].append(start(user, "王建国", id_number))
    assert said["o_probe_real"] == said["o_probe_decoy"]
    assert LIMITED in said["o_probe_real"][5] and "15 分钟后再试" in said["o_probe_real"][5]


def test_every_wrong_code_counts_whatever_the_bureau_calls_it(chat_world) -> None:
    app, server, side = chat_world
    guesser = User(server, side, "o_many_guesses")
    for name, tries in (("王建国", 5), ("李秀英", 5), ("王建华", 3)):
        start(guesser, name)
        for n in range(tries):
            guesser.say(f"{900000 + n:06d}")
    redis = app.extensions["wxbot"].redis
    assert sum(int(redis.get(key)) for key in redis.scan_iter("*:sandbox:failures:*")) == 10


def test_a_stranger_with_only_the_id_number_cannot_use_up_the_persons_codes(chat_world) -> None:
    _, server, side = chat_world
    stranger = User(server, side, "o_stranger_dos")
    for _ in range(5):
        assert start(stranger, "张三", person("王建国").id_number) == verify_texts.ASK_CODE
    assert start(User(server, side, "o_real_owner"), "王建国") == verify_texts.ASK_CODE


def test_the_persons_own_account_is_never_kept_out_by_others(chat_world) -> None:
    _, server, side = chat_world
    owner = User(server, side, "o_owner_linked")
    start(owner, "王建国")
    assert "身份验证成功" in owner.say(CODE)
    for n in range(5):   # strangers with the whole leaked pair use up its codes for the hour
        start(User(server, side, f"o_leaked_{n}"), "王建国")
    assert LIMITED in start(User(server, side, "o_leaked_more"), "王建国")
    assert start(owner, "王建国") == verify_texts.ASK_CODE   # re-verifying (a new code) still works


def test_an_account_signed_out_is_no_longer_the_persons_own(chat_world) -> None:
    _, server, side = chat_world
    former = User(server, side, "o_former_owner")
    start(former, "王建国")
    assert "身份验证成功" in former.say(CODE)
    former.play([("退出验证", "确定要退出"), ("是", "已退出")])
    for n in range(5):
        start(User(server, side, f"o_leaked_{n}"), "王建国")
    assert LIMITED in start(former, "王建国")
