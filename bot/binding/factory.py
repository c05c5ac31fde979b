"""Build the configured binding service."""

from __future__ import annotations

import redis

from bot.binding.http import HttpBindingService
from bot.binding.sandbox.roster import Roster
from bot.binding.sandbox.service import SandboxService
from bot.binding.service import BindingService
from bot.binding.signing import SigningKey
from bot.config import Settings


def signing_key(settings: Settings) -> SigningKey:
    return SigningKey(settings.binding.key_id, settings.binding.secret)


def sandbox_service(settings: Settings, client: redis.Redis) -> SandboxService:
    return SandboxService(client, Roster.load(settings.binding.sandbox.roster), settings.region,
                          settings.binding.sandbox, prefix=settings.redis.key_prefix,
                          consent_base_url=settings.binding.sandbox.consent_url or "https://sandbox.local/consent",
                          log_codes=settings.server.environment == "development")


def callback_url(settings: Settings) -> str:
    return settings.binding.sandbox.callback_url or f"http://{settings.server.bind}/binding/callback"


def binding_service(settings: Settings, client: redis.Redis) -> BindingService:
    if settings.binding.adapter == "http":
        return HttpBindingService(settings.binding)
    return sandbox_service(settings, client)
