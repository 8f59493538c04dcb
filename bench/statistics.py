"""Statistics: ``statistics(under:)`` through the app (ASGI, in process) on the bench province,
beside hand-written aggregate SQL through asyncpg for the same figures, measured in the same run.

    python -m bench.statistics                     # needs make bench's eduhub_bench (1,000,000)
    python -m bench.statistics --iterations 20

Scenarios (issue 10's targets):
- every county of the province in turn: students by school and grade (two dimensions)
  (target p50 < 200 ms);
- the province's monitoring indicators per city and for the province (target < 1 s);
- the county table as of a past day (``asOf``: students rolled back through the status
  changes, grouped by that day's tree) beside the same table today (target: within 2x);
  and the province's students by county as of that day beside today, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from typing import Any

import asyncpg

from bench.asgi import AsgiClient
from bench.run import BENCH_DB, pct
from hub.access.identity import mint_token
from hub.app import create_app
from hub.settings import Settings

COUNTY_TABLE = """
query ($u: String!) { statistics(under: $u) {
  students(by: [UNIT, GRADE]) { count rows { keys { code label } count } } } }
"""

COUNTY_TABLE_AS_OF = """
query ($u: String!, $d: Date) { statistics(under: $u, asOf: $d) {
  students(by: [UNIT, GRADE]) { count rows { keys { code label } count } } } }
"""

PROVINCE_BY_COUNTY = """
query ($u: String!, $d: Date) { statistics(under: $u, asOf: $d) {
  students(by: [UNIT], level: COUNTY) { count rows { keys { code label } count } } } }
"""

AS_OF = "2026-04-14"  # 200 days before the demo's snapshot: most status changes lie after it

PROVINCE_MONITORING = """
query ($u: String!) { statistics(under: $u) {
  monitoring { unit { code label } students teachers studentsPerTeacher schools
    schoolsOutsideSizeNorm classSizes { upTo35 normal large oversized extreme oversizedShare }
    floorArea floorAreaPerStudent dangerousFloorArea studentsInDangerousBuildings
    migrantChildren leftBehindChildren needsAid dropoutWatch }
  overall { students teachers classSizes { total oversized extreme } dangerousFloorArea
    studentsInDangerousBuildings } } }
