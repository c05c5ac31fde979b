"""Questions matched by meaning: the words of a question (rjieba's segmentation, synonyms made one,
character pairs for what segmentation splits differently) scored against each entry's phrasings
by idf-weighted cosine — the vector-space measure search engines start from, which needs no
model and explains itself (which words matched, how rare they are)."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache

import rjieba

from flows.understanding.lexicon import load
from flows.understanding.normalise import CJK, compact, normalise

_SYNONYMS = load("synonyms.toml")
# A relative the rules allow (闺女, 我妈, 我哥) is a 家人 to the Q&A: 我闺女那边需要做什么 is asked as
# 家人需要做什么. Every word of a synonym group stands for the group's first word.
_CANONICAL = {word: "家人" for words in load("kinship.toml")["allowed"].values() for word in words if len(word) >= 2}
_CANONICAL.update({word: group[0] for group in _SYNONYMS["groups"] for word in group})
_STOP = frozenset(_SYNONYMS["stop"])
_INSIDE = re.compile("|".join(map(re.escape, sorted((w for w in _CANONICAL if len(w) >= 2), key=len, reverse=True))))


@lru_cache(maxsize=1024)
def terms(text: str) -> tuple[str, ...]:
    word = compact(normalise(text))
    words = [_CANONICAL.get(w, w) for w in rjieba.cut(word) if w not in _STOP]
    # Synonyms written inside a longer token (丈母娘家): look for them too.
    inside = [_CANONICAL[found] for found in _INSIDE.findall(word)]
    pairs = [word[i:i + 2] for i in range(len(word) - 1) if CJK.match(word[i]) and CJK.match(word[i + 1])
             and word[i] not in _STOP and word[i + 1] not in _STOP]
    return tuple(words + inside + ["~" + pair for pair in pairs])


class Matcher:
    """Each entry is a set of phrasings (its topic, questions and keywords). A question scores
    against an entry as its best phrasing: the cosine of their terms, each weighted by how rare it
    is among the entries (idf), so 共济 counts for little and 取现 for much. `scores` ranks the
    entries, best first, each with that cosine (0–1)."""

    def __init__(self, documents: Iterable[tuple[str, Iterable[str]]]) -> None:
        entries = [(key, [frozenset(terms(text)) for text in texts]) for key, texts in documents]
        total = len(entries)
        df = Counter(t for _, phrasings in entries for t in set().union(*phrasings))
        self.idf = {t: math.log(1 + total / n) for t, n in df.items()}
        # term -> [(phrasing number, its weight²)]; each phrasing's key and norm by its number.
        self.phrasings: list[tuple[str, float]] = []
        self.postings: dict[str, list[int]] = defaultdict(list)
        for key, phrasings in entries:
            for phrasing in phrasings:
                number = len(self.phrasings)
                self.phrasings.append((key, math.sqrt(sum(self.idf[t] ** 2 for t in phrasing)) or 1.0))
                for t in phrasing:
                    self.postings[t].append(number)
        self.keys = list(dict.fromkeys(key for key, _ in entries))

    def scores(self, text: str) -> list[tuple[float, str]]:
        query = [t for t in dict.fromkeys(terms(text)) if t in self.idf]
        if not query:
            return []
        norm = math.sqrt(sum(self.idf[t] ** 2 for t in query))
        shared: dict[int, float] = defaultdict(float)
        for t in query:
            weight = self.idf[t] ** 2
            for number in self.postings[t]:
                shared[number] += weight
        best = dict.fromkeys(self.keys, 0.0)
        for number, overlap in shared.items():
            key, p_norm = self.phrasings[number]
            best[key] = max(best[key], overlap / (norm * p_norm))
        return sorted(((score, key) for key, score in best.items()), reverse=True)


QUESTION = re.compile(r"[?？]|吗|嘛|么$|呢$|[^不]不$|没$|没有$|怎么|怎样|咋|什么|啥|能不能|能否|可不可以|可以不|是不是|有没有|"
                      r"会不会|为什么|"
                      r"如何|多少|多久|多长时间|多长|几个|几天|从哪|在哪|去哪|哪开始|哪里|哪些|哪个|哪儿|谁能|要不要|行不行|"
                      r"需不需要|算不算|还是用|还是先|还是.+[的呢]$")
