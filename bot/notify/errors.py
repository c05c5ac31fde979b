"""What a failed send means: WeChat's error codes by kind, each with a reason an operator
understands (the record's `last_error`, `wxbot notify dead`), never with personal data.

- permanent: trying again cannot help — a dead letter after this one attempt.
- quota (45009, the API's daily quota used up): every send through that API pauses, spending no
  attempts, until the quota resets — midnight Beijing time; `notifications.quota_resume_at`
  (00:01) in region.timezone.
- rate (45011, the API's per-minute limit): likewise, until the next minute.
- token (the access token refused even after the client's refresh): tried again soon (the first
  retry interval).
- transient (WeChat busy (-1), HTTP errors, the network, the bureau, codes not in the table): the
  usual backoff (`retry_intervals`), then a dead letter.

43004 (the user does not follow the account) is none of these: the news waits for the user's next
message (bot/notify/send.py).

A late answer (message/custom/send, bot/notify/late.py) reads 45015 (the user's customer-service
window has closed) and 45047 (its sends are used up) like 43004: the answer waits for the user's
next message. Elsewhere they are permanent.

The table is the template message's (message/template/send). A subscription notice
(message/subscribe/bizsend, bot/notify/subscription.py) reads two codes its own way before it:
- 43101 there means the user's subscription to the notice is gone (never given, used up, or
  cancelled in the notice's settings): the user's record is corrected and the kind's channel
  decides in the same attempt — a template message (subscription_then_template) or the news kept
  for the next visit (subscription). On a template message 43101 stays permanent.
- 47003 (a value breaks the notice's keyword rules), like a value found not to fit before the call,
  and 40036/40037 (the notice's template id unknown): a kind with subscription_then_template sends
  its template message instead, in the same attempt (a warning names the cause); a kind sent only
  as a notice is a dead letter with the reason.
The quota (45009, 45011) pauses bizsend on its own, as it does template/send; meanwhile a kind with
subscription_then_template sends its template message (a user who does not follow waits for the reset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum


class Kind(StrEnum):
    PERMANENT = "permanent"
    QUOTA = "quota"
    RATE = "rate"
    TOKEN = "token"  # noqa: S105 - a kind of error, not a secret
    TRANSIENT = "transient"


UNFOLLOWED = 43004

# errcode → (kind, what it means). `{template}` is the setting of the template that was sent.
CODES: dict[int, tuple[Kind, str]] = {
    -1: (Kind.TRANSIENT, "WeChat is busy"),
    40001: (Kind.TOKEN, "the access token was refused, even after a refresh"),
    40014: (Kind.TOKEN, "the access token was refused, even after a refresh"),
    42001: (Kind.TOKEN, "the access token had expired, even after a refresh"),
    40003: (Kind.PERMANENT, "the openid is not a user of this account"),
    40013: (Kind.TRANSIENT, "WeChat does not know wechat.appid"),
    40125: (Kind.TRANSIENT, "wechat.secret is not the account's AppSecret"),
    40164: (Kind.TRANSIENT, "this machine's IP address is not in the console's IP whitelist"),
    40036: (Kind.PERMANENT, "the template id is not one of this account's ({template}.template_id)"),
    40037: (Kind.PERMANENT, "the template id is not one of this account's ({template}.template_id)"),
    40039: (Kind.PERMANENT, "the card's link is refused (notifications.link)"),
    40048: (Kind.PERMANENT, "the card's link is refused: its domain (notifications.link)"),
    40066: (Kind.PERMANENT, "the card's link is refused (notifications.link)"),
    40165: (Kind.PERMANENT, "the mini program page is refused (notifications.miniprogram.pagepath)"),
    41030: (Kind.PERMANENT, "the mini program page is refused (notifications.miniprogram.pagepath)"),
    43019: (Kind.PERMANENT, "the user is on the account's blacklist"),
    43101: (Kind.PERMANENT, "the user refused the account's messages"),
    45009: (Kind.QUOTA, "the API's daily quota is used up"),
    45011: (Kind.RATE, "the API's per-minute limit was reached"),
    45015: (Kind.PERMANENT, "the user's customer-service window has closed (48 hours after their message)"),
    45047: (Kind.PERMANENT, "the customer-service messages the user's last message allows are used up"),
    47001: (Kind.PERMANENT, "WeChat could not read the message (data format)"),
    47003: (Kind.PERMANENT, "a value breaks the template's keyword rules"),
    48001: (Kind.PERMANENT, "the account may not use this API (its permissions in the console)"),
    48004: (Kind.PERMANENT, "the API is banned for this account (see mp.weixin.qq.com)"),
    50002: (Kind.PERMANENT, "the user's WeChat account is restricted (frozen or closed)"),
}

_KEYWORD_IN_ERRMSG = re.compile(r"data\.([A-Za-z_]+\d*)\.value")
_ERRMSG_KEPT = re.compile(r"^[\w !.,:;'()\-]{0,80}")   # WeChat's words up to its request id


@dataclass(frozen=True)
class Failure:
    kind: Kind
    reason: str           # for operators: `<errcode>: what it means`, `HTTP 503`, `ReadTimeout` …
    cause: str            # for metrics: wechat, http, network, token, binding_service, keyword, error
    resume_at: float | None = None   # quota and rate: when sends through the API may go on


class Failed(Exception):
    """An attempt failed (`failure` says how and what next); `api`: the WeChat API it was for;
    `errcode`: WeChat's answer to the call, when it answered one (not a token's fetch)."""

    def __init__(self, failure: Failure, api: str = "", errcode: int | None = None) -> None:
        super().__init__(failure.reason)
        self.failure, self.api, self.errcode = failure, api, errcode

    @property
    def in_doubt(self) -> bool:
        """The call may have been sent: no answer of WeChat's (an HTTP error, the network). With an
        errcode, a paused API or no access token, nothing was sent."""
        return self.failure.cause in ("http", "network")


def of_errcode(errcode: int, errmsg: str, *, template: str, fields: dict[str, str], now: float,
               zone: tzinfo, quota_resume_at: time) -> Failure:
    """WeChat refused a send. `template`: the setting of the template sent (notifications.approved);
    `fields`: its keywords and their sources, to say which keyword broke its rules."""
    kind, meaning = CODES.get(errcode, (Kind.TRANSIENT, ""))
    if not meaning:
        kept = _ERRMSG_KEPT.match(errmsg or "")
        return Failure(kind, f"{errcode}: not in the bot's table of WeChat's errors ({kept.group(0).strip() if kept else ''})",
                       "wechat")
    reason = f"{errcode}: {meaning.format(template=template)}"
    if errcode == 47003:
        keyword = _KEYWORD_IN_ERRMSG.search(errmsg or "")
        if keyword:
            reason += f" ({keyword.group(1)} = {fields.get(keyword.group(1), '?')})"
    resume_at = None
    if kind is Kind.QUOTA:
        resume_at = quota_resumes(now, zone, quota_resume_at)
        reason += f"; sends resume at {_local(resume_at, zone)}"
    elif kind is Kind.RATE:
        resume_at = next_minute(now)
    return Failure(kind, reason, "wechat", resume_at)


def quota_resumes(now: float, zone: tzinfo, at: time) -> float:
    """The next `at` (a time of day in `zone`) after `now`: when WeChat's daily quotas, used up
    now, have been reset. WeChat resets them at midnight Beijing time; `at` (00:01 by default)
    leaves a minute for clocks that differ. A 45009 between midnight and `at` waits until `at`."""
    local = datetime.fromtimestamp(now, zone)
    day = local.date()
    candidate = datetime.combine(day, at, tzinfo=zone)
    if candidate.timestamp() <= now:
        candidate = datetime.combine(day + timedelta(days=1), at, tzinfo=zone)
    return candidate.timestamp()


def next_minute(now: float) -> float:
    """45011 says "retry next minute": the next whole minute, and a second to be sure."""
    return (int(now) // 60 + 1) * 60 + 1.0


def _local(moment: float, zone: tzinfo) -> str:
    return f"{datetime.fromtimestamp(moment, zone):%Y-%m-%d %H:%M} ({zone})"


def of_http(status: int | str) -> Failure:
    return Failure(Kind.TRANSIENT, f"HTTP {status}", "http")


def of_network(exception_name: str) -> Failure:
    return Failure(Kind.TRANSIENT, exception_name, "network")


def of_token(exception_name: str) -> Failure:
    return Failure(Kind.TOKEN, f"no access token ({exception_name})", "token")


def of_token_fetch(failure: Failure) -> Failure:
    """WeChat refused to hand out an access token (its own quota, the IP whitelist, the secret …):
    no send was made; tried again with the usual backoff — the send's API is not paused."""
    kind = Kind.TRANSIENT if failure.kind in (Kind.QUOTA, Kind.RATE, Kind.PERMANENT) else failure.kind
    return Failure(kind, f"no access token: {failure.reason.split('; sends resume at')[0]}", "token")


def of_binding_service(code: str) -> Failure:
    return Failure(Kind.TRANSIENT, f"binding service: {code}", "binding_service")


def of_value(reason: str) -> Failure:
    """A value its keyword does not take, found before sending (bot/notify/templates.py)."""
    return Failure(Kind.PERMANENT, f"not sent, a value does not fit: {reason}", "keyword")


def of_unreadable() -> Failure:
    """A late answer whose text cannot be opened: sealed under another conversation.secret_key."""
    return Failure(Kind.PERMANENT, "the late answer cannot be opened: conversation.secret_key changed since it "
                   "was written", "error")


def of_bug(exception_name: str) -> Failure:
    return Failure(Kind.TRANSIENT, exception_name, "error")
