"""Conversation state in Redis: one record per openid, personal data encrypted."""
