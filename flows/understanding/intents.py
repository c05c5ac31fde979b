"""Which service a sentence asks for, from each flow's phrases (lexicon/services.toml, through the
flow's `Entry`): 帮我妈绑定一下 → bind_member, 查一下我绑了谁 → my_family, 不想给他用了 → unbind. A
phrase matches anywhere in the sentence; “…” in a phrase stands for a few words (不想给…用). The
longest phrase wins, so 取消绑定 (unbind) beats 绑定 (bind); a flow can also outrank another
outright (removing someone beats adding them, whatever the words' lengths). Pinyin slips (邦定,
家庭公济) are matched by sound when no phrase matched as typed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import rjieba

from flows.understanding.typos import SoundIndex, sound

_GAP = ".{0,6}?"


class IntentIndex:
    def __init__(self, phrases: Mapping[str, tuple[str, ...]],
                 outranks: Mapping[str, tuple[str, ...]] | None = None) -> None:   # intent -> phrases, beaten intents
        self.outranks = {intent: frozenset(beaten) for intent, beaten in (outranks or {}).items()}
        plain: list[tuple[str, str]] = []
        # The phrases with gaps, by their first part: a sentence without it needs none of them searched.
        patterns: dict[str, list[tuple[re.Pattern, int, str]]] = {}
        for intent, words in phrases.items():
            for phrase in words:
                if "…" in phrase:
                    parts = phrase.split("…")
                    pattern = _GAP.join(re.escape(part) for part in parts)
                    # Two parts in order say more than the same characters side by side: +1.
                    patterns.setdefault(parts[0], []).append(
                        (re.compile(pattern), len(phrase.replace("…", "")) + 1, intent))
                else:
                    plain.append((phrase, intent))
        self.plain = sorted(plain, key=lambda pair: -len(pair[0]))
        # Every phrase at every position in one scan: a lookahead alternation, longest first.
        self.by_phrase = dict(reversed(self.plain))
        alternatives = "|".join(re.escape(phrase) for phrase, _ in self.plain)
        self.scan = re.compile(f"(?=({alternatives}))") if alternatives else None
        self.patterns = patterns
        self.sounds = SoundIndex(((phrase, intent) for phrase, intent in plain if len(phrase) >= 2), fold=False)
        # bangding, jiebang: the phrases' pinyin, for words typed in Latin letters.
        self.latin = sorted((("".join(sound(phrase, fold=False)), intent, phrase) for phrase, intent in plain
                             if len(phrase) >= 2), key=lambda item: -len(item[0]))
        self.find = lru_cache(maxsize=1024)(self._find)

    def _find(self, word: str) -> tuple[str, str] | None:
        """(intent, the phrase that matched) for a compact sentence, else None."""
        found: dict[str, tuple[int, str]] = {}      # intent -> its longest phrase found
        for match in self.scan.finditer(word) if self.scan else ():
            phrase = match.group(1)
            intent = self.by_phrase[phrase]
            if len(phrase) > found.get(intent, (0, ""))[0]:
                found[intent] = (len(phrase), phrase)
        for first, candidates in self.patterns.items():
            if first not in word:
                continue   # none of them can match: a substring test is far cheaper than the searches
            for pattern, length, intent in candidates:
                match = pattern.search(word)
                if match and length > found.get(intent, (0, ""))[0]:
                    found[intent] = (length, match.group())
        beaten = {b for intent in found for b in self.outranks.get(intent, ())}
        ranked = sorted(((length, intent, phrase) for intent, (length, phrase) in found.items()
                         if intent not in beaten), reverse=True)
        best = ranked[0] if ranked else None
        if best and best[0] > 2:
            return best[1], best[2]
        if word.isascii():
            return next(((intent, phrase) for latin, intent, phrase in self.latin if latin in word), None)
        # 邦定 is no word, so it is a slip for 绑定; a real word that sounds the same is not. A
        # longer phrase heard by sound beats a short one matched as typed (接触绑定 → 解除绑定).
        heard = self.sounds.within(word)
        if heard and len(heard[0]) >= 2 and not rjieba.has_word(heard[0]) and (best is None or len(heard[1]) > best[0]):
            return heard[2], heard[1]
        return (best[1], best[2]) if best else None
