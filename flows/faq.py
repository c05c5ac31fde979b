"""Policy Q&A: answers matched from free text. The content is data (flows/faq.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from flows.answers import clean


@dataclass(frozen=True)
class Entry:
    topic: str
    phrases: tuple[str, ...]
    answer: str


def load(text: str | None = None) -> tuple[Entry, ...]:
    text = text if text is not None else resources.files("flows").joinpath("faq.toml").read_text("utf-8")
    return tuple(Entry(e["topic"], tuple(clean(p) for p in e["phrases"]), e["answer"])
                 for e in tomllib.loads(text)["entry"])


ENTRIES = load()


def match(text: str, entries: tuple[Entry, ...] = ENTRIES) -> Entry | None:
    """The entry whose phrases the text contains most often; None when nothing matches."""
    words = clean(text)
    if len(words) < 2:
        return None
    scored = [(sum(phrase in words for phrase in entry.phrases), entry) for entry in entries]
    best = max(scored, key=lambda pair: pair[0], default=(0, None))
    return best[1] if best[0] > 0 else None


def topics(entries: tuple[Entry, ...] = ENTRIES) -> str:
    return "\n".join(f"· {entry.topic}" for entry in entries)


def by_topic(topic: str, entries: tuple[Entry, ...] = ENTRIES) -> Entry:
    return next(entry for entry in entries if entry.topic == topic)
