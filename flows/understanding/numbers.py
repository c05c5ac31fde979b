"""Numbers as people type and dictate them: 第一个, 一, 选2, 1号; a code read out digit by digit
(一二三四五六, 幺 for 1); an ID number dictated (三三零一零六…零二二四叉)."""

from __future__ import annotations

import re

import cn2an

# Digit by digit, as numbers are read out (and as voice recognisers write them): no units.
# 幺 (1), 两 (2), 拐 (7), 勾 (9), 洞 (0): how digits are read out so they are not misheard.
# And the financial forms (壹贰叁) some people write numbers in.
_DIGIT_WORDS = {"零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
                "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9",
                "壹": "1", "贰": "2", "叁": "3", "肆": "4", "伍": "5", "陆": "6", "柒": "7", "捌": "8", "玖": "9"}
_DIGITS = "零〇○洞一幺二两三四五六七拐八九勾壹贰叁肆伍陆柒捌玖0-9"
_DIGIT_RUN = re.compile(f"[{_DIGITS}](?:\\s*[{_DIGITS}])+")
_X_WORDS = re.compile(r"(?<=[0-9])[\s,，、]*(?:叉|艾克斯|爱克斯|埃克斯|大写的?x|小写的?x|字母x|x)(?![a-z])", re.IGNORECASE)
_HAS_NUMERAL = re.compile(r"[零〇○洞一幺二两三四五六七拐八九勾十百壹贰叁肆伍陆柒捌玖]")


def spoken_digits(text: str) -> str:
    """Runs of two or more digits read out one by one become digits (三三零一 → 3301); a spoken
    X after digits (叉, 艾克斯) becomes X. Numbers with units (二十三) are left to `number`."""
    if not _HAS_NUMERAL.search(text):
        return _X_WORDS.sub("X", text)
    text = _DIGIT_RUN.sub(lambda run: "".join(_DIGIT_WORDS.get(ch, ch) for ch in run.group()
                                               if ch in _DIGIT_WORDS or ch.isdigit()), text)
    return _X_WORDS.sub("X", text)


_ORDINAL = re.compile(r"^(?:我)?(?:选|选择|第|是|要|回复|就|就是|就选|我选|选的)?(?:第)?"
                      r"([0-9]{1,2}|[一二两三四五六七八九十]{1,3})(?:个|号|项|条|位|种|的|个吧|吧|号吧|个选项|项吧)?$")


def ordinal(word: str) -> int | None:
    """The number of a choice: 1, 第一个, 一, 选2, 2号, 第三项 — from a compact word, else None."""
    found = _ORDINAL.match(word)
    if not found:
        return None
    value = found.group(1)
    if value.isdigit():
        return int(value)
    try:
        # cn2an: the maintained converter for numerals with units (十二, 二十); strict mode
        # refuses anything that is not a well-formed numeral.
        return int(cn2an.cn2an(value.replace("两", "二"), "strict"))
    except (ValueError, KeyError):
        return None
