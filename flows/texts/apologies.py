"""What the webhook (bot/webhook/) says when it cannot answer a message: it was not handled."""

BUSY = "系统繁忙，请稍后再试。"   # Redis unavailable, or the draft saved meanwhile by another writer
ERROR = "抱歉，系统出了点问题，您的消息没有办理成功。请稍后再试，或拨打 12393 咨询。"   # anything else that failed
# One user's messages over their rate window, or with too many still waiting: not processed.
TOO_FAST = "您发送得太快了，这条消息没有办理。请{seconds}秒后再发。"
TOO_MANY_WAITING = "您前面的几条消息还在办理中，这条消息没有办理。请收到前面的回复后再发。"
