"""ID numbers and codes inside whatever was said around them: “身份证号是3301…”, a pasted SMS,
separators, a full stop, digits read out."""

from __future__ import annotations

import re

from flows.understanding.numbers import spoken_digits

# Groups of digits (the last may end in X; a 2017 foreign permanent-residence card starts with
# three letters) and what people put between the groups: spaces, dashes, dots, commas.
_GROUPS = re.compile(r"(?<![0-9a-z])(?:[a-z]{3})?[0-9]+x?(?:[\s\-.,，、。·]{1,2}[0-9]+x?)*(?![0-9a-z])", re.IGNORECASE)
_GROUP = re.compile(r"(?:[a-z]{3})?[0-9]+x?", re.IGNORECASE)
_CODE_RUN = re.compile(r"(?<![0-9a-z])[0-9](?:\s?[0-9]){3,7}(?![0-9a-z])", re.IGNORECASE)
_CODE_CUE = re.compile(r"(?:验证码|校验码|动态码|码)\D{0,4}?([0-9](?:\s?[0-9]){3,7})(?![0-9])")


def _ids_in(run: str) -> tuple[list[str], str]:
    """The ID numbers one run of groups holds — consecutive groups adding up to 18 (or 15)
    characters: “3301 0619 6408 2202 24”, “330106，19640822，0224”, two numbers side by side —
    and the whole run joined, for telling the user what is wrong when it holds none."""
    groups = [g.upper() for g in _GROUP.findall(run)]
    found, start = [], 0
    while start < len(groups):
        joined, end = "", start
        while end < len(groups) and len(joined) < 18:
            joined += groups[end]
            end += 1
            if len(joined) in (15, 18) and (end == len(groups) or len(joined) == 18):
                break
        if len(joined) in (15, 18) and "X" not in joined[:-1]:
            found.append(joined)
            start = end
        else:
            start += 1
    return found, "".join(groups)


_DATE = re.compile(r"([0-9]{4})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*[日号]?")


def number_runs(text: str) -> list[str]:
    """Every run of six or more digits in the text, joined: the candidates for an ID number
    (the parser tells the user what is wrong with a bad one). A birth date dictated inside one
    (330106，1964年8月22号，0224) counts as its eight digits."""
    runs = []
    text = _DATE.sub(lambda d: f"{d.group(1)}{int(d.group(2)):02d}{int(d.group(3)):02d}", spoken_digits(text))
    for run in _GROUPS.findall(text):
        found, joined = _ids_in(run)
        runs.extend(found or ([joined] if len(re.sub(r"[^0-9]", "", joined)) >= 6 else []))
    return runs


def id_numbers(text: str) -> list[str]:
    """What has the shape of an ID number (15 or 18 characters), distinct, in order."""
    found = [run for run in number_runs(text) if len(run) in (15, 18)]
    return list(dict.fromkeys(found))


def codes(text: str) -> list[str]:
    """Runs of 4 to 8 digits: a verification code, wherever it stands in the message. In a pasted
    SMS (【医保】验证码123456，尾号5678…) the one after “验证码” is the code; read out in two
    halves (幺二三，四五六) it is one code."""
    text = spoken_digits(text)
    cued = _CODE_CUE.findall(text)
    runs = cued if len(set(cued)) == 1 else _CODE_RUN.findall(text)
    if not runs:
        joined = ["".join(_GROUP.findall(run)) for run in _GROUPS.findall(text)]
        runs = [run for run in joined if run.isdigit() and 4 <= len(run) <= 8]
    return list(dict.fromkeys(re.sub(r"\s", "", run) for run in runs))


_CONSENT = re.compile(r"(?<![0-9a-z])([0-9a-z]{6})(?![0-9a-z])", re.IGNORECASE)
_CONSENT_CUE = re.compile(r"同意|确认|确认码|授权|答应|愿意")


def consent_code(text: str) -> str | None:
    """A consent code (6 letters and digits, at least one letter and one digit, or 6 digits after
    a consent word): 同意 AB12CD, 我同意AB12CD, 确认码：ab12cd, 同意 AB 12 CD. None when there is
    none or two."""
    text = re.sub(r"(?<=[0-9a-z])\s(?=[0-9a-z])", "", text, flags=re.IGNORECASE)
    found = [c.upper() for c in _CONSENT.findall(text)
             if re.search(r"[0-9]", c) and (re.search(r"[a-z]", c, re.IGNORECASE) or _CONSENT_CUE.search(text))]
    found = list(dict.fromkeys(found))
    return found[0] if len(found) == 1 else None
