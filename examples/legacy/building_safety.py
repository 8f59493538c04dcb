"""The example school-building safety service (校舍安全管理系统): a small HTTP app.

It serves buildings of a list of schools in its own vocabulary (pinyin-initial field names,
structure types as names, appraisal dates as text), page by page and by key:

    GET /api/buildings?after=KEY&limit=N[&scope=SCHOOL,SCHOOL]   -> {"items": [...]}
    GET /api/buildings?keys=KEY,KEY                              -> {"items": [...]}
    GET /health

For resilience tests it can misbehave on purpose: ``POST /_faults {"mode": M}`` with M one of
``ok``, ``slow`` (answers after 5 s), ``503``, ``malformed`` (not JSON).

    python -m examples.legacy.building_safety --schools 4145000001,4145000002 --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import random
from typing import Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

STRUCTURES = ("砖混结构", "钢筋混凝土结构", "砖木结构", "钢结构")
USES = ("教学用房", "实验室", "学生宿舍", "食堂", "行政办公用房")


def buildings_for(schools: list[str], seed: int = 8) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    items = []
    for school in sorted(schools):
        for n in range(1, rng.randint(3, 6) + 1):
            built = rng.randint(1978, 2022)
            rating = rng.choices("ABCD", (70, 18, 8, 4))[0] if built < 2010 else "A"
            items.append(
                {
                    "jzwbh": f"{school}{n:03d}",  # 建筑物编号
                    "jzwmc": f"{n}号楼",
                    "xxdm": school,
                    "jglx": rng.choice(STRUCTURES),  # 结构类型 (name)
                    "yt": rng.choice(USES),  # 用途 (name)
                    "cs": rng.randint(1, 6),  # 层数
                    "jcny": f"{built}-{rng.randint(1, 12):02d}",  # 建成年月
                    "jzmj": f"{rng.uniform(300, 6000):.2f}",  # 建筑面积
                    "jd": {  # 鉴定 (nested, as the service returns it)
                        "dj": rating,  # 危房等级
                        "rq": f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-15",
                    },
                }
            )
    return items


def create_app(schools: list[str]) -> FastAPI:
    app = FastAPI(title="校舍安全管理系统 (example)")
    items = buildings_for(schools)
    app.state.mode = "ok"
    app.state.hits = 0  # requests to the data endpoints, for tests of retries and breakers

    @app.post("/_faults")
    async def faults(request: Request) -> dict[str, str]:
        app.state.mode = (await request.json())["mode"]
        return {"mode": app.state.mode}

    @app.get("/_stats")
    async def stats() -> dict[str, int]:
        return {"hits": app.state.hits}

    async def misbehave() -> Response | None:
        app.state.hits += 1
        mode = app.state.mode
        if mode == "slow":
            await asyncio.sleep(5)
        if mode == "503":
            return JSONResponse({"error": "maintenance"}, status_code=503)
        if mode == "malformed":
            return PlainTextResponse('{"items": [ {"jzwbh": ', media_type="application/json")
        return None

    @app.get("/health")
    async def health() -> Response:
        return await misbehave() or JSONResponse({"status": "ok"})

    @app.get("/api/buildings")
    async def buildings(
        after: str | None = None,
        limit: int = Query(default=100, le=1000),
        scope: str | None = None,
        keys: str | None = None,
    ) -> Response:
        failure = await misbehave()
        if failure is not None:
            return failure
        if keys is not None:
            wanted = set(keys.split(","))
            return JSONResponse({"items": [i for i in items if i["jzwbh"] in wanted]})
        selected = items
        if scope is not None:
            schools_in_scope = set(scope.split(","))
            selected = [i for i in selected if i["xxdm"] in schools_in_scope]
        if after is not None:
            selected = [i for i in selected if i["jzwbh"] > after]
        return JSONResponse({"items": selected[:limit]})

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--schools", required=True, help="Comma-separated school codes.")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    uvicorn.run(create_app(args.schools.split(",")), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
