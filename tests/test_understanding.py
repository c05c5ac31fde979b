"""The understanding layer on its own: what a message means, as people really write it.
(tests/corpus/ holds the big tables, replayed through the real endpoint.)"""

from __future__ import annotations

import pytest

from flows.catalog import ENGINE
from flows.understanding import read


@pytest.mark.parametrize("text, kind, meaning", [
    ("是的！", "", True), ("对对对", "", True), ("没错", "", True), ("是滴", "", True), ("嗯呢", "", True),
    ("可以的", "", True), ("行吧", "", True), ("确认无误", "", True), ("我同意", "", True), ("好的同意", "", True),
    ("👍", "", True), ("[强]", "", True), ("[OK]", "", True), ("１", "", True), (" OK ", "", True),
    ("错了", "", False), ("不是的", "", False), ("填错了", "", False), ("不对不对", "", False), ("我再想想", "", False),
    ("不太同意", "pledge", False), ("同竟", "pledge", True), ("同意，都是真实的", "pledge", True),
    # The pending question gives short answers their meaning.
    ("取消", "cancel", True), ("继续", "cancel", False), ("不取消", "cancel", False), ("取消", "", None),
    ("不解除", "unbind", False), ("解除吧", "unbind", True), ("嗯，不给她用了", "unbind", True),
    ("好的不同意", "pledge", False), ("也许", "", None), ("是不是", "", None), ("", "", None), ("李秀英", "", None),
])
def test_yes_and_no_in_context(text: str, kind: str, meaning: bool | None) -> None:
    assert read(text).yes_no(kind) is meaning


@pytest.mark.parametrize("text, relationship", [
    ("我的老伴", "spouse"), ("是我老伴", "spouse"), ("老伴儿", "spouse"), ("俺娘", "parent"), ("我哥", "sibling"),
    ("孙女儿", "grandchild"), ("我家闺女", "child"), ("外孙", "grandchild"), ("老拌", "spouse"), ("女而", "child"),
    ("儿纸", "child"), ("父毋", "parent"), ("姥姥", "grandparent"), ("阿妈", "parent"),
])
def test_relatives_in_any_words(text: str, relationship: str) -> None:
    kin = read(text).kin
    assert kin is not None and kin.relationship == relationship and kin.typed is None


@pytest.mark.parametrize("text, refused", [
    ("儿媳", "child_in_law"), ("女婿", "child_in_law"), ("公婆", "parent_in_law"), ("丈母娘", "parent_in_law"),
    ("侄子", "nephew_niece"), ("表哥", "cousin"), ("我老伴的妈", "parent_in_law"), ("我儿子的媳妇", "child_in_law"),
])
def test_relatives_the_rules_never_allow(text: str, refused: str) -> None:
    assert read(text).kin.refused == refused


def test_words_that_need_a_question() -> None:
    assert read("媳妇").kin.options == ("spouse", "child_in_law")   # wife, or a son's wife
    boss = read("老板").kin                                         # sounds like 老伴, but is a word
    assert (boss.word, boss.typed) == ("老伴", "老板")
    assert read("我姑娘").kin_within is None                        # 姑娘 is not 姑 (an aunt)


@pytest.mark.parametrize("text, name, sure", [
    ("李秀英女士", "李秀英", True), ("她叫李秀英", "李秀英", True), ("我叫王建国", "王建国", True),
    ("名字是李秀英", "李秀英", True), ("李 秀 英", "李秀英", True), ("王建國", "王建国", True),
    ("阿卜杜•热合曼", "阿卜杜·热合曼", True), ("欧阳娜娜", "欧阳娜娜", True), ("王建国 男", "王建国", True),
    ("李秀英🙏", "李秀英", True), ("秀英", "秀英", False), ("John Smith", "John Smith", False),
])
def test_names_and_how_sure(text: str, name: str, sure: bool) -> None:
    guess = read(text).name
    assert (guess.value, guess.sure) == (name, sure)


@pytest.mark.parametrize("text", ["你好", "在吗", "好的", "收到", "我去拿一下身份证", "第一个", "张3", "张", "123",
                                  "", "😀", "验证码", "不想办了", "怎么弄"])
def test_not_names(text: str) -> None:
    guess = read(text).name
    assert guess is None or not guess.sure


@pytest.mark.parametrize("text, name", [
    ("帮我把老伴李秀英绑上，身份证330106196408220224", "李秀英"), ("我妈叫张桂兰，帮我把她加进家庭共济", "张桂兰"),
    ("想给我闺女王丽开通共济", "王丽"), ("我想给我老伴办家庭共济", None), ("帮我妈绑定一下", None),
])
def test_a_name_inside_a_request(text: str, name: str | None) -> None:
    guess = read(text).name_within
    assert (guess.value if guess else None) == name


