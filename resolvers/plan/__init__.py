"""The compiled read path (查询编译): a GraphQL operation over the hub store planned into one
SQL statement whose columns are the response JSON of each root field, built by the database
(PostgreSQL ``json_build_object``/``json_agg``, SQLite ``json_object``/``json_group_array``).

The planner reuses the resolvers' statement builders for everything that decides *which*
rows a viewer gets (scope, filters with their errors, keyset positions), so the two paths
cannot drift apart on access; it only replaces the per-field execution that assembles the
answer. Masking is a SQL expression following ``hub.access.masking``; a sensitive value
that goes out unmasked leaves an audit mark in its object (its resource, id, path and the
fields revealed), which ``strip_marks`` turns into the request's audit record and removes.

What it covers: the root lists and lookups of the store (``orgUnits``, ``schools``,
``students``, ``teachers``, ``buildings``, ``assets``, ``auditEvents``, ``orgUnit``,
``school``, ``student``, ``node``) and every edge of ``resolvers/plan/entities.py``, with
connections (``totalCount``, ``edges { cursor node }``, ``pageInfo``), codes with labels,
aliases, fragments, ``@skip``/``@include`` and ``__typename``. A root field it does not cover
(``me``, sources, lists routed to connected systems) raises ``NotPlannable`` and runs
through the resolvers, in the same response, visibly.
"""

from resolvers.plan.operation import NotPlannable, Operation
from resolvers.plan.planner import AUDIT_MARK, Planned, Planner
from resolvers.plan.sqljson import Json

__all__ = ["AUDIT_MARK", "Json", "NotPlannable", "Operation", "Planned", "Planner"]
