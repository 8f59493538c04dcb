"""Settings from the environment (prefix ``HUB_``); one immutable object per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./eduhub.db"


class Settings(BaseSettings):
    """Runtime configuration. Every value can be set as ``HUB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    # The owner's URL for migrations and demo loads (PostgreSQL: the hub itself runs as a
    # role that owns nothing, see hub/db/roles.py). Unset: the same as database_url.
    migration_database_url: str | None = None
    env: Literal["development", "production"] = "development"
    # GraphQL limits: checked before any resolver (and so any SQL) runs.
    page_size_default: int = Field(default=50, ge=1)
    page_size_max: int = Field(default=500, ge=1)
    max_query_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=0)
    max_tokens: int = Field(default=2000, ge=50)
    max_query_bytes: int = Field(default=20_000, ge=256)
    # Objects a query may return at most, estimated before execution (schema/cost.py): a
    # 500-row page with two nested lists of 50 (50,500) passes; 100 x 100 x 100 does not.
    max_query_cost: int = Field(default=200_000, ge=1)
    # Variables of one request: how many values in all, and how deeply nested.
    max_variables: int = Field(default=1_000, ge=1)
    max_variable_depth: int = Field(default=10, ge=1)
    # A file sent to a mutation (GraphQL multipart request: a statistics report to reconcile).
    max_upload_bytes: int = Field(default=10_000_000, ge=1_000)
    sql_echo: bool = False
    # Identity: bearer JWTs. Development signs and verifies with an HS256 secret; production
    # verifies RS256 tokens of the province's identity service against a PEM public key or
    # a JWKS file.
    jwt_secret: str = "eduhub-development-secret-not-for-production"
    jwt_public_key_file: Path | None = None
    jwks_file: Path | None = None
    jwt_audience: str = "eduhub"
    jwt_issuer: str | None = None
    # Sources (docked systems, services, files, other hubs) and their mappings.
    sources_file: Path = Path("sources.toml")
    # How long a verified user's grants are reused before they are read again.
    principal_cache_seconds: float = Field(default=30.0, ge=0)
    principal_cache_size: int = Field(default=10_000, ge=1)
    # The lane of the audit chain this process appends to (hub/access/chain.py): processes
    # writing to one database each take their own, or they wait for each other's appends.
    # ``eduhub serve --workers N`` gives its workers this lane and the N - 1 after it.
    audit_lane: int = Field(default=1, ge=1, le=2_000_000_000)
    # The compiled read path (resolvers/plan.py): "on", or "off" to force the resolvers.
    planner: Literal["on", "off"] = "on"
    # Permanent numbers for pupils without a citizen ID (J 学籍号), written down in
    # docs/numbers.md: fields {division} (the school's 6-digit division code), {birth} (the
    # birth date, strftime spec) and, last, {seq:0Nd} (the next free number of that prefix).
    j_number_format: str = "J{division}{birth:%Y%m%d}{seq:04d}"
    # The key hubs share for cross-hub duplicate checks (HMAC of ID numbers, never the
    # numbers: hub.quality.across); unset, this hub takes no part in them.
    link_key: str | None = Field(default=None, min_length=16)
    # Days a school has to handle a new problem record (处理期限).
    problem_due_days: int = Field(default=30, ge=1)
    # Governed exports (数据导出): where the jobs write their files, how long an approved
    # file may be downloaded, and how many rows a direct download (no approval: what a
    # portal page shows) may hold; larger ones are requested as exports.
    export_dir: Path = Path("exports")
    export_ttl_hours: float = Field(default=72.0, gt=0)
    download_max_rows: int = Field(default=5_000, ge=1)
    export_sweep_seconds: float = Field(default=60.0, gt=0)

    @field_validator("j_number_format")
    @classmethod
    def _j_format(cls, value: str) -> str:
        from hub.students.numbers import check_number_format

        check_number_format(value)
        return value

    @property
    def owner_url(self) -> str:
        return self.migration_database_url or self.database_url

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
