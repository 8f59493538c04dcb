"""The planner: the root fields of one operation, for one viewer, as SQL whose columns are
each root field's response JSON (see ``resolvers/plan/__init__.py``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, OperationDefinitionNode
from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Dialect,
    Select,
    Table,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy import Text as _TEXT
from sqlalchemy.exc import CompileError
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import replacement_traverse

from hub.access.masking import ID_MASK, MASKED_CODE, MASKED_LABEL, embeds_id
from hub.access.scope import path_column
from hub.codes.models import DivisionName
from hub.codes.registry import UNKNOWN_LABEL
from hub.context import Context
from hub.db.base import table_of
from hub.db.driver import DriverStatement
from hub.errors import BadInput
from hub.ids import decode_federated_id, decode_id, encode_id
from hub.pagination import PageArgs
from resolvers import federation
from resolvers.plan import roles
from resolvers.plan.entities import (
    EDGES,
    GUARDIAN,
    KINDS,
    ROOT_LISTS,
    ROOT_LOOKUPS,
    STUDENT,
    ColumnOf,
    CountOf,
    Nested,
    ToMany,
    ToOne,
)
from resolvers.plan.operation import (
    Args,
    Binder,
    NotPlannable,
    Operation,
    Role,
    Selected,
    selection,
)
from resolvers.plan.sqljson import Json

DIVISION_NAME = table_of(DivisionName)

# The key under which an object carries the audit marks of its unmasked sensitive fields
# (no GraphQL name can hold it; removed before the answer leaves, see ``strip_marks``).
AUDIT_MARK = "\x01"


@dataclass
class Extra:
    """A column the statement adds beyond the response (an audit fact), and what to do with
    its value once the row is read."""

    column: ColumnElement[Any]
    use: Callable[[Context, Any], None]  # called with the request's context (plans are shared)


@dataclass
class Planned:
    """The planned root fields: response keys, their JSON columns, and the extras."""

    keys: list[str] = field(default_factory=list)
    columns: list[ColumnElement[Any]] = field(default_factory=list)
    marked: set[str] = field(default_factory=set)  # keys whose JSON carries audit marks
    extras: list[Extra] = field(default_factory=list)
    unplanned: list[tuple[Selected, str]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # every root key, planned or not
    constants: dict[str, str] = field(default_factory=dict)  # JSON of keys with no SQL
    compiled: Select[Any] | None = None  # the statement, once built, when the plan is cached
    driver: DriverStatement | None = None  # and compiled for asyncpg (PostgreSQL)
    # How the plan used each variable (VALUE or role names), the roles, and the parameters
    # each request fills from its variables (see ``resolvers/plan/operation.py``).
    uses: dict[str, set[str]] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    binders: list[Binder] = field(default_factory=list)

    def parameters(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The statement's parameters for a request with ``variables`` (coerced)."""
        return {b.key: b.extract(variables.get(b.variable)) for b in self.binders}

    def for_driver(self, statement: Select[Any], dialect: Dialect) -> DriverStatement:
        """``statement`` compiled for asyncpg with its constants written into the SQL text
        (JSON keys, code labels, masks: everything but the parameters each request fills
        from its variables). Sent as parameters, they cost each execution their encoding,
        and PostgreSQL their parsing at every bind: 63 of a student lookup's 64, 118 of a
        page's 119."""
        variables = {binder.key for binder in self.binders}

        def inline(element: Any) -> Any:
            if (
                isinstance(element, BindParameter)
                and element.key not in variables
                and not element.expanding
                and element.callable is None
            ):
                return element.render_literal_execute()
            return None

        # (typed for column expressions and None only; a Select is traversed the same way)
        constant = replacement_traverse(statement, {}, inline)  # type: ignore[call-overload]
        try:
            return DriverStatement.compile(constant, dialect)
        except CompileError:  # a constant of a type SQLAlchemy cannot write as SQL text
            return DriverStatement.compile(statement, dialect)

    def statement(self, pg: bool) -> Select[Any]:
        # The JSON as text: drivers would otherwise decode it into Python objects.
        texts = [c.cast(_TEXT) if pg else c for c in self.columns]
        labelled = [c.label(f"r{i}") for i, c in enumerate(texts)]
        labelled += [e.column.label(f"x{i}") for i, e in enumerate(self.extras)]
        return select(*labelled)


