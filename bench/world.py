"""What the benchmark runs against: one Redis server, the product's settings, seeded users."""

from __future__ import annotations

import json
from datetime import date

from bot.app import create_app
from bot.binding.models import VerificationAnswer, VerificationStart
from bot.binding.sandbox.roster import Roster
from bot.config import Settings, load_settings
from flows.domain.identity import mask_id_number, mask_name

APPID, TOKEN, SECRET = "wxbench0000000001", "benchtoken", "benchsecret"
CONVERSATION_KEY = "YmVuY2gtY29udmVyc2F0aW9uLWtleS0zMi1ieXRlcyE="
INITIATOR = "王建国"
CODE = "123456"


def overrides(redis_url: str, **sections: dict) -> dict:
    """The product's settings for the benchmark: plaintext mode, as the peers run; the sandbox
    bureau and demo secrets, so "development" (`wxbot worker` refuses them in production)."""
    return {"server": {"environment": "development", **sections.pop("server", {})},
            "wechat": {"appid": APPID, "token": TOKEN, "secret": SECRET, "encoding_aes_key": "",
                       **sections.pop("wechat", {})},
            "redis": {"url": redis_url}, "conversation": {"secret_key": CONVERSATION_KEY},
            "binding": {"sandbox": {"verification_code": CODE}}, **sections}


def settings_json(redis_url: str, **sections: dict) -> str:
    return json.dumps(overrides(redis_url, **sections), ensure_ascii=False)


class Seeder:
    """Puts users where the benchmark's messages expect them: verified, and in the binding flow
    at the relationship question — through the product's own conversation code."""

    def __init__(self, settings: Settings) -> None:
        bot = create_app(settings).extensions["wxbot"]
        self.conversations, self.sandbox = bot.processor.route.conversations, bot.binding
        person = next(p for p in Roster.load(None) if p.name == INITIATOR)
        self._person = {"person_id": person.person_id, "masked_name": mask_name(person.name),
                        "masked_id_number": mask_id_number(person.id_number)}
        self._id_number = person.id_number
        self.initiator_id()

    def initiator_id(self) -> str:
        """The initiator verified once at the sandbox (as the users' shared identity claims)."""
        challenge = self.sandbox.start_verification(VerificationStart(openid="o_bench", name=INITIATOR,
                                                                      id_number=self._id_number))
        return self.sandbox.complete_verification(challenge.challenge_id,
                                                  VerificationAnswer(openid="o_bench", code=CODE)).person_id

    def verified(self, openid: str) -> None:
        self.conversations.identities.link(openid, self._person, self._id_number, date.today())

    def at_relationship_question(self, openid: str) -> None:
        self.verified(openid)
        self.conversations.store.delete(openid)   # a draft another revision left would be offered back
        replies = self.conversations.handle(openid, None, start="bind_member")
        assert replies and "家人是您的" in replies[-1], replies

    def users(self, prefix: str, count: int) -> None:
        for n in range(count):
            self.at_relationship_question(f"{prefix}{n}")


def settings_for(redis_url: str, **sections: dict) -> Settings:
    return load_settings(None, **overrides(redis_url, **sections))
