"""Benchmarks: the hub over HTTP (ASGI, in process) against hand-written SQL through the same
driver (asyncpg), serialised to JSON with orjson, measured in the same run.

    make bench                       # 1,000,000 students into PostgreSQL, loaded once, reused
    python -m bench.run --students 50000 --iterations 50   # a quicker look

The data set is the demo province (``eduhub demo``) in its own database; it is reloaded only
when its seed or size differ from what is asked.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.asgi import AsgiClient
from hub.access.identity import mint_token
from hub.app import create_app
from hub.codes.registry import registry_from_packaged
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.demo.load import load_demo
from hub.demo.users import create_demo_users, demo_units
from hub.settings import Settings

ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BENCH_DB = "eduhub_bench"

STUDENT_BY_NUMBER = """
query ($n: String!) { student(studentNumber: $n) {
  studentNumber name sex { code label } birthDate grade { code label } className
  school { code name } } }
"""

STUDENT_PAGE = """
query ($after: String) { students(first: 100, after: $after) { edges { node {
  studentNumber name sex { code label } birthDate grade { code label }
  school { code name }
  guardians { name relationship { code label } phone } } } } }
"""

USERS = ("national.admin", "county.registrar")
SHORT = {
    "national.admin": "national",
    "county.registrar": "county",
    "county.statistician": "county",
}
# The county registrar may not read buildings or assets (facilities): the county figures of
# that scenario are its county statistician's, who may.
COUNTY_USER = {"county schools > buildings > assets": "county.statistician"}

COUNTY_BUILDINGS = """
query ($c: String!) { orgUnit(code: $c) { schools(first: 100) { edges { node { code name
  buildings(first: 20) { edges { node { code name dangerRating { code label } floorArea
    assets(first: 10) { edges { node { code name category { code label } totalValue } } }
  } } } } } } } }
"""

COUNTY_SCHOOLS = """
query ($c: String!) { orgUnit(code: $c) { schools(first: 200) { edges { node {
  code name students { totalCount } } } } } }