@pytest.mark.parametrize("text, numbers", [
    ("身份证号是330106196408220224。", ("330106196408220224",)),
    ("3301 0619 6408 2202 24", ("330106196408220224",)),
    ("330106，19640822，0224", ("330106196408220224",)),
    ("11010519491231002x", ("11010519491231002X",)),
    ("３３０１０６１９６４０８２２０２２４", ("330106196408220224",)),
    ("三三零一零六一九六四零八二二零二二四", ("330106196408220224",)),
    ("幺幺零幺零二幺九八四零四零六九拐零叉", ("11010219840406970X",)),
    ("330106196408220224 330106199006070319", ("330106196408220224", "330106199006070319")),
    ("𐩀𐩁𐩂", ()), ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨", ()),   # other scripts' digits are not ID numbers
])
def test_id_numbers_with_words_around_them(text: str, numbers: tuple[str, ...]) -> None:
    assert read(text).id_numbers == numbers


@pytest.mark.parametrize("text, code", [
    ("验证码是123456", "123456"), ("123456。", "123456"), ("验证码：１２３４５６", "123456"),
    ("【医保】验证码123456，尾号5678的手机正在验证身份，10分钟内有效。", "123456"),
    ("一二三四五六", "123456"), ("幺二三，四五六。", "123456"),
])
def test_codes(text: str, code: str) -> None:
    assert read(text).codes == (code,)


@pytest.mark.parametrize("text, code", [
    ("同意 AB12CD", "AB12CD"), ("我同意，ab12cd", "AB12CD"), ("ＡＢ１２ＣＤ", "AB12CD"), ("同意 AB 12 CD", "AB12CD"),
    ("确认码：123456，我同意", "123456"), ("123456", None), ("你好", None),
])
def test_consent_codes(text: str, code: str | None) -> None:
    assert read(text).consent_code == code


@pytest.mark.parametrize("text, number", [
    ("1", 1), ("第一个", 1), ("一", 1), ("选2", 2), ("2号", 2), ("第三项", 3), ("我选第6个", 6), ("十二", 12),
    ("好", None), ("𐩀", None),
])
def test_choice_numbers(text: str, number: int | None) -> None:
    assert read(text).number == number


@pytest.mark.parametrize("text, move", [
    ("帮助", "help"), ("怎么弄", "help"), ("听不懂", "help"), ("?", "help"), ("人工", "human"), ("转人工", "human"),
    ("你好", "greeting"), ("在吗？", "greeting"), ("谢谢", "thanks"), ("🙏", "thanks"), ("稍等", "wait"),
    ("回去", "back"), ("返回上一步", "back"), ("不想办了", "cancel"), ("不办了", "cancel"), ("重新来", "restart"),
    ("重来一遍", "restart"), ("李秀英", None), ("好的", None),
])
def test_moves(text: str, move: str | None) -> None:
    assert read(text).move == move


def test_moves_inside_a_sentence() -> None:
    assert read("我去拿一下身份证").move_inside == "wait"
    assert read("机器人听不懂，找个人").move_inside == "human"


@pytest.mark.parametrize("text, flow", [
    ("我想给我老伴办家庭共济", "bind_member"), ("帮我妈绑定一下", "bind_member"), ("邦定", "bind_member"),
    ("家庭公济", "bind_member"), ("bangding", "bind_member"), ("查一下我绑了谁", "my_family"),
    ("不想给他用了", "unbind"), ("取消绑定", "unbind"), ("接触绑定", "unbind"), ("钱先扣谁的", "deduction_order"),
    ("审核通过了没有", "progress"), ("还剩多少钱", "usage"), ("今天天气不错", None),
])
def test_services_asked_for_in_a_sentence(text: str, flow: str | None) -> None:
    found = ENGINE.intents.find(read(text).word)
    assert (found[0] if found else None) == flow


def test_every_relative_word_is_in_one_place_and_no_move_or_answer_word() -> None:
    from collections import Counter

    from flows.understanding.lexicon import WORDS, load
    kinship = load("kinship.toml")
    words = [w for part in ("allowed", "refused") for group in kinship[part].values() for w in group]
    words += list(kinship["ambiguous"])
    assert [w for w, n in Counter(words).items() if n > 1] == []
    everyday = {w for move in WORDS["move"].values() for w in move["words"]} | set(WORDS["answer"]["yes"])
    assert everyday & set(words) == set()


def test_the_services_vocabulary_names_only_flows_and_their_steps() -> None:
    """lexicon/services.toml: a table per flow started by words, aliases only for its labelled steps."""
    from flows.catalog import FLOWS
    from flows.understanding.lexicon import SERVICES
    assert set(SERVICES) == {flow.id for flow in FLOWS.values() if flow.entry and flow.entry.recognises is None}
    for flow_id, words in SERVICES.items():
        assert tuple(words["phrases"]) == FLOWS[flow_id].entry.phrases
        for step, aliases in words.get("aliases", {}).items():
            assert FLOWS[flow_id].steps[step].label and tuple(aliases) == FLOWS[flow_id].steps[step].aliases


@pytest.mark.parametrize("text", ["王叔叔", "李大爷", "王师傅", "张医生", "王哥", "姚姐", "毛弟弟", "李阿姨"])
def test_a_surname_with_a_form_of_address_is_no_name(text: str) -> None:
    assert read(text).name is None


@pytest.mark.parametrize("text", ["李想", "王能", "张会", "孙子涵", "李一一", "周乾", "於梅"])
def test_real_names_that_look_like_words_are_asked_about_never_refused(text: str) -> None:
    guess = read(text).name
    assert guess is not None and guess.value == text
