"""Policy Q&A: answers matched by meaning from free text. The content is data, in the catalogue
(flows/texts/faq.toml): each entry has a stable id, several phrasings and keywords; a question is
scored against all of them (flows.understanding.similarity) and answered when one entry clearly
explains it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from flows import texts
from flows.understanding import read
from flows.understanding.lexicon import load
from flows.understanding.similarity import Matcher

# A question about this service names something of it (医保, 共济, 绑, a relative, money, medicine …);
# “公积金能提取吗” and “养老金什么时候发” do not, however many words they share with an entry.
_DOMAIN = re.compile("|".join(map(re.escape, load("synonyms.toml")["domain"])))
_OFF_TOPIC = re.compile("|".join(map(re.escape, load("synonyms.toml")["off_topic"])))
MIN_SCORE = 0.35    # the best entry's similarity (cosine, 0–1)
MIN_LEAD = 1.02     # and by how much it must beat the second best
MIN_SCORE_STATEMENT = 0.6   # a message that is not a question needs a clearer match


@dataclass(frozen=True)
class Entry:
    id: str        # stable: code, tests and the corpus name an entry by it; the topic can be reworded
    topic: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str


def load_entries(text: str | None = None) -> tuple[Entry, ...]:
    text = text if text is not None else resources.files("flows.texts").joinpath("faq.toml").read_text("utf-8")
    return tuple(Entry(e["id"], e["topic"], tuple(e["questions"]), tuple(e.get("keywords", ())), e["answer"])
                 for e in tomllib.loads(text)["entry"])


ENTRIES = load_entries()
_BY_ID = {entry.id: entry for entry in ENTRIES}
_MATCHER = Matcher((entry.id, (entry.topic, *entry.questions, *entry.keywords)) for entry in ENTRIES)


def match(text: str, min_score: float | None = None) -> Entry | None:
    """The entry a question is about; None when it is not a question about this service, or no
    entry clearly answers it (the bot then says so rather than answer the wrong question)."""
    reading = read(text)
    if len(reading.word) < 3 or not _DOMAIN.search(reading.word) or _OFF_TOPIC.search(reading.word):
        return None
    ranked = _MATCHER.scores(reading.text)
    if not ranked or ranked[0][0] < (MIN_SCORE if min_score is None else min_score):
        return None
    if len(ranked) > 1 and ranked[0][0] < ranked[1][0] * MIN_LEAD:
        return None
    return _BY_ID[ranked[0][1]]


def topics(entries: tuple[Entry, ...] = ENTRIES) -> str:
    return "\n".join(texts.FAQ_TOPIC.format(topic=entry.topic) for entry in entries)


def by_id(entry_id: str) -> Entry:
    return _BY_ID[entry_id]