"""


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass
class Figures:
    name: str
    hub: list[float]  # the compiled read path (planner)
    resolvers: list[float]  # the same requests with HUB_PLANNER=off
    raw: list[float]
    cpu: float  # process CPU seconds per planned request (client and server: one process)

    def line(self) -> str:
        h50, h95 = pct(self.hub, 0.5), pct(self.hub, 0.95)
        v50, v95 = pct(self.resolvers, 0.5), pct(self.resolvers, 0.95)
        r50, r95 = pct(self.raw, 0.5), pct(self.raw, 0.95)
        return (
            f"{self.name:<46} {h50:>7.2f} {h95:>7.2f} {v50:>7.2f} {v95:>7.2f}"
            f" {r50:>7.2f} {r95:>7.2f} {h50 / r50:>6.1f}x {h95 / r95:>6.1f}x"
            f" {v50 / h50:>6.1f}x {self.cpu * 1000:>7.2f}"
        )


async def ensure_data(url: str, students: int, seed: int) -> None:
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        exists = (
            await connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": BENCH_DB}
            )
        ).scalar()
        if not exists:
            await connection.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    await admin.dispose()
    engine = make_engine(url)
    meta: dict[str, str] = {}
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT key, value FROM hub_meta"))).all()
            meta = {row.key: row.value for row in rows}
    except Exception:  # no tables yet: load below
        meta = {}
    if meta.get("demo_students") == str(students) and meta.get("demo_seed") == str(seed):
        print(f"reusing {students:,} students (seed {seed}) in {BENCH_DB}")
    else:
        print(f"loading {students:,} students (seed {seed}) into {BENCH_DB} ...", flush=True)
        summary = await load_demo(engine, students, seed)
        rate = summary.students / summary.seconds
        print(f"loaded in {summary.seconds:.0f}s ({rate:,.0f} students/s with family and schools)")
    await upgrade(engine)
    async with engine.begin() as connection:
        if not (await connection.execute(text("SELECT count(*) FROM hub_user"))).scalar():
            await create_demo_users(connection)  # a data set loaded before users existed
    await engine.dispose()


Scenario = Callable[[int, str, AsgiClient], Awaitable[None]]


def through(call: Scenario, user: str, via: AsgiClient) -> Callable[[int], Awaitable[None]]:
    return lambda i: call(i, user, via)


async def measure(
    iterations: int, warmup: int, call: Callable[[int], Awaitable[object]]
) -> tuple[list[float], float]:
    """Wall-clock seconds per call, and process CPU seconds per call."""
    for i in range(warmup):
        await call(i)
    # The garbage of the runs before (the resolvers' especially: thousands of objects per
    # request) is collected now, not during this run's requests.
    gc.collect()
    samples = []
    cpu = time.process_time()
    for i in range(iterations):
        started = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - started)
    return samples, (time.process_time() - cpu) / iterations


async def run(students: int, seed: int, iterations: int) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{BENCH_DB}"
    await ensure_data(url, students, seed)
    raw = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}")
    labels = registry_from_packaged()
    engine = make_engine(url)
    async with engine.connect() as connection:
        _county_id, county_code, county_path = (await demo_units(connection))["county"]
    await engine.dispose()
    county_range = (county_path, county_path[:-1] + "0")
    # Every scenario reads rows of the demo county, which both users may see.
    numbers = [
        r["student_number"]
        for r in await raw.fetch(
            "SELECT student_number FROM student WHERE path >= $1 AND path < $2"
            " ORDER BY random() LIMIT 2000",
            *county_range,
        )
    ]
    # Pages start after random students of the county; lists are ordered by (path, id).
    starts = [
        (r["id"], r["path"])
        for r in await raw.fetch(
            "SELECT id, path FROM student WHERE path >= $1 AND path < $2"
            " ORDER BY random() LIMIT $3",
            *county_range,
            iterations + 20,
        )
    ]
    county = county_code
    del seed  # the data set is chosen by seed; the sampling above is the database's
    app = create_app(Settings(database_url=url))
    client = AsgiClient(app)
    reference = create_app(Settings(database_url=url, planner="off"))
    resolvers = AsgiClient(reference)

    tokens = {
        user: mint_token(Settings(), user, 24 * 3600) for user in (*USERS, *COUNTY_USER.values())
    }

    async def hub(
        document: str, variables: dict[str, Any], user: str, via: AsgiClient = client
    ) -> None:
        response = await via.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {tokens[user]}"},
        )
        body = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        served = body.get("extensions", {}).get("readPath", {}).get("servedBy")
        if via is client and served != "planner":
            raise RuntimeError(f"not planned: {body.get('extensions')}")

    def cursor(start: tuple[int, str]) -> str:
        from hub.pagination import encode_tree_cursor

        return encode_tree_cursor(*start, "student")

    def code(code_set: str, value: str) -> dict[str, str]:
        return {"code": value, "label": labels.label(code_set, value)}

    async def raw_student(i: int) -> list[int]:
        row = await raw.fetchrow(
            "SELECT s.id, s.student_number, s.name, s.sex_code, s.birth_date, s.grade_code,"
            " c.name AS class_name, sc.code AS school_code, sc.name AS school_name"
            " FROM student s JOIN school sc ON sc.id = s.school_id"
            " LEFT JOIN class c ON c.id = s.class_id WHERE s.student_number = $1",
            numbers[i % len(numbers)],
        )
        assert row is not None
        orjson.dumps(
            {
                "data": {
                    "student": {
                        "studentNumber": row["student_number"],
                        "name": row["name"],
                        "sex": code("sex", row["sex_code"]),
                        "birthDate": row["birth_date"],
                        "grade": code("grade", row["grade_code"]),
                        "className": row["class_name"],
                        "school": {"code": row["school_code"], "name": row["school_name"]},
                    }
                }
            }
        )
        return [row["id"]]

    async def raw_page(i: int) -> list[int]:
        rows = await raw.fetch(
            "SELECT id, student_number, name, sex_code, birth_date, grade_code, school_id"
            " FROM student WHERE path >= $3 AND path < $4 AND (path, id) > ($2, $1)"
            " ORDER BY path, id LIMIT 100",
            *starts[i],
            *county_range,
        )
        ids = [r["id"] for r in rows]
        family = await raw.fetch(
            "SELECT id, student_id, name, relationship_code, phone FROM guardian"
            " WHERE student_id = ANY($1::bigint[]) ORDER BY student_id, position",
            ids,
        )
        schools = {
            r["id"]: r
            for r in await raw.fetch(
                "SELECT id, code, name FROM school WHERE id = ANY($1::int[])",
                list({r["school_id"] for r in rows}),
            )
        }
        by_student: dict[int, list[dict[str, Any]]] = {}
        for f in family:
            by_student.setdefault(f["student_id"], []).append(
                {
                    "name": f["name"],
                    "relationship": code("relationship", f["relationship_code"]),
                    "phone": f["phone"],
                }
            )
        edges = [
            {
                "node": {
                    "studentNumber": r["student_number"],
                    "name": r["name"],
                    "sex": code("sex", r["sex_code"]),
                    "birthDate": r["birth_date"],
                    "grade": code("grade", r["grade_code"]),
                    "school": {
                        "code": schools[r["school_id"]]["code"],
                        "name": schools[r["school_id"]]["name"],
                    },
                    "guardians": by_student.get(r["id"], []),
                }
            }
            for r in rows
        ]
        orjson.dumps({"data": {"students": {"edges": edges}}})
        return ids + [f["id"] for f in family]

    def label_sql(code_set: str, column: str) -> str:
        quoted = {c: t.replace("'", "''") for c, t in labels.members(code_set).items()}
        whens = " ".join(f"WHEN '{c}' THEN '{t}'" for c, t in quoted.items())
        return f"json_build_object('code', {column}, 'label', CASE {column} {whens} END)"

    # The same page with its JSON built by PostgreSQL, written by hand: the design of the
    # compiled read path without access control, masking or audit marks.
    page_in_sql = (
        "SELECT json_build_object('data', json_build_object('students', json_build_object("
        "'edges', (SELECT coalesce(json_agg(json_build_object('node', json_build_object("
        "'studentNumber', s.student_number, 'name', s.name,"
        f" 'sex', {label_sql('sex', 's.sex_code')},"
        " 'birthDate', s.birth_date,"
        f" 'grade', {label_sql('grade', 's.grade_code')},"
        " 'school', (SELECT json_build_object('code', sc.code, 'name', sc.name)"
        " FROM school sc WHERE sc.id = s.school_id),"
        " 'guardians', (SELECT coalesce(json_agg(json_build_object('name', g.name,"
        f" 'relationship', {label_sql('relationship', 'g.relationship_code')},"
        " 'phone', g.phone)), '[]') FROM (SELECT name, relationship_code, phone FROM guardian"
        " WHERE student_id = s.id ORDER BY position, id) g)))), '[]')"
        " FROM (SELECT id, student_number, name, sex_code, birth_date, grade_code, school_id"
        " FROM student WHERE path >= $3 AND path < $4 AND (path, id) > ($2, $1)"
        " ORDER BY path, id LIMIT 100) s))))::text"
    )

    async def raw_page_in_sql(i: int) -> None:
        body = await raw.fetchval(page_in_sql, *starts[i], *county_range)
        assert body.startswith('{"data"')

    async def raw_county(_i: int) -> None:
        path = await raw.fetchval("SELECT path FROM org_unit WHERE code = $1", county)
        rows = await raw.fetch(
            "SELECT sc.code, sc.name, (SELECT count(*) FROM student s WHERE s.school_id = sc.id)"
            " AS n FROM school sc WHERE sc.path >= $1 AND sc.path < $2 ORDER BY sc.id LIMIT 200",
            path,
            path[:-1] + "0",
        )
        edges = [
            {"node": {"code": r["code"], "name": r["name"], "students": {"totalCount": r["n"]}}}
            for r in rows
        ]
        orjson.dumps({"data": {"orgUnit": {"schools": {"edges": edges}}}})

    async def raw_buildings(_i: int) -> None:
        path = await raw.fetchval("SELECT path FROM org_unit WHERE code = $1", county)
        schools = await raw.fetch(
            "SELECT id, code, name FROM school WHERE path >= $1 AND path < $2"
            " ORDER BY id LIMIT 100",
            path,
            path[:-1] + "0",
        )
        buildings = await raw.fetch(
            "SELECT * FROM (SELECT id, school_id, code, name, danger_rating_code, floor_area,"
            " row_number() OVER (PARTITION BY school_id ORDER BY id) AS n FROM building"
            " WHERE school_id = ANY($1::int[])) b WHERE n <= 20 ORDER BY school_id, id",
            [r["id"] for r in schools],
        )
        assets = await raw.fetch(
            "SELECT * FROM (SELECT id, building_id, code, name, category_code, total_value,"
            " row_number() OVER (PARTITION BY building_id ORDER BY id) AS n FROM asset"
            " WHERE building_id = ANY($1::int[])) a WHERE n <= 10 ORDER BY building_id, id",
            [r["id"] for r in buildings],
        )
        by_building: dict[int, list[dict[str, Any]]] = {}
        for a in assets:
            by_building.setdefault(a["building_id"], []).append(
                {
                    "node": {
                        "code": a["code"],
                        "name": a["name"],
                        "category": code("asset_category", a["category_code"]),
                        "totalValue": str(a["total_value"]),
                    }
                }
            )
        by_school: dict[int, list[dict[str, Any]]] = {}
        for b in buildings:
            rating = b["danger_rating_code"]
            by_school.setdefault(b["school_id"], []).append(
                {
                    "node": {
                        "code": b["code"],
                        "name": b["name"],
                        "dangerRating": rating and code("danger_rating", rating),
                        "floorArea": None if b["floor_area"] is None else float(b["floor_area"]),
                        "assets": {"edges": by_building.get(b["id"], [])},
                    }
                }
            )
        edges = [
            {
                "node": {
                    "code": r["code"],
                    "name": r["name"],
                    "buildings": {"edges": by_school.get(r["id"], [])},
                }
            }
            for r in schools
        ]
        orjson.dumps({"data": {"orgUnit": {"schools": {"edges": edges}}}})

    # What an audited answer waits for at least: the raw statements, then an audit row
    # naming the subjects read, committed (one durable one-row INSERT, same connection).
    await raw.execute(
        "CREATE TABLE IF NOT EXISTS bench_audit_floor (id bigserial PRIMARY KEY,"
        " at timestamptz NOT NULL DEFAULT now(), username text, subjects jsonb)"
    )

    def with_audit_row(call: Callable[[int], Awaitable[Any]]) -> Callable[[int], Awaitable[None]]:
        async def audited(i: int) -> None:
            subjects = await call(i)
            await raw.execute(
                "INSERT INTO bench_audit_floor (username, subjects) VALUES ($1, $2)",
                "bench",
                orjson.dumps(subjects).decode(),
            )

        return audited

    scenarios: list[tuple[str, Scenario, Callable[[int], Awaitable[Any]]]] = [
        (
            "student by number",
            lambda i, u, via: hub(STUDENT_BY_NUMBER, {"n": numbers[i % len(numbers)]}, u, via),
            raw_student,
        ),
        (
            "100 students + guardians + school",
            lambda i, u, via: hub(STUDENT_PAGE, {"after": cursor(starts[i])}, u, via),
            raw_page,
        ),
        (
            "county schools + student counts",
            lambda i, u, via: hub(COUNTY_SCHOOLS, {"c": county}, u, via),
            raw_county,
        ),
        (
            "county schools > buildings > assets",
            lambda i, u, via: hub(COUNTY_BUILDINGS, {"c": county}, u, via),
            raw_buildings,
        ),
    ]
    audited = {"student by number", "100 students + guardians + school"}
    results: list[tuple[Figures, Figures]] = []
    floors: dict[str, list[float]] = {}
    in_sql: list[float] = []
    for name, hub_call, raw_call in scenarios:
        raw_samples, _ = await measure(iterations, 10, raw_call)
        if name in audited:
            floors[name], _ = await measure(iterations, 10, with_audit_row(raw_call))
        if name == "100 students + guardians + school":
            in_sql, _ = await measure(iterations, 10, raw_page_in_sql)
        per_user = []
        for user in (USERS[0], COUNTY_USER.get(name, USERS[1])):
            samples, cpu = await measure(iterations, 10, through(hub_call, user, client))
            resolved, _ = await measure(iterations, 10, through(hub_call, user, resolvers))
            figures = Figures(f"{name} [{SHORT[user]}]", samples, resolved, raw_samples, cpu)
            per_user.append(figures)
        results.append((per_user[0], per_user[1]))
    await client.aclose()
    await resolvers.aclose()
    await app.state.hub.close()
    await reference.state.hub.close()
    await raw.execute("DROP TABLE bench_audit_floor")
    await raw.close()
    print(
        f"\n{students:,} students, {iterations} iterations each; milliseconds per request"
        f" (hub: GraphQL over ASGI HTTP as a national administrator and as the registrar of"
        f" county {county}, its statistician for buildings; raw: asyncpg + orjson, same rows)\n"
    )
    print(
        "planner: the compiled read path; resolvers: the same app with HUB_PLANNER=off;"
        " hub/raw at p50 and p95; res/plan: resolvers p50 over planner p50; cpu: process CPU"
        " ms per planned request (client and server share the process)\n"
    )
    header = ("plan50", "plan95", "res50", "res95", "raw50", "raw95", "p50", "p95", "res/pl")
    print(f"{'scenario':<46} " + " ".join(f"{h:>7}" for h in header) + "     cpu")
    for national, scoped in results:
        print(national.line())
        print(scoped.line())
    print("\naccess cost, county registrar / national administrator (p50):")
    for national, scoped in results:
        ratio = pct(scoped.hub, 0.5) / pct(national.hub, 0.5)
        print(f"  {national.name.split(' [')[0]:<40} {ratio:.2f}x")
    print(
        "\nthe floor of an audited answer (raw, then its audit row: one durable one-row INSERT"
        " on the same connection; the hub's audited reads wait for their row's commit):"
    )
    for national, scoped in results:
        name = national.name.split(" [")[0]
        if name in floors:
            f50, f95 = pct(floors[name], 0.5), pct(floors[name], 0.95)
            print(
                f"  {name:<40} floor p50 {f50:.2f} p95 {f95:.2f}; floor/raw p50"
                f" {f50 / pct(national.raw, 0.5):.1f}x; planner/floor p50"
                f" {pct(national.hub, 0.5) / f50:.1f}x / {pct(scoped.hub, 0.5) / f50:.1f}x"
            )
    page = next(pair for pair in results if pair[0].name.startswith("100 students"))
    j50, j95 = pct(in_sql, 0.5), pct(in_sql, 0.95)
    print(
        "\nthe 100-student page with its JSON built by PostgreSQL, written by hand (labels by"
        " CASE; no scope, masking, marks or audit):\n"
        f"  p50 {j50:.2f} p95 {j95:.2f}; it/raw p50 {j50 / pct(page[0].raw, 0.5):.1f}x;"
        f" planner/it p50 {pct(page[0].hub, 0.5) / j50:.1f}x / {pct(page[1].hub, 0.5) / j50:.1f}x"
    )
    ratios = [pct(f.hub, 0.5) / pct(f.raw, 0.5) for pair in results for f in pair]
    print(f"\nmedian of hub/raw p50 ratios: {statistics.median(ratios):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.students, args.seed, args.iterations))


if __name__ == "__main__":
    main()
