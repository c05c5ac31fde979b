"""Understanding what people write: text in, what it means out.

    read(text) -> Reading      (a move, an intent and its slots, a yes/no, a number, a name,
                                ID numbers, a code, a relationship, a question — each found on
                                first use)

Pure and deterministic: no network, no model, no clock; the vocabularies are data files in
`lexicon/` that reviewers extend. Anything unclear comes back as "not found" or as a reason to
ask, never as a guess: the flows decide what to do with it. docs/understanding.md says what is
understood, how, and how to extend it.
"""

from flows.understanding.reading import Reading, read

__all__ = ["Reading", "read"]
