"""The GraphQL contract (统一数据接口): Strawberry types assembled from per-domain pieces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from hub.settings import Settings
from schema.access import AccessMutation, AccessQuery
from schema.assets import AssetQuery
from schema.buildings import BuildingQuery
from schema.change_requests import ChangeRequestQuery
from schema.changes import ChangeQuery
from schema.exports import ExportMutation, ExportQuery
from schema.limits import limit_extensions
from schema.mutations.root import WriteMutation
from schema.orgunits import OrgUnitQuery
from schema.planner import CompiledReads
from schema.quality import QualityQuery
from schema.schools import SchoolQuery
from schema.sources import SourceQuery
from schema.statistics import StatisticsMutation, StatisticsQuery
from schema.students import StudentQuery
from schema.teachers import TeacherQuery
from schema.transaction import Transaction
from schema.viewer import NODE_TYPES, ViewerQuery

SDL_PATH = Path(__file__).with_name("schema.graphql")

Query = merge_types(
    "Query",
    (
        ViewerQuery,
        OrgUnitQuery,
        SchoolQuery,
        StudentQuery,
        TeacherQuery,
        BuildingQuery,
        AssetQuery,
        AccessQuery,
        SourceQuery,
        QualityQuery,
        ChangeRequestQuery,
        ChangeQuery,
        StatisticsQuery,
        ExportQuery,
    ),
)
Mutation = merge_types(
    "Mutation", (AccessMutation, WriteMutation, ExportMutation, StatisticsMutation)
)

__all__ = ["SDL_PATH", "build_schema", "sdl"]


class HubSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Errors are classified and internal ones logged, with the reference the client
        sees, where the result is sent (``schema.router``); bad input is not worth a
        traceback in the log."""


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with limits, caches and error codes; introspection off in production."""
    extensions: list[Callable[[], SchemaExtension]] = [
        Transaction,
        *limit_extensions(settings),
        CompiledReads,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    if settings.is_production:
        extensions.append(DisableIntrospection)
    return HubSchema(
        query=Query,
        mutation=Mutation,
        types=[graphql_type for _load, graphql_type in NODE_TYPES.values()],
        extensions=extensions,
        config=StrawberryConfig(
            auto_camel_case=True,
        ),
    )


def sdl() -> str:
    """The schema as SDL (what ``schema/schema.graphql`` must contain)."""
    return build_schema(Settings()).as_str() + "\n"
