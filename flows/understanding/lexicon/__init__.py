"""The vocabularies, loaded once: data files reviewers edit (see each file's header)."""

from __future__ import annotations

import tomllib
from importlib import resources


def load(name: str) -> dict:
    return tomllib.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))


WORDS = load("words.toml")
SERVICES = load("services.toml")   # by flow id: how people ask for it, what they call its items