@dataclass
class Planner:
    """Compiles the root fields of one operation for one request's viewer."""

    ctx: Context
    operation: Operation
    json: Json
    type_fields: Callable[[str], dict[str, Any]]  # GraphQL name -> Strawberry field, per type
    _marking: bool = False
    _extras: list[Extra] = field(default_factory=list)

    def _readable(self, table: Table) -> ColumnElement[bool]:
        """The viewer's scope on ``table``, as the one authorization point decides it."""
        return self.ctx.access.readable(table).where

    # -- roots ---------------------------------------------------------------------------

    async def plan(self, root: OperationDefinitionNode) -> Planned:
        """Every root field the planner covers; the others are listed with the reason."""
        if root.operation.value != "query":
            raise NotPlannable("not a query")
        planned = Planned()
        for selected in self.operation.collect("Query", root.selection_set):
            planned.order.append(selected.key)
            if selected.name == "__typename":  # known without asking the database
                planned.constants[selected.key] = '"Query"'
                continue
            self._marking = False
            self._extras = []
            try:
                column = await self._root(selected)
            except NotPlannable as reason:
                planned.unplanned.append((selected, str(reason)))
                continue
            planned.keys.append(selected.key)
            planned.columns.append(column)
            planned.extras += self._extras
            if self._marking:
                planned.marked.add(selected.key)
        planned.uses = self.operation.uses
        planned.roles = self.operation.roles
        planned.binders = self.operation.binders
        return planned

    async def _root(self, selected: Selected) -> ColumnElement[Any]:
        name = selected.name
        if name == "node":
            return await self._node(selected)
        if name in ROOT_LOOKUPS:
            return await self._lookup(selected)
        type_name = ROOT_LISTS.get(name)
        if type_name is None:
            raise NotPlannable(f"root field {name}")
        await self._require_store(type_name)
        args = self.operation.arguments("Query", selected)
        kind = KINDS[type_name]
        table = kind.table
        page, after = self._page_args(args, table.name, top_level=not kind.newest_first)
        assert kind.conditions is not None
        where = [
            self._readable(table),
            *await kind.conditions(self.ctx, args.built("filter")),
        ]
        keyset = []
        if kind.newest_first:  # a log: newest first, after an id
            keyset = [] if after is None else [table.c.id < after]
        elif page.after is not None:
            position = tuple_(args.param("after", roles.after_path, path_column(table).type), after)
            keyset = [tuple_(path_column(table), table.c.id) > position]
        return await self._connection(selected, type_name, where, keyset, page, parent=None)

    async def _require_store(self, type_name: str) -> None:
        routed = KINDS[type_name].routed
        if routed is not None and await federation.routes_of(self.ctx, routed):
            raise NotPlannable(f"{type_name} is routed to a source")

    def _page_args(
        self, args: Args, list_name: str, *, top_level: bool
    ) -> tuple[PageArgs, ColumnElement[Any] | None]:
        """The page (``first`` is part of the plan's shape) and the key of ``after`` as a
        parameter (the cursor's kind and list are its shape: ``roles.AFTER``)."""
        settings = self.ctx.settings
        page = PageArgs.parse(
            args.get("first"),
            args.bound("after", roles.AFTER),
            default=settings.page_size_default,
            cap=settings.page_size_max,
        )
        page.require_list(list_name, top_level=top_level)
        if page.segment is not None:
            raise BadInput("invalid cursor for 'after': it belongs to another list")
        if page.after is None:
            return page, None
        return page, args.param("after", roles.after_key, BigInteger())

    async def _lookup(self, selected: Selected) -> ColumnElement[Any]:
        type_name, argument, column, check = ROOT_LOOKUPS[selected.name]
        await self._require_store(type_name)
        args = self.operation.arguments("Query", selected)
        student = type_name == "Student"
        value = args.bound(argument, roles.lookup(selected.name, check, embeds=student))
        check(value)
        rows, visibility = self._base(type_name, selected)
        table = KINDS[type_name].table
        key = args.param(argument, str, table.c[column].type)
        found = table.c[column] == key
        if student:  # by a temporary number a permanent one replaced, too
            found = or_(found, table.c.former_number == key)
        rows = rows.where(found, visibility)
        if student and embeds_id(value):
            self._audit_lookup(rows)
        return await self._object_of(rows, type_name, selected)

    def _audit_lookup(self, rows: Select[Any]) -> None:
        """A lookup by a G number (a citizen ID) is audited as the resolvers audit it: the
        statement also returns the found row's id and path."""
        from resolvers.students import audit_id_lookup

        found = rows.subquery()
        column = select(self.json.cat(found.c.id.cast(_TEXT), ":", found.c.path)).scalar_subquery()

        def use(ctx: Context, value: Any) -> None:
            if value is None:
                audit_id_lookup(ctx, None, None)
            else:
                pk, _, path = str(value).partition(":")
                audit_id_lookup(ctx, encode_id("Student", int(pk)), path)

        self._extras.append(Extra(column, use))

    async def _node(self, selected: Selected) -> ColumnElement[Any]:
        args = self.operation.arguments("Query", selected)
        global_id = args.bound("id", roles.NODE)
        if decode_federated_id(global_id) is not None:
            raise NotPlannable("a record of a connected system")
        type_name, _pk = decode_id(global_id)
        if type_name not in KINDS:  # a type the planner does not compile (problem records)
            raise NotPlannable(f"node of type {type_name}")
        await self._require_store(type_name)
        rows, visibility = self._base(type_name, selected)
        table = KINDS[type_name].table
        rows = rows.where(
            table.c.id == args.param("id", roles.node_key, table.c.id.type), visibility
        )
        return await self._object_of(rows, type_name, selected)

    def _base(self, type_name: str, selected: Selected) -> tuple[Select[Any], ColumnElement[bool]]:
        """The rows of a type with the columns ``selected`` reads and ``path``, and the
        viewer's scope on them (family members have no path of their own: they take their
        student's)."""
        if type_name == "Guardian":
            columns = [GUARDIAN.c[c] for c in self._columns(type_name, selected) if c != "path"]
            rows = select(*columns, STUDENT.c.path)
            rows = rows.join_from(GUARDIAN, STUDENT, STUDENT.c.id == GUARDIAN.c.student_id)
            return rows, self._readable(STUDENT)
        table = KINDS[type_name].table
        return self._select(type_name, selected), self._readable(table)

    def _select(self, type_name: str, selected: Selected, *extra: str) -> Select[Any]:
        table = KINDS[type_name].table
        names = dict.fromkeys([*self._columns(type_name, selected), *extra])
        return select(*[table.c[n] for n in names]).select_from(table)

    def _columns(self, type_name: str, selected: Selected) -> list[str]:
        """The columns of a type's table the selection reads (the key, the path, and each
        field's column, code or key), so subqueries carry no more than that."""
        names = ["id", _path_name(KINDS[type_name].table)]
        fields = self.type_fields(type_name)
        for item in self.operation.collect(type_name, selection(selected)):
            edge = EDGES.get((type_name, item.name))
            if edge is not None:
                if isinstance(edge, ToOne | ColumnOf):
                    names.append(edge.key)
                continue
            strawberry_field = fields.get(item.name)
            if strawberry_field is None:
                continue
            plan = (strawberry_field.metadata or {}).get("plan")
            if plan is not None:
                names.append(plan[2])
            elif strawberry_field.base_resolver is None:
                names.append(strawberry_field.python_name)
        return list(dict.fromkeys(names))

    # -- connections ---------------------------------------------------------------------

    async def _connection(
        self,
        selected: Selected,
        type_name: str,
        where: list[ColumnElement[bool]],
        keyset: list[ColumnElement[bool]],
        page: PageArgs,
        *,
        parent: Any,
        scope: ColumnElement[bool] | None = None,
    ) -> ColumnElement[Any]:
        """A connection: top level (``parent`` None) ordered by (path, id) with ``p2``
        cursors, or nested under the row ``parent`` ordered by id with ``k2`` cursors.
        ``scope``: the viewer's scope when it is kept apart from ``where`` (a nested list
        linked by a key: see ``_Listing.count``)."""
        table = KINDS[type_name].table
        newest = parent is None and KINDS[type_name].newest_first
        order = [table.c.id] if parent is not None or newest else [path_column(table), table.c.id]
        connection_type = f"{type_name}Connection"
        columns = ["id", _path_name(table)]
        for part in self.operation.collect(connection_type, selection(selected)):
            if part.name == "edges":
                for item in self.operation.collect(f"{type_name}Edge", selection(part)):
                    if item.name == "node":
                        columns += self._columns(type_name, item)
        listing = _Listing(
            self, table, where, keyset, page, order, parent, columns, scope, descending=newest
        )
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for part in self.operation.collect(connection_type, selection(selected)):
            if part.name == "__typename":
                pairs.append((part.key, literal(connection_type)))
            elif part.name == "totalCount":
                pairs.append((part.key, listing.count()))
            elif part.name == "edges":
                pairs.append((part.key, await self._edges(part, type_name, listing)))
            elif part.name == "pageInfo":
                pairs.append((part.key, await self._page_info(part, listing)))
            else:
                raise NotPlannable(f"{connection_type}.{part.name}")
        return self.json.obj(pairs)

    async def _edges(self, part: Selected, type_name: str, listing: _Listing) -> ColumnElement[Any]:
        rows = listing.rows()
        edge_pairs: list[tuple[str, ColumnElement[Any]]] = []
        edge_type = f"{type_name}Edge"
        for item in self.operation.collect(edge_type, selection(part)):
            if item.name == "__typename":
                edge_pairs.append((item.key, literal(edge_type)))
            elif item.name == "cursor":
                edge_pairs.append((item.key, listing.cursor(rows)))
            elif item.name == "node":
                edge_pairs.append((item.key, await self._object(rows, type_name, item)))
            else:
                raise NotPlannable(f"{edge_type}.{item.name}")
        return self.json.array(rows, self.json.obj(edge_pairs))

    async def _page_info(self, part: Selected, listing: _Listing) -> ColumnElement[Any]:
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for item in self.operation.collect("PageInfo", selection(part)):
            if item.name == "__typename":
                pairs.append((item.key, literal("PageInfo")))
            elif item.name == "hasNextPage":
                pairs.append((item.key, self.json.flag(listing.more())))
            elif item.name == "hasPreviousPage":
                had = listing.page.after is not None or listing.page.segment is not None
                pairs.append((item.key, self.json.flag(true() if had else false())))
            elif item.name in ("startCursor", "endCursor"):
                rows = listing.rows()
                columns = [rows.c[n] for n in listing.order_names()]
                ordering = listing.sorted(columns, reverse=item.name == "endCursor")
                cursor = select(listing.cursor(rows)).order_by(*ordering).limit(1)
                pairs.append((item.key, cursor.scalar_subquery()))
            else:
                raise NotPlannable(f"PageInfo.{item.name}")
        return self.json.obj(pairs)

    # -- objects -------------------------------------------------------------------------

    async def _object_of(
        self, rows: Select[Any], type_name: str, selected: Selected
    ) -> ColumnElement[Any]:
        """A nullable object: the one row of ``rows`` as JSON, or null."""
        source = rows.subquery()
        value = select(await self._object(source, type_name, selected)).select_from(source)
        return self.json.nested(value.scalar_subquery())

    async def _list_of(
        self, rows: Select[Any], type_name: str, selected: Selected, order: tuple[str, ...]
    ) -> ColumnElement[Any]:
        """A list of objects, every row of ``rows`` in ``order``."""
        table_order = [rows.selected_columns[o] for o in order]
        source = rows.order_by(*table_order).subquery()
        return self.json.array(source, await self._object(source, type_name, selected))

    async def _object(self, source: Any, type_name: str, selected: Selected) -> ColumnElement[Any]:
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        fields = self.type_fields(type_name)
        marks: dict[str, tuple[str, ColumnElement[bool]]] = {}
        for item in self.operation.collect(type_name, selection(selected)):
            if item.name == "__typename":
                pairs.append((item.key, literal(type_name)))
                continue
            if item.name == "id":
                text = self.json.cat(f"{type_name}:", source.c.id.cast(_TEXT))
                pairs.append((item.key, self.json.b64(text)))
                continue
            edge = EDGES.get((type_name, item.name))
            if edge is not None:
                pairs.append((item.key, await self._edge(source, type_name, item, edge)))
                continue
            strawberry_field = fields.get(item.name)
            if strawberry_field is None:
                raise NotPlannable(f"{type_name}.{item.name}")
            value, mark = self._value(source, type_name, item, strawberry_field)
            pairs.append((item.key, value))
            if mark is not None:
                marks[item.name] = mark
        if marks:
            pairs.append((AUDIT_MARK, self._marks(source, type_name, marks)))
        return self.json.obj(pairs)

    def _marks(
        self, source: Any, type_name: str, marks: dict[str, tuple[str, ColumnElement[bool]]]
    ) -> ColumnElement[Any]:
        """The audit marks of one object: [primary key, path, resource, type, then per
        sensitive field its name where the value went out unmasked, else null]. The objects
        of a list mostly share all but the first two, which ``strip_marks`` groups by as
        text; it makes the global IDs from the type and keys once the answer is read:
        encoding them here cost PostgreSQL a tenth of a 100-student page."""
        self._marking = True
        resources = {resource for resource, _ in marks.values()}
        if len(resources) != 1:
            raise NotPlannable("sensitive fields of two resources on one object")
        names = [
            case((revealed, literal(name)), else_=null()) for name, (_, revealed) in marks.items()
        ]
        return self.json.values(
            source.c.id, source.c.path, literal(resources.pop()), literal(type_name), *names
        )

    # -- edges ---------------------------------------------------------------------------

    async def _edge(self, source: Any, type_name: str, item: Selected, edge: Any) -> Any:
        if isinstance(edge, ToOne):
            rows, visibility = self._base(edge.target, item)
            table = KINDS[edge.target].table
            rows = rows.where(table.c.id == source.c[edge.key]).correlate(source)
            return await self._object_of(self._by_key(rows, visibility), edge.target, item)
        if isinstance(edge, ColumnOf):
            table = KINDS[edge.target].table
            found = select(table.c.id, path_column(table), table.c[edge.column]).where(
                table.c.id == source.c[edge.key]
            )
            rows = self._by_key(found.correlate(source), self._readable(table))
            return rows.with_only_columns(rows.selected_columns[edge.column]).scalar_subquery()
        if isinstance(edge, CountOf):
            table = KINDS[edge.target].table
            # The viewer's scope as the count's FILTER: see ``_Listing.count``.
            count = select(func.count().filter(self._readable(table))).select_from(table)
            count = count.where(table.c[edge.key] == source.c.id)
            return count.correlate(source).scalar_subquery()
        if isinstance(edge, ToMany):
            if edge.target == "Guardian":  # the student's path, and its scope, are the parent's
                names = dict.fromkeys([*self._columns("Guardian", item), "position"])
                columns = [GUARDIAN.c[c] for c in names if c != "path"]
                family: Select[Any] = select(*columns, source.c.path.label("path"))
                listed = family.where(GUARDIAN.c.student_id == source.c.id)
            else:
                table = KINDS[edge.target].table
                listed = self._select(edge.target, item, *edge.order).where(
                    table.c[edge.key] == source.c.id, self._readable(table)
                )
            return await self._list_of(listed.correlate(source), edge.target, item, edge.order)
        assert isinstance(edge, Nested)
        return await self._nested(source, type_name, item, edge)

    def _by_key(self, rows: Select[Any], visibility: ColumnElement[bool]) -> Select[Any]:
        """The row ``rows`` finds by its primary key, kept if the viewer may see it. On
        PostgreSQL the key's lookup is fenced (``OFFSET 0``: a subquery the planner keeps
        whole), so the scope is checked on the one row found. Otherwise the planner may
        answer both conditions from the path index when it thinks the viewer's subtree
        small (its estimate for a range of paths is one row): it then walks every row of
        the subtree once per parent row, where the key finds the row at once."""
        if not self.json.pg:
            return rows.where(visibility)
        found = rows.offset(0).subquery()
        return select(*found.c).where(ClauseAdapter(found).traverse(visibility))

    async def _nested(
        self, source: Any, type_name: str, item: Selected, edge: Nested
    ) -> ColumnElement[Any]:
        """A nested connection under the row ``source``: the child list's own filters and
        scope, the link to the parent, keyset on the id."""
        await self._require_store(edge.target)
        kind = KINDS[edge.target]
        assert kind.conditions is not None
        table = kind.table
        args = self.operation.arguments(type_name, item)
        page, after = self._page_args(args, table.name, top_level=False)
        link = subtree_of(table, source) if edge.key is None else table.c[edge.key] == source.c.id
        where = [*await kind.conditions(self.ctx, args.built("filter")), link]
        scope: ColumnElement[bool] | None = self._readable(table)
        if edge.key is None:  # the link is a path range itself: the scope goes beside it
            where, scope = [scope, *where], None
        keyset = [] if after is None else [table.c.id > after]
        return await self._connection(
            item, edge.target, where, keyset, page, parent=source, scope=scope
        )

    # -- values --------------------------------------------------------------------------

    def _value(
        self, source: Any, type_name: str, item: Selected, strawberry_field: Any
    ) -> tuple[ColumnElement[Any], tuple[str, ColumnElement[bool]] | None]:
        """A field's JSON value, and its audit mark (resource, revealed-condition) if it is
        a sensitive field the viewer may see unmasked somewhere."""
        plan = (strawberry_field.metadata or {}).get("plan")
        if plan is None:
            if strawberry_field.base_resolver is not None:
                raise NotPlannable(f"{type_name}.{item.name} has a resolver")
            column = source.c[strawberry_field.python_name]
            return self._scalar(column, type_name, item.name), None
        kind = plan[0]
        if kind == "code":
            _, code_set, attribute = plan
            return self._code(source.c[attribute], code_set, item), None
        if kind not in ("sensitive", "sensitive_code", "sensitive_flag"):
            raise NotPlannable(f"{type_name}.{item.name}")
        resource = plan[1]
        value = source.c[plan[2]]
        may = self.ctx.access.unmasked_where(resource, source.c.path)
        if kind == "sensitive":
            masked = self._mask(value, plan[3])
            if may is None:
                return case((value.is_(None), null()), else_=masked), None
            shown = case((value.is_(None), null()), (may, value), else_=masked)
            revealed = and_(may, value.is_not(None))
            if plan[3] == "mask_student_number":  # L and J numbers are plain for everyone
                revealed = and_(revealed, func.substr(value, 1, 1) == "G")
            return shown, (resource, revealed)
        if kind == "sensitive_code":
            hidden = self._code_pairs(MASKED_CODE, MASKED_LABEL, item)
            if may is None:
                return hidden, None
            coded = self._code(value, plan[3], item)
            return case((may, coded), else_=hidden), (resource, and_(may, value.is_not(None)))
        if may is None:
            return null(), None
        flag = case((value.is_(None), null()), (may, self.json.boolean(value)), else_=null())
        return flag, (resource, and_(may, value.is_not(None)))

    def _graphql_type(self, type_name: str, field_name: str) -> Any:
        graphql_type: Any = self.operation.object_type(type_name).fields[field_name].type
        while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
            if isinstance(graphql_type, GraphQLList):
                raise NotPlannable(f"{type_name}.{field_name} is a list")
            graphql_type = graphql_type.of_type
        return graphql_type

    def _scalar(self, column: Any, type_name: str, field_name: str) -> ColumnElement[Any]:
        graphql_type = self._graphql_type(type_name, field_name)
        name = graphql_type.name
        if isinstance(graphql_type, GraphQLEnumType):
            # SQLAlchemy stores an enum by member name; GraphQL serves it by member name.
            return column  # type: ignore[no-any-return]
        if name in ("String", "ID", "Int"):
            return column  # type: ignore[no-any-return]
        if name == "Boolean":
            return self.json.boolean(column)
        if name == "Date":
            return self.json.date(column)
        if name == "DateTime":
            return self.json.datetime(column)
        scale = getattr(column.type, "scale", None)
        if name == "Decimal" and scale is not None:
            return self.json.decimal(column, scale)
        if name == "Float" and scale is not None:
            return self.json.float_(column, scale)
        raise NotPlannable(f"scalar {name} of {type_name}.{field_name}")

    def _label(self, column: ColumnElement[Any], code_set: str) -> ColumnElement[Any]:
        if code_set == "division":
            if self.ctx.codes.divisions is None:
                raise NotPlannable("labels of division codes (no division_name table loaded)")
            name = select(DIVISION_NAME.c.name).where(DIVISION_NAME.c.code == column)
            return func.coalesce(name.scalar_subquery(), literal(UNKNOWN_LABEL))
        members = self.ctx.codes.members(code_set)
        if not members:
            return literal(UNKNOWN_LABEL)
        if code_set != "asset_category":
            return case(*[(column == c, text) for c, text in members.items()], else_=UNKNOWN_LABEL)
        # GB/T 14885 codes are hierarchical: the nearest known ancestor names an item code.
        length = func.length(column)
        tiers: list[ColumnElement[Any]] = [
            case(*[(column == c, text) for c, text in members.items()], else_=null())
        ]
        for keep in (5, 3, 1):
            padding = func.substr(literal("0" * 16), 1, length - keep)
            ancestor = case(
                (length > keep, self.json.cat(func.substr(column, 1, keep), padding)),
                else_=column,
            )
            tiers.append(
                case(*[(ancestor == c, text) for c, text in members.items()], else_=null())
            )
        return func.coalesce(*tiers, literal(UNKNOWN_LABEL))

    def _code(
        self, column: ColumnElement[Any], code_set: str, item: Selected
    ) -> ColumnElement[Any]:
        members = self.ctx.codes.members(code_set) if code_set != "division" else {}
        if self.json.pg and members and code_set != "asset_category":
            # Each member's object is a constant; only an unknown code is built per row.
            constants = [
                (column == c, self._code_pairs(c, text, item)) for c, text in members.items()
            ]
            unknown = self._code_pairs(column, literal(UNKNOWN_LABEL), item)
            return case((column.is_(None), null()), *constants, else_=unknown)
        value = self._code_pairs(column, self._label(column, code_set), item)
        return case((column.is_(None), null()), else_=value)

    def _code_pairs(self, code: Any, label: Any, item: Selected) -> ColumnElement[Any]:
        """A ``Code`` object of the selection; a JSON constant where its code and label
        are known (Python strings), built per row otherwise."""
        pairs: list[tuple[str, Any]] = []
        for part in self.operation.collect("Code", selection(item)):
            if part.name == "code":
                pairs.append((part.key, code))
            elif part.name == "label":
                pairs.append((part.key, label))
            elif part.name == "__typename":
                pairs.append((part.key, "Code"))
            else:
                raise NotPlannable(f"Code.{part.name}")
        if all(isinstance(value, str) for _, value in pairs):
            constant = self.json.constant(pairs)
            if constant is not None:
                return constant
        return self.json.obj([(k, literal(v) if isinstance(v, str) else v) for k, v in pairs])

    def _mask(self, value: ColumnElement[Any], mask: str) -> ColumnElement[Any]:
        j = self.json
        length = func.length(value)
        if mask == "mask_id":
            return literal(ID_MASK)
        if mask == "mask_student_number":
            return case((func.substr(value, 1, 1) == "G", literal("G" + ID_MASK)), else_=value)
        if mask == "mask_phone":
            return case(
                (length <= 7, j.stars(length)),
                else_=j.cat(func.substr(value, 1, 3), j.stars(length - 7), j.right(value, 4)),
            )
        if mask == "mask_text":
            return case((length > 6, j.cat(func.substr(value, 1, 6), "****")), else_="****")
        if mask == "mask_email":
            return j.mask_email(value)
        raise NotPlannable(f"mask {mask}")


