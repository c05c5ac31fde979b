"""A subscription notice's values (订阅通知) as WeChat takes them. Unlike a template message's
keywords, each keyword has a type — its name without the number: thing1 → thing,
character_string2 → character_string — and each type its own rule (WeChat's 参数值限制): a `thing`
is at most 20 characters, a `phrase` at most 5 Chinese characters, a `name` at most 10, a
`character_string` at most 32 letters, digits or symbols, a `time` a date and time. A value that
breaks its type's rule is refused (47003) and the notice is not sent.

Which of the bot's values may fill which type is checked when the settings are read (`problem`);
`fit` shapes a value to its keyword when the notice is sent. Imports nothing of the project: the
settings use it.
"""

from __future__ import annotations

import re

# type → (the bot's values that may fill it, None for any; the longest value WeChat takes, None: no
# length rule of its own). The bot's values: member (a masked name), relationship, result (已通过 …),
# reason, decided_at (2026-11-22 16:05), application (an id of letters and digits).
RULES: dict[str, tuple[frozenset[str] | None, int | None]] = {
    "thing": (None, 20),
    "phrase": (frozenset({"result"}), 5),
    "name": (frozenset({"member"}), 10),
    "time": (frozenset({"decided_at"}), None),
    "date": (frozenset({"decided_at"}), None),
    "character_string": (frozenset({"application"}), 32),
}

_KEYWORD = re.compile(r"([a-z_]+?)(\d+)")


def keyword_type(keyword: str) -> str | None:
    """thing1 → thing; None when the keyword is not `<type><number>`."""
    match = _KEYWORD.fullmatch(keyword)
    return match.group(1) if match else None


def problem(keyword: str, source: str) -> str | None:
    """Why `source` cannot fill `keyword` (None when it can)."""
    kind = keyword_type(keyword)
    if kind not in RULES:
        known = ", ".join(RULES)
        return f"{keyword}: not a keyword this bot can fill (its type must be one of {known}, e.g. thing1)"
    sources, _ = RULES[kind]
    if sources is not None and source not in sources:
        return f"{keyword}: a {kind} takes {' or '.join(sorted(sources))}, not {source}"
    return None


def fit(keyword: str, value: str) -> str:
    """One line, cut to what the keyword's type takes."""
    value = " ".join(value.split())
    _, longest = RULES.get(keyword_type(keyword) or "", (None, None))
    if longest is None or len(value) <= longest:
        return value
    if keyword_type(keyword) == "thing":
        return value[:longest - 1] + "…"   # a thing takes symbols; a phrase or a name would not
    return value[:longest]
