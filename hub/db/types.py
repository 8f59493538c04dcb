"""Column types shared by the domain models."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.types import TypeEngine

# Materialised paths are compared byte-wise ("C" collation on PostgreSQL, binary on SQLite),
# so that a subtree is one index range: path >= '/CN/44/' AND path < '/CN/440'.
PathType: TypeEngine[str] = String(200).with_variant(String(200, collation="C"), "postgresql")


def Code(length: int = 8) -> String:
    """A coded value (code set member); its label lives in the code sets."""
    return String(length)
