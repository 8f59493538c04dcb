"""Settings from the environment (prefix ``HUB_``); one immutable object per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./eduhub.db"


class Settings(BaseSettings):
    """Runtime configuration. Every value can be set as ``HUB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    env: Literal["development", "production"] = "development"
    # GraphQL limits: checked before any resolver (and so any SQL) runs.
    page_size_default: int = Field(default=50, ge=1)
    page_size_max: int = Field(default=500, ge=1)
    max_query_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=0)
    max_tokens: int = Field(default=2000, ge=50)
    max_query_bytes: int = Field(default=20_000, ge=256)
    sql_echo: bool = False

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
