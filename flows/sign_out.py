"""退出验证: this WeChat account stops being linked to the verified person — on a shared phone, or
after being told that the person verified in another account. Asked once (a slip of the tongue
must not sign anyone out); on yes the handler deletes the link (`forget_identity`), and the
account's unfinished drafts go with it."""

from __future__ import annotations

from flows.context import Context
from flows.engine import Ask, End, Entry, Flow, yes_or_no_answer
from flows.texts import verify as t
from flows.understanding.lexicon import SERVICES

FLOW_ID = "sign_out"
VERSION = 2
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml


def _nothing_to_sign_out_of(ctx: Context) -> str | None:
    return None if ctx.user.verified else t.NOT_SIGNED_IN


ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), outranks=("unbind", "verify"), unless=_nothing_to_sign_out_of)

FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.SIGN_OUT_TITLE, first="confirm", entry=ENTRY, steps={
    "confirm": Ask(field="forget_identity", prompt=lambda d, c: t.CONFIRM_SIGN_OUT,
                   parse=yes_or_no_answer(t.SIGN_OUT_YES_OR_NO, kind="sign_out"),
                   next=lambda d, c: "done" if d["forget_identity"] else "kept", to=("done", "kept")),
    "done": End(message=lambda d, c: t.SIGNED_OUT),
    "kept": End(message=lambda d, c: t.SIGN_OUT_KEPT),
})
