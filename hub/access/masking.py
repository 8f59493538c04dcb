"""How sensitive values look to a viewer who may not unmask them (脱敏).

The same query shape serves every level: a masked field returns a masked value of the same
type, never an error."""

from __future__ import annotations

MASKED_LABEL = "已脱敏"


def mask_id(value: str) -> str:
    """``440106201509021234`` -> ``440106********1234`` (birthplace and last four kept)."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_text(value: str) -> str:
    """Addresses and other text: the first six characters (province and city), then ****."""
    return value[:6] + "****" if len(value) > 6 else "****"
