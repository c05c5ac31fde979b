"""The /wechat webhook: verify, open the envelope, parse, deduplicate, process within the deadline."""
