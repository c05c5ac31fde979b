"""退出验证: this WeChat account stops being linked to the verified person — on a shared phone, or
after being told that the person verified in another account. One step: saying it is enough,
since verifying again is always possible; the handler deletes the link (`forget_identity`)."""

from __future__ import annotations

from flows import verify_texts as t
from flows.engine import Context, End, Entry, Flow

FLOW_ID = "sign_out"
VERSION = 1


def _said(data, ctx: Context) -> str:
    return t.SIGNED_OUT if ctx.user.get("verified") else t.NOT_SIGNED_IN


ENTRY = Entry(phrases=("退出验证", "解除验证", "取消验证", "退出身份验证", "解除身份验证", "取消身份验证", "退出认证",
                       "解除认证", "退出登录", "注销验证", "不要验证了", "解除微信绑定"),
              start_data=lambda reading, ctx: {"forget_identity": True}, outranks=("unbind", "verify"))

FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.SIGN_OUT_TITLE, first="done", entry=ENTRY, steps={
    "done": End("done", _said),
})