"""

RAW_COUNTY = """
SELECT split_part(s.path, '/', 6) AS school, s.grade_code, count(*)
FROM student s WHERE s.path >= $1 AND s.path < $2 AND s.status_code = '01'
GROUP BY 1, 2 ORDER BY 1, 2
"""

# The province's monitoring by hand: the same figures per city, one statement each.
RAW_PROVINCE = [
    """SELECT split_part(path, '/', 4), count(*) FILTER (WHERE status_code = '01'),
         count(*) FILTER (WHERE status_code = '01' AND migrant_child),
         count(*) FILTER (WHERE status_code = '01' AND left_behind_code IN ('1', '2')),
         count(*) FILTER (WHERE status_code = '01' AND needs_aid),
         count(*) FILTER (WHERE status_code IN ('02', '04', '05'))
       FROM student WHERE path >= $1 AND path < $2 GROUP BY 1""",
    """SELECT split_part(c.path, '/', 4), CASE WHEN coalesce(n, 0) <= 35 THEN 0
         WHEN n <= 45 THEN 1 WHEN n <= 55 THEN 2 WHEN n <= 65 THEN 3 ELSE 4 END, count(*)
       FROM class c LEFT JOIN (SELECT class_id, count(*) n FROM student
         WHERE path >= $1 AND path < $2 AND status_code = '01' GROUP BY class_id) z
         ON z.class_id = c.id
       WHERE c.path >= $1 AND c.path < $2 GROUP BY 1, 2""",
    """SELECT split_part(path, '/', 4), count(*) FROM teacher
       WHERE path >= $1 AND path < $2 AND status_code = '01' AND is_teacher GROUP BY 1""",
    """SELECT split_part(path, '/', 4), sum(floor_area),
         sum(floor_area) FILTER (WHERE danger_rating_code IN ('C', 'D'))
       FROM building WHERE path >= $1 AND path < $2 GROUP BY 1""",
    """SELECT split_part(s.path, '/', 4), count(*) FROM student s
       JOIN class c ON c.id = s.class_id JOIN building b ON b.id = c.building_id
       WHERE s.path >= $1 AND s.path < $2 AND s.status_code = '01'
         AND b.danger_rating_code IN ('C', 'D') GROUP BY 1""",
]


async def run(iterations: int) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{BENCH_DB}"
    raw = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}")
    students = await raw.fetchval("SELECT count(*) FROM student")
    province = await raw.fetchrow("SELECT code, path FROM org_unit WHERE level = 'PROVINCE'")
    counties = await raw.fetch(
        "SELECT code, path FROM org_unit WHERE level = 'COUNTY' ORDER BY code"
    )
    app = create_app(Settings(database_url=url))
    client = AsgiClient(app)
    # The national administrator reads every resource everywhere: one user for every county.
    token = mint_token(Settings(), "national.admin", 24 * 3600)

    async def ask(document: str, variables: dict[str, Any]) -> None:
        response = await client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
        body = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])

    async def timed(call: Any, n: int) -> list[float]:
        await call(0)  # warm
        samples = []
        for i in range(n):
            started = time.perf_counter()
            await call(i)
            samples.append(time.perf_counter() - started)
        return samples

    def county_of(i: int) -> Any:
        return counties[i % len(counties)]

    async def hub_county(i: int) -> None:
        await ask(COUNTY_TABLE, {"u": county_of(i)["code"]})

    async def raw_county(i: int) -> None:
        path = county_of(i)["path"]
        await raw.fetch(RAW_COUNTY, path, path[:-1] + "0")

    async def hub_province(_i: int) -> None:
        await ask(PROVINCE_MONITORING, {"u": province["code"]})

    async def raw_province(_i: int) -> None:
        path = province["path"]
        for statement in RAW_PROVINCE:
            await raw.fetch(statement, path, path[:-1] + "0")

    async def hub_county_as_of(i: int) -> None:
        await ask(COUNTY_TABLE_AS_OF, {"u": county_of(i)["code"], "d": AS_OF})

    async def hub_province_today(_i: int) -> None:
        await ask(PROVINCE_BY_COUNTY, {"u": province["code"], "d": None})

    async def hub_province_as_of(_i: int) -> None:
        await ask(PROVINCE_BY_COUNTY, {"u": province["code"], "d": AS_OF})

    rounds = max(3, iterations // 5)
    figures = {
        "county: students by school and grade": (
            await timed(hub_county, iterations),
            await timed(raw_county, iterations),
            200.0,
        ),
        "province: monitoring per city + overall": (
            await timed(hub_province, rounds),
            await timed(raw_province, rounds),
            1000.0,
        ),
    }
    history = {
        f"county: by school and grade asOf {AS_OF}": (
            await timed(hub_county_as_of, iterations),
            figures["county: students by school and grade"][0],
        ),
        f"province: by county asOf {AS_OF}": (
            await timed(hub_province_as_of, rounds),
            await timed(hub_province_today, rounds),
        ),
    }
    changes = await raw.fetchval(
        "SELECT count(*) FROM status_change WHERE occurred_on > $1", dt.date.fromisoformat(AS_OF)
    )
    await raw.close()
    print(f"\n{students:,} students, {len(counties)} counties; p50 / p95 in ms")
    print(f"{'scenario':<42} {'hub p50':>8} {'p95':>8} {'raw p50':>8} {'p95':>8} {'target':>8}")
    for name, (hub, base, target) in figures.items():
        print(
            f"{name:<42} {pct(hub, 0.5):>8.1f} {pct(hub, 0.95):>8.1f}"
            f" {pct(base, 0.5):>8.1f} {pct(base, 0.95):>8.1f} {'<' + str(int(target)):>8}"
        )
    print(f"\nas of a past day ({changes:,} status changes after it), beside the same today")
    print(f"{'scenario':<42} {'asOf p50':>8} {'p95':>8} {'today':>8} {'p95':>8} {'ratio':>8}")
    for name, (then, today) in history.items():
        print(
            f"{name:<42} {pct(then, 0.5):>8.1f} {pct(then, 0.95):>8.1f}"
            f" {pct(today, 0.5):>8.1f} {pct(today, 0.95):>8.1f}"
            f" {pct(then, 0.5) / pct(today, 0.5):>7.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.iterations))


if __name__ == "__main__":
    main()
