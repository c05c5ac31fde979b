"""The vocabularies, loaded once: data files reviewers edit (see each file's header)."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any


def load(name: str) -> dict:
    return tomllib.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))


_CHOICES = re.compile(r"{([^{}]*)}")


def expand(phrase: str) -> list[str]:
    """A phrase with choices — “{不想用,不用}…{的医保,账户}” — as every phrase it stands for, one
    choice from each {…}: 不想用…的医保, 不想用…账户, 不用…的医保, 不用…账户."""
    choices = _CHOICES.search(phrase)
    if choices is None:
        return [phrase]
    head, tail = phrase[:choices.start()], phrase[choices.end():]
    return [whole for choice in choices.group(1).split(",") for whole in expand(head + choice.strip() + tail)]


def _with_choices_expanded(services: dict[str, Any]) -> dict[str, Any]:
    return {flow: {**table, "phrases": list(dict.fromkeys(p for phrase in table["phrases"] for p in expand(phrase)))}
            if "phrases" in table else table for flow, table in services.items()}


WORDS = load("words.toml")
# By flow id: how people ask for it (its phrases, choices expanded), what they call its items.
SERVICES = _with_choices_expanded(load("services.toml"))