@dataclass
class _Listing:
    """The rows of one connection (one page of them) and their count, as SQL."""

    planner: Planner
    table: Table
    where: list[ColumnElement[bool]]
    keyset: list[ColumnElement[bool]]
    page: PageArgs
    order: list[Any]
    parent: Any
    columns: list[str]  # what the nodes read (and the keys of order and cursors)
    scope: ColumnElement[bool] | None = None  # the viewer's scope, when not in ``where``
    descending: bool = False  # newest first (a log), with ``k2`` cursors

    def sorted(self, columns: list[Any], *, reverse: bool = False) -> list[Any]:
        """``columns`` in the list's direction (or the opposite one)."""
        return [c.desc() if self.descending != reverse else c for c in columns]

    def _where(self) -> list[ColumnElement[bool]]:
        return self.where if self.scope is None else [*self.where, self.scope]

    def _correlated(self, statement: Select[Any]) -> Select[Any]:
        return statement if self.parent is None else statement.correlate(self.parent)

    def rows(self) -> Any:
        names = dict.fromkeys(self.columns)
        statement = select(*[self.table.c[n] for n in names]).select_from(self.table)
        statement = statement.where(*self._where(), *self.keyset)
        statement = statement.order_by(*self.sorted(self.order)).limit(self.page.first)
        return self._correlated(statement).subquery()

    def order_names(self) -> list[str]:
        return [c.name for c in self.order]

    def count(self) -> ColumnElement[Any]:
        """The number of rows. Under a parent linked by a key, the viewer's scope is the
        count's FILTER, not a WHERE condition: the rows are found by the link's index (it
        carries the path, migration 0007), never by combining it with the scope's whole
        path range, which PostgreSQL chose for a school's student count when it took the
        two conditions as independent (8 ms instead of 2 ms for a county of 1,000,000)."""
        counted = func.count() if self.scope is None else func.count().filter(self.scope)
        statement = select(counted).select_from(self.table).where(*self.where)
        return self._correlated(statement).scalar_subquery()

    def more(self) -> ColumnElement[bool]:
        beyond = select(self.table.c.id).where(*self._where(), *self.keyset)
        beyond = beyond.order_by(*self.sorted(self.order))
        beyond = self._correlated(beyond.offset(self.page.first).limit(1))
        return exists(beyond.subquery().select())

    def cursor(self, rows: Any) -> ColumnElement[Any]:
        j = self.planner.json
        name = self.table.name
        if self.parent is not None or self.descending:
            return j.b64(j.cat(f"k2:{name}:", rows.c.id.cast(_TEXT)))
        path = rows.c[self.order[0].name]
        return j.b64(j.cat(f"p2:{name}:", rows.c.id.cast(_TEXT), ":", path))


def _path_name(table: Table) -> str:
    """The name of the column placing rows of ``table`` in the tree (family members carry
    their student's ``path``, added by the planner)."""
    return "scope_path" if table.name == "audit_event" else "path"


def subtree_of(table: Table, parent: Any) -> ColumnElement[bool]:
    """Rows of ``table`` anywhere in the subtree of the org unit row ``parent``."""
    upper = Json.cat(func.substr(parent.c.path, 1, func.length(parent.c.path) - 1), "0")
    return and_(table.c.path >= parent.c.path, table.c.path < upper)
