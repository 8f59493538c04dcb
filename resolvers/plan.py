"""The compiled read path (查询编译): a GraphQL operation over the hub store planned into one
SQL statement whose columns are the response JSON of each root field, built by the database
(PostgreSQL ``json_build_object``/``json_agg``, SQLite ``json_object``/``json_group_array``).

The planner reuses the resolvers' statement builders for everything that decides *which*
rows a viewer gets (scope, filters with their errors, keyset positions), so the two paths
cannot drift apart on access; it only replaces the per-field execution that assembles the
answer. Masking is a SQL expression following ``hub.access.masking``.

What it covers (the rest raises ``NotPlannable`` and runs through the resolvers, visibly):
root ``students`` and ``student``, when no source routes students; ``Student`` with its
scalar, coded and sensitive fields, ``school`` and ``guardians``; ``School`` scalars and
codes; connections with ``totalCount``, ``edges { cursor node }`` and ``pageInfo``;
aliases, fragments, ``@skip``/``@include`` and ``__typename``. A sensitive field is planned
only for viewers who may not unmask it anywhere in the list's reach (masked in SQL); a
viewer who may unmask it is served by the resolvers, which audit each subject read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.utilities import coerce_input_value, value_from_ast
from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
)
from sqlalchemy import Text as _TEXT
from sqlalchemy.dialects.postgresql import aggregate_order_by

from hub.access.masking import ID_MASK, MASKED_CODE, MASKED_LABEL, embeds_id
from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from hub.schools.models import School
from hub.students.models import FamilyMember, Student
from resolvers import federation
from resolvers import students as student_rules
from resolvers.common import path_column, tree_keyset, visible

STUDENT = table_of(Student)
SCHOOL = table_of(School)
FAMILY = table_of(FamilyMember)
STARS = "*" * 64  # phones are masked with a prefix of this


class NotPlannable(Exception):
    """The selection needs the resolvers: the reason says what the planner lacks."""


# --- the SQL dialect of JSON ---------------------------------------------------------------


class Json:
    """JSON construction in one dialect: objects, arrays of subquery rows, booleans, ids."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def obj(self, pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        if len(pairs) > 50:
            raise NotPlannable("more than 50 fields in one object")
        args: list[Any] = []
        for key, value in pairs:
            args += [literal(key), value]
        return func.json_build_object(*args) if self.pg else func.json_object(*args)

    def nested(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON value from a subquery, kept JSON inside the enclosing object."""
        return value if self.pg else func.json(value)

    def array(self, rows: Select[Any], column: str, order: list[str]) -> ColumnElement[Any]:
        """The ``column`` JSON of ``rows`` as an array, in ``order`` ([] when empty)."""
        sub = rows.subquery()
        if self.pg:
            ordering = [sub.c[o] for o in order]
            agg = func.json_agg(aggregate_order_by(sub.c[column], *ordering))
            return select(func.coalesce(agg, literal_column("'[]'::json"))).scalar_subquery()
        ordered = select(sub.c[column]).order_by(*[sub.c[o] for o in order]).subquery()
        return func.json(
            select(func.json_group_array(func.json(ordered.c[column]))).scalar_subquery()
        )

    def boolean(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.pg:
            return value
        return case(
            (value.is_(None), null()),
            (value == 1, func.json("true")),
            else_=func.json("false"),
        )

    def flag(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        """A JSON true/false from a SQL condition."""
        if self.pg:
            return condition
        return case((condition, func.json("true")), else_=func.json("false"))

    def date(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.to_char(value, "YYYY-MM-DD") if self.pg else value

    def b64(self, text_value: ColumnElement[Any]) -> ColumnElement[Any]:
        """base64url without padding (global ids and cursors, as ``hub.ids`` encodes them)."""
        if self.pg:
            encoded = func.encode(func.convert_to(text_value, "UTF8"), "base64")
            return func.rtrim(func.translate(encoded, "+/\n", "-_"), "=")
        return func.hub_b64(text_value)

    @staticmethod
    def cat(*parts: Any) -> ColumnElement[Any]:
        """String concatenation (``||`` in both dialects; ``+`` would add numbers)."""
        joined: Any = parts[0] if isinstance(parts[0], ColumnElement) else literal(parts[0])
        for part in parts[1:]:
            joined = joined.op("||")(part if isinstance(part, ColumnElement) else literal(part))
        result: ColumnElement[Any] = joined
        return result

    def stars(self, n: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.substr(literal(STARS), 1, n)

    def right(self, value: ColumnElement[Any], n: int) -> ColumnElement[Any]:
        return func.right(value, n) if self.pg else func.substr(value, -n)

    def mask_email(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.pg:
            domain = func.regexp_replace(value, "^.*@", "")
            return case((func.strpos(value, "@") > 0, self.cat("****@", domain)), else_="****")
        return func.hub_mask_email(value)


# --- the plan --------------------------------------------------------------------------------


@dataclass
class Selected:
    """One response key of a selection set and the field nodes that ask for it."""

    key: str
    name: str
    nodes: list[FieldNode]


@dataclass
class Operation:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]

    def collect(self, type_name: str, selection_set: SelectionSetNode | None) -> list[Selected]:
        found: dict[str, Selected] = {}
        for node in self._fields(type_name, selection_set, set()):
            key = node.alias.value if node.alias else node.name.value
            entry = found.get(key)
            if entry is None:
                found[key] = Selected(key, node.name.value, [node])
            else:
                entry.nodes.append(node)
        return list(found.values())

    def _fields(
        self, type_name: str, selection_set: SelectionSetNode | None, seen: set[str]
    ) -> Iterator[FieldNode]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != type_name:
                    raise NotPlannable("a fragment on another type")
                yield from self._fields(type_name, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen:
                    continue
                fragment = self.fragments[name]
                if fragment.type_condition.name.value != type_name:
                    raise NotPlannable("a fragment on another type")
                yield from self._fields(type_name, fragment.selection_set, seen | {name})

    def _included(self, selection: Any) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise NotPlannable(f"directive @{name}")
            argument = directive.arguments[0].value
            if isinstance(argument, VariableNode):
                flag = bool(self.variables.get(argument.name.value))
            elif isinstance(argument, BooleanValueNode):
                flag = argument.value
            else:
                raise NotPlannable("a directive argument")
            if flag == (name == "skip"):
                return False
        return True

    def arguments(self, parent: str, selected: Selected) -> dict[str, Any]:
        """The field's arguments, coerced as graphql-core would (all nodes must agree)."""
        node = selected.nodes[0]
        if any(len(n.arguments or ()) for n in selected.nodes[1:]):
            raise NotPlannable("arguments repeated on a merged field")
        field_def = self._type(parent).fields[selected.name]
        values: dict[str, Any] = {}
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name, argument in field_def.args.items():
            ast = given.get(name)
            if ast is None:
                values[name] = None
                continue
            if isinstance(ast, VariableNode):
                raw = self.variables.get(ast.name.value)
                values[name] = None if raw is None else coerce_input_value(raw, argument.type)
            else:
                if _has_variable(ast):
                    raise NotPlannable("a variable inside a literal argument")
                values[name] = value_from_ast(ast, argument.type, self.variables)
        return values

    def _type(self, name: str) -> GraphQLObjectType:
        found = self.schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found


def _has_variable(ast: Any) -> bool:
    if isinstance(ast, VariableNode):
        return True
    if isinstance(ast, ListValueNode):
        return any(_has_variable(v) for v in ast.values)
    if isinstance(ast, ObjectValueNode):
        return any(_has_variable(f.value) for f in ast.fields)
    return False


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _spec(value: Any) -> dict[str, Any]:
    """A filter input (coerced, GraphQL names) as the resolvers' spec dict (Python names)."""
    if value is None:
        return {}
    items = value.items() if isinstance(value, dict) else vars(value).items()
    return {_CAMEL.sub("_", k).lower(): v for k, v in items if v is not None}


@dataclass
class Planner:
    """Compiles the root fields of one operation for one request's viewer."""

    ctx: Context
    operation: Operation
    json: Json
    type_fields: Callable[[str], dict[str, Any]]  # GraphQL name -> Strawberry field, per type
    roots: list[str] = field(default_factory=list)

    # -- roots ---------------------------------------------------------------------------

    async def plan(self, root: OperationDefinitionNode) -> tuple[list[str], Select[Any]]:
        if root.operation.value != "query":
            raise NotPlannable("not a query")
        columns: list[ColumnElement[Any]] = []
        keys: list[str] = []
        for selected in self.operation.collect("Query", root.selection_set):
            keys.append(selected.key)
            columns.append(await self._root(selected))
        # The JSON as text: drivers would otherwise decode it into Python objects.
        texts = [c.cast(_TEXT) if self.json.pg else c for c in columns]
        return keys, select(*[c.label(f"r{i}") for i, c in enumerate(texts)])

    async def _root(self, selected: Selected) -> ColumnElement[Any]:
        name = selected.name
        if name == "__typename":
            return self._typename_literal("Query")
        if name not in ("students", "student"):
            raise NotPlannable(f"root field {name}")
        if await federation.routes_of(self.ctx, "student"):
            raise NotPlannable("students are routed to a source")
        args = self.operation.arguments("Query", selected)
        if name == "student":
            student_rules.check_student_number(args["studentNumber"])
            if embeds_id(args["studentNumber"]):
                raise NotPlannable("a lookup by a G number is audited by the resolvers")
            rows = select(STUDENT).where(
                STUDENT.c.student_number == args["studentNumber"], visible(self.ctx, STUDENT)
            )
            return self._object_of(rows, "Student", selected)
        spec = _spec(args.get("filter"))
        page = PageArgs.parse(
            args.get("first"),
            args.get("after"),
            default=self.ctx.settings.page_size_default,
            cap=self.ctx.settings.page_size_max,
        )
        where = [
            visible(self.ctx, STUDENT),
            *await student_rules.conditions(self.ctx, spec),
        ]
        keyset = tree_keyset(STUDENT, page)
        return self._connection(selected, "Student", where, keyset, page, top_level=True)

    def _typename_literal(self, name: str) -> ColumnElement[Any]:
        return self.json.nested(select(literal(f'"{name}"')).scalar_subquery())

    # -- connections ---------------------------------------------------------------------

    def _connection(
        self,
        selected: Selected,
        type_name: str,
        where: list[ColumnElement[bool]],
        keyset: list[ColumnElement[bool]],
        page: PageArgs,
        *,
        top_level: bool,
    ) -> ColumnElement[Any]:
        table = STUDENT
        order = [path_column(table), table.c.id] if top_level else [table.c.id]
        connection_type = f"{type_name}Connection"
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for part in self.operation.collect(connection_type, _selection(selected)):
            if part.name == "__typename":
                pairs.append((part.key, literal(connection_type)))
            elif part.name == "totalCount":
                count = select(func.count()).select_from(table).where(*where).scalar_subquery()
                pairs.append((part.key, count))
            elif part.name == "edges":
                pairs.append((part.key, self._edges(part, type_name, where, keyset, page, order)))
            elif part.name == "pageInfo":
                pairs.append((part.key, self._page_info(part, where, keyset, page, order)))
            else:
                raise NotPlannable(f"{connection_type}.{part.name}")
        return self.json.obj(pairs)

    def _cursor(self, source: Any) -> ColumnElement[Any]:
        text = self.json.cat("p2:student:", source.c.id.cast(_TEXT), ":", source.c.path)
        return self.json.b64(text)

    def _page(self, where: list[Any], keyset: list[Any], page: PageArgs, order: list[Any]) -> Any:
        return select(STUDENT).where(*where, *keyset).order_by(*order).limit(page.first).subquery()

    def _edges(
        self,
        part: Selected,
        type_name: str,
        where: list[Any],
        keyset: list[Any],
        page: PageArgs,
        order: list[Any],
    ) -> ColumnElement[Any]:
        rows = self._page(where, keyset, page, order)
        edge_pairs: list[tuple[str, ColumnElement[Any]]] = []
        edge_type = f"{type_name}Edge"
        for item in self.operation.collect(edge_type, _selection(part)):
            if item.name == "__typename":
                edge_pairs.append((item.key, literal(edge_type)))
            elif item.name == "cursor":
                edge_pairs.append((item.key, self._cursor(rows)))
            elif item.name == "node":
                edge_pairs.append((item.key, self._object(rows, type_name, item)))
            else:
                raise NotPlannable(f"{edge_type}.{item.name}")
        edge = self.json.obj(edge_pairs).label("j")
        ordered = select(edge, rows.c.path.label("o1"), rows.c.id.label("o2")).select_from(rows)
        return self.json.nested(self.json.array(ordered, "j", ["o1", "o2"]))

    def _page_info(
        self, part: Selected, where: list[Any], keyset: list[Any], page: PageArgs, order: list[Any]
    ) -> ColumnElement[Any]:
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for item in self.operation.collect("PageInfo", _selection(part)):
            if item.name == "__typename":
                pairs.append((item.key, literal("PageInfo")))
            elif item.name == "hasNextPage":
                beyond = select(STUDENT.c.id).where(*where, *keyset).order_by(*order)
                more = exists(beyond.offset(page.first).limit(1).subquery().select())
                pairs.append((item.key, self.json.flag(more)))
            elif item.name == "hasPreviousPage":
                had = page.after is not None or page.segment is not None
                pairs.append((item.key, self.json.flag(true() if had else false())))
            elif item.name in ("startCursor", "endCursor"):
                rows = self._page(where, keyset, page, order)
                descending = item.name == "endCursor"
                ordering = [rows.c.path, rows.c.id]
                if descending:
                    ordering = [o.desc() for o in ordering]
                cursor = select(self._cursor(rows)).order_by(*ordering).limit(1)
                pairs.append((item.key, cursor.scalar_subquery()))
            else:
                raise NotPlannable(f"PageInfo.{item.name}")
        return self.json.obj(pairs)

    # -- objects -------------------------------------------------------------------------

    def _object_of(
        self, rows: Select[Any], type_name: str, selected: Selected
    ) -> ColumnElement[Any]:
        """A nullable object: the one row of ``rows`` as JSON, or null."""
        source = rows.subquery()
        value = select(self._object(source, type_name, selected)).select_from(source)
        return self.json.nested(value.scalar_subquery())

    def _object(self, source: Any, type_name: str, selected: Selected) -> ColumnElement[Any]:
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        fields = self.type_fields(type_name)
        for item in self.operation.collect(type_name, _selection(selected)):
            if item.name == "__typename":
                pairs.append((item.key, literal(type_name)))
                continue
            if item.name == "id":
                text = self.json.cat(f"{type_name}:", source.c.id.cast(_TEXT))
                pairs.append((item.key, self.json.b64(text)))
                continue
            relation = RELATIONS.get((type_name, item.name))
            if relation is not None:
                pairs.append((item.key, relation(self, source, item)))
                continue
            strawberry_field = fields.get(item.name)
            if strawberry_field is None:
                raise NotPlannable(f"{type_name}.{item.name}")
            pairs.append((item.key, self._value(source, type_name, item, strawberry_field)))
        return self.json.obj(pairs)

    def _value(
        self, source: Any, type_name: str, item: Selected, strawberry_field: Any
    ) -> ColumnElement[Any]:
        plan = (strawberry_field.metadata or {}).get("plan")
        if plan is None:
            if strawberry_field.base_resolver is not None:
                raise NotPlannable(f"{type_name}.{item.name} has a resolver")
            column = source.c[strawberry_field.python_name]
            return self._scalar(column, self._graphql_type(type_name, item.name))
        kind = plan[0]
        if kind == "code":
            _, code_set, attribute = plan
            return self._code(source.c[attribute], code_set, item)
        if kind in ("sensitive", "sensitive_code", "sensitive_flag"):
            self._require_masked(plan[1], item)
            if kind == "sensitive":
                return self._mask(source.c[plan[2]], plan[3])
            if kind == "sensitive_code":
                return self._code_pairs(literal(MASKED_CODE), literal(MASKED_LABEL), item)
            return null()
        raise NotPlannable(f"{type_name}.{item.name}")

    def _graphql_type(self, type_name: str, field_name: str) -> str:
        graphql_type: Any = self.operation._type(type_name).fields[field_name].type
        while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
            if isinstance(graphql_type, GraphQLList):
                raise NotPlannable(f"{type_name}.{field_name} is a list")
            graphql_type = graphql_type.of_type
        return str(graphql_type.name)

    def _scalar(self, column: ColumnElement[Any], graphql_type: str) -> ColumnElement[Any]:
        if graphql_type in ("String", "Int", "ID"):
            return column
        if graphql_type == "Boolean":
            return self.json.boolean(column)
        if graphql_type == "Date":
            return self.json.date(column)
        raise NotPlannable(f"scalar {graphql_type}")

    def _code(
        self, column: ColumnElement[Any], code_set: str, item: Selected
    ) -> ColumnElement[Any]:
        if code_set in ("division", "asset_category"):
            raise NotPlannable(f"labels of {code_set}")
        members = self.ctx.codes.members(code_set)
        fallback = self.ctx.codes.label(code_set, "\x00")
        label: ColumnElement[Any] = (
            case(*[(column == code, text) for code, text in members.items()], else_=fallback)
            if members
            else literal(fallback)
        )
        value = self._code_pairs(column, label, item)
        return case((column.is_(None), null()), else_=value)

    def _code_pairs(self, code: Any, label: Any, item: Selected) -> ColumnElement[Any]:
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for part in self.operation.collect("Code", _selection(item)):
            if part.name == "code":
                pairs.append((part.key, code))
            elif part.name == "label":
                pairs.append((part.key, label))
            elif part.name == "__typename":
                pairs.append((part.key, literal("Code")))
            else:
                raise NotPlannable(f"Code.{part.name}")
        return self.json.obj(pairs)

    def _require_masked(self, resource: str, item: Selected) -> None:
        """Sensitive values are planned only where they are masked for the whole request:
        a viewer who may unmask anywhere is served (and audited) by the resolvers."""
        if self.ctx.access.scope(resource, "unmask").prefixes:
            raise NotPlannable(f"{item.name}: the viewer may unmask {resource}")

    def _mask(self, value: ColumnElement[Any], mask: str) -> ColumnElement[Any]:
        j = self.json
        length = func.length(value)
        masked: ColumnElement[Any]
        if mask == "mask_id":
            masked = literal(ID_MASK)
        elif mask == "mask_student_number":
            masked = case((func.substr(value, 1, 1) == "G", literal("G" + ID_MASK)), else_=value)
        elif mask == "mask_phone":
            masked = case(
                (length <= 7, j.stars(length)),
                else_=j.cat(func.substr(value, 1, 3), j.stars(length - 7), j.right(value, 4)),
            )
        elif mask == "mask_text":
            masked = case((length > 6, j.cat(func.substr(value, 1, 6), "****")), else_="****")
        elif mask == "mask_email":
            masked = j.mask_email(value)
        else:
            raise NotPlannable(f"mask {mask}")
        return case((value.is_(None), null()), else_=masked)


def _selection(selected: Selected) -> SelectionSetNode:
    """The merged selection set of a field asked for by several nodes."""
    selections = [
        s
        for node in selected.nodes
        for s in (node.selection_set.selections if node.selection_set else ())
    ]
    return SelectionSetNode(selections=tuple(selections))


# Relations of a type planned as correlated subqueries on the parent row ``source``.
def _student_school(planner: Planner, source: Any, item: Selected) -> ColumnElement[Any]:
    rows = select(SCHOOL).where(SCHOOL.c.id == source.c.school_id, visible(planner.ctx, SCHOOL))
    return planner._object_of(rows.correlate_except(SCHOOL), "School", item)


def _student_guardians(planner: Planner, source: Any, item: Selected) -> ColumnElement[Any]:
    """Family members carry their student's path (for masking decisions)."""
    family = select(FAMILY, source.c.path.label("path")).where(FAMILY.c.student_id == source.c.id)
    sub = family.correlate(source).subquery()
    obj = planner._object(sub, "Guardian", item).label("j")
    ordered = select(obj, sub.c.position.label("o1"), sub.c.id.label("o2")).select_from(sub)
    return planner.json.nested(planner.json.array(ordered, "j", ["o1", "o2"]))


RELATIONS: dict[tuple[str, str], Callable[[Planner, Any, Selected], ColumnElement[Any]]] = {
    ("Student", "school"): _student_school,
    ("Student", "guardians"): _student_guardians,
}
