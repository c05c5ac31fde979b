"""The domain's shared vocabulary: ID numbers, relationships, refusal codes (flows/domain/README.md)."""
