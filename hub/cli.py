"""The ``eduhub`` command: run the hub, build demo data, migrate, export the schema."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.db.engine import make_engine
from hub.settings import DEFAULT_DATABASE_URL, Settings
from hub.sources.protocol import Source, make_source

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from hub.codes.registry import CodeRegistry
    from hub.demo.problems import Injected
    from hub.quality.register import Register

app = typer.Typer(
    help="eduhub: unified education data hub (教育数据统一枢纽).", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
sources_app = typer.Typer(help="Sources: docked systems and their mappings.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log (审计日志).", no_args_is_help=True)
quality_app = typer.Typer(help="Data quality: problem records (问题学籍).", no_args_is_help=True)
exports_app = typer.Typer(help="Governed exports (数据导出).", no_args_is_help=True)
stats_app = typer.Typer(help="Statistics (统计).", no_args_is_help=True)
orgunits_app = typer.Typer(
    help="The org-unit tree and its history (组织机构与区划变更).", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
app.add_typer(exports_app, name="exports")
app.add_typer(orgunits_app, name="orgunits")
app.add_typer(stats_app, name="stats")
app.add_typer(db_app, name="db")
app.add_typer(quality_app, name="quality")
app.add_typer(schema_app, name="schema")
app.add_typer(sources_app, name="sources")
console = Console(stderr=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database", help=f"Database URL (default: $HUB_DATABASE_URL or {DEFAULT_DATABASE_URL})."
    ),
]

EXAMPLE_QUERY = """{
  schools(filter: {under: "4401"}, first: 3) {
    totalCount
    edges { node { code name type { label }
      students(first: 2) { totalCount edges { node { name grade { label } className } } } } }
  }
}"""


def _progress(title: str) -> Progress:
    """A progress bar for long work: counted items, the total when known, time elapsed."""
    return Progress(
        TextColumn(title), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def _url(database: str | None) -> str:
    return database or Settings().database_url


def _owner_url(database: str | None) -> str:
    """Where schema changes and bulk loads go: --database, else the migration URL."""
    return database or Settings().owner_url


async def _upgrade_and_grant(owner_url: str, runtime_url: str) -> None:
    from hub.db.migrate import upgrade
    from hub.db.roles import grant_runtime

    engine = make_engine(owner_url)
    try:
        await upgrade(engine)
        role = await grant_runtime(engine, runtime_url)
        if role:
            console.print(f"runtime role {role!r}: data tables, audit log INSERT/SELECT only")
    finally:
        await engine.dispose()


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOption = None) -> None:
    """Bring the database to the newest schema (alembic upgrade head) as its owner, then grant
    the runtime role of HUB_DATABASE_URL what it needs (PostgreSQL)."""
    asyncio.run(_upgrade_and_grant(_owner_url(database), Settings().database_url))
    console.print("[green]database is up to date[/green]")


@app.command()
def demo(
    students: Annotated[int, typer.Option(min=1, help="Number of students to generate.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed builds the same data.")] = 1,
    database: DatabaseOption = None,
    federation: Annotated[
        bool,
        typer.Option(
            help="Also dock the example Guangxi (45) student system: build its database, write"
            " sources.toml routing its students live, sync its schools."
        ),
    ] = False,
    check_port: Annotated[
        int | None,
        typer.Option(help="Refuse to start (before loading) if this port is taken."),
    ] = None,
) -> None:
    """Replace the database's data with a realistic demo province (演示数据)."""
    from hub.demo.load import load_demo

    if check_port is not None:
        _require_free_port("127.0.0.1", check_port)
    url = _owner_url(database)
    register = Path("register.db").resolve()
    report = Path(DEMO_REPORT).resolve()

    async def run() -> None:
        engine = make_engine(url)
        try:
            with _progress("[bold]students[/bold]") as progress:
                task = progress.add_task("load", total=students)
                summary = await load_demo(
                    engine,
                    students,
                    seed,
                    on_students=lambda n: progress.advance(task, n),
                    problems=True,
                )
            counts = ", ".join(f"{table} {n:,}" for table, n in summary.rows.items())
            console.print(
                f"[green]demo loaded[/green] in {summary.seconds:.1f}s into {url}: {counts}"
            )
            assert summary.injected is not None
            await _demo_register(engine, summary.injected, register)
            await _demo_report(engine, report)
        finally:
            await engine.dispose()

    asyncio.run(run())
    if federation:
        legacy, sources = _example_files()
        asyncio.run(_dock_example(url, legacy, sources))


DEMO_REPORT = "statistics-report.xlsx"


async def _demo_report(engine: AsyncEngine, path: Path) -> None:
    """The example annual statistics report, with the differences a reconciliation finds."""
    from hub.codes.registry import load_registry
    from hub.demo.report import write_example_report

    async with engine.connect() as connection:
        codes = await load_registry(connection)
    schools = await write_example_report(engine, codes, path)
    console.print(
        f"[green]example statistics report[/green] {path} ({schools:,} schools, 统计时点 as"
        f" written in it); reconcile it with: eduhub stats reconcile {path.name}"
    )


DEMO_MARK = "# Written by eduhub demo: rewritten by the next demo load.\n"


def _demo_sources_file(extra: str) -> Path:
    """sources.toml (``extra`` appended to the demo's entries) unless the working folder holds
    one that the demo did not write: then demo-sources.toml beside it, and a word on it."""
    target = Settings().sources_file
    if target.exists() and not target.read_text(encoding="utf-8").startswith(DEMO_MARK):
        kept = target
        target = target.with_name("demo-sources.toml")
        console.print(
            f"[yellow]{kept} is not the demo's: the demo register is declared in {target};"
            " copy its [register] and [sources.population] into yours to use it.[/yellow]"
        )
    target.write_text(DEMO_MARK + extra, encoding="utf-8")
    return target.resolve()


async def _demo_register(engine: AsyncEngine, injected: Injected, path: Path) -> None:
    """The demo's population register (register.db, from the demo's persons but for the
    injected discrepancies), declared in the sources file, and the first quality check with
    it: the problem records a newcomer finds in the queue."""
    from examples.legacy.population_register import build_from_hub, sources_entry
    from hub.codes.registry import load_registry
    from hub.quality.checks import check
    from hub.quality.register import open_register

    held = await build_from_hub(engine, path, injected.missing, injected.renamed, injected.copies)
    sources = _demo_sources_file(sources_entry(path))
    async with engine.begin() as connection:
        register = open_register(sources, await load_registry(connection))
        try:
            summary = await check(connection, register=register)
        finally:
            if register is not None:
                await register.close()
    found = ", ".join(f"kind {k}: {n:,}" for k, n in sorted(summary.found.items()))
    console.print(
        f"[green]population register[/green] {path} ({held:,} persons, declared in {sources});"
        f" quality check: {summary.opened:,} problem records opened ({found or 'none'})"
    )


def _example_files() -> tuple[Path, Path]:
    """The example docked system's database and a sources file routing its students live."""
    from examples.legacy.population_register import sources_entry
    from examples.legacy.provincial_students import build

    legacy = Path("gx_students.db").resolve()
    build(legacy, 3000, 45)
    example = Path(__file__).resolve().parents[1] / "examples" / "legacy" / "sources.toml"
    text = example.read_text(encoding="utf-8").replace("gx_students.db", str(legacy))
    register = Path("register.db").resolve()
    if register.exists():
        from examples.legacy.population_register import add_docked

        add_docked(register, legacy)
    sources = _demo_sources_file(
        text
        + '\n[routes]\nstudent = [ { under = "45", source = "gx_students" } ]\n'
        + (sources_entry(register) if register.exists() else "")
    )
    return legacy, sources


async def _dock_example(url: str, legacy: Path, sources: Path) -> None:
    """Wire the example docked system in: its schools synced as reference data."""
    from hub.codes.registry import registry_from_packaged
    from hub.sources.mapping import load_sources
    from hub.sources.sync import sync as run_sync

    adapter = make_source(load_sources(sources)["gx_students"])
    engine = make_engine(url)
    try:
        summary = await run_sync(engine, adapter, "school", registry_from_packaged())
    finally:
        await adapter.close()
        await engine.dispose()
    console.print(
        f"[green]docked[/green] the example Guangxi system ({legacy}): {summary.written} schools"
        f" synced; its 3,000 students are read live (route in {sources}). Try, as"
        ' national.admin: { students(filter: {under: "45"}, first: 3) { totalCount edges'
        " { node { id name school { name } } } } }"
    )


def _require_free_port(host: str, port: int) -> None:
    """Say how to choose another port before anything is loaded or migrated."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            console.print(
                f"[red]port {port} on {host} is taken ({error.strerror})[/red]. Choose another:"
                f" eduhub serve --port {port + 1}  (or: make demo PORT={port + 1})"
            )
            raise typer.Exit(2) from None


PortOption = Annotated[int, typer.Option(help="Port.")]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: PortOption = 8000,
    database: DatabaseOption = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes: one per core for throughput.")
    ] = 1,
) -> None:
    """Run the hub (uvicorn): GraphQL at /graphql, health at /healthz."""
    import os

    import uvicorn

    _require_free_port(host, port)

    from hub.app import create_app

    settings = Settings(database_url=_url(database))
    asyncio.run(_upgrade_and_grant(settings.owner_url, settings.database_url))
    console.print(
        f"eduhub on http://{host}:{port}/graphql (GraphiQL in development), database"
        f" {settings.database_url}\nTry:\n{EXAMPLE_QUERY}"
    )
    if not settings.is_production:
        from hub.access.identity import mint_token

        token = mint_token(settings, "national.admin", 8 * 3600)
        # Plain output: a wrapped token cannot be pasted.
        typer.echo(
            "As national.admin (development token, 8 h), put in GraphiQL's Headers pane:\n"
            f'{{"Authorization": "Bearer {token}"}}\n'
            "Other demo users: eduhub token county.viewer (see the README).",
            err=True,
        )
    # The hub logs each request itself (one JSON line: user, operation, read path, time), so
    # uvicorn's access log would only repeat it.
    if workers == 1:
        from hub.http_protocol import CoalescingHttpToolsProtocol

        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            http=CoalescingHttpToolsProtocol,
        )
        return
    from hub import workers as worker_processes

    os.environ["HUB_DATABASE_URL"] = settings.database_url  # each worker builds its own app
    # One accept queue per worker (SO_REUSEPORT): uvicorn's shared socket hands every
    # keep-alive connection to whichever worker wakes first (hub/workers.py).
    worker_processes.serve(host, port, workers, first_lane=settings.audit_lane)


SourcesOption = Annotated[
    Path | None,
    typer.Option("--sources", help="Sources file (default: $HUB_SOURCES_FILE or sources.toml)."),
]


def _source(name: str, sources: Path | None) -> Source:
    from hub.sources.mapping import MappingError, load_sources

    path = sources or Settings().sources_file
    try:
        configs = load_sources(path)
    except MappingError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    if name not in configs:
        console.print(f"[red]no source {name!r} in {path} (known: {', '.join(configs)})[/red]")
        raise typer.Exit(2)
    return make_source(configs[name])


def _register(sources: Path | None, codes: CodeRegistry) -> Register | None:
    """The population register of the sources file (``--sources``, else the configured file
    when it exists), or None when none is named."""
    from hub.quality.register import open_register
    from hub.sources.mapping import MappingError

    path = sources or Settings().sources_file
    if sources is None and not path.exists():
        return None
    try:
        return open_register(path, codes)
    except MappingError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@app.command()
def sync(
    source: Annotated[str, typer.Argument(help="Source name in the sources file.")],
    entities: Annotated[
        list[str] | None, typer.Argument(help="Entities to sync (default: all, schools first).")
    ] = None,
    sources: SourcesOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 5000,
    database: DatabaseOption = None,
) -> None:
    """Copy a source's records into the hub store: idempotent, resumable, every rejected row
    kept with its reasons (同步)."""
    from hub.codes.registry import load_registry
    from hub.db.migrate import upgrade
    from hub.sources.sync import SyncFailed
    from hub.sources.sync import sync as run_sync

    adapter = _source(source, sources)
    register: Register | None = None
    order = ("school", "student", "building")  # schools first: the others hang on them
    wanted = entities or [e for e in order if e in adapter.config.entities]

    async def run() -> None:
        engine = make_engine(_url(database))
        try:
            await upgrade(engine)
            async with engine.connect() as connection:
                codes = await load_registry(connection)
            nonlocal register
            register = _register(sources, codes) if "student" in wanted else None
            for entity in wanted:
                with _progress(f"[bold]{source}.{entity}[/bold]") as progress:
                    task = progress.add_task(entity, total=None)
                    summary = await run_sync(
                        engine,
                        adapter,
                        entity,
                        codes,
                        batch_size=batch_size,
                        on_batch=lambda n, task=task: progress.advance(task, n),  # type: ignore[misc]
                        register=register if entity == "student" else None,
                    )
                resumed = " (resumed)" if summary.resumed else ""
                console.print(
                    f"{source}.{entity}{resumed}: read {summary.read:,}, written"
                    f" {summary.written:,}, rejected {summary.rejected:,} in"
                    f" {summary.seconds:.1f}s (run {summary.run_id}; reasons in sync_rejection)"
                )
                if entity == "student":
                    console.print(summary.register.describe())
        finally:
            await adapter.close()
            if register is not None:
                await register.close()
            await engine.dispose()

    try:
        asyncio.run(run())
    except SyncFailed as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None


@sources_app.command("check")
def sources_check(
    source: Annotated[str, typer.Argument(help="Source name in the sources file.")],
    sources: SourcesOption = None,
    database: DatabaseOption = None,
) -> None:
    """Report the mapping of a source: per hub field, mapped from which column, how often
    filled, untranslatable values with counts, disagreements with the synced copy."""
    from rich.table import Table as RichTable

    from hub.codes.registry import load_registry
    from hub.db.migrate import upgrade
    from hub.sources.report import entity_report

    adapter = _source(source, sources)
    if adapter.kind == "eduhub":
        console.print(f"{source} is another hub: run its own `eduhub sources check`")
        raise typer.Exit(0)

    async def run() -> None:
        engine = make_engine(_url(database))
        try:
            await upgrade(engine)
            async with engine.connect() as connection:
                codes = await load_registry(connection)
            healthy = await adapter.health()
            out = Console()
            state = "ok" if healthy else "DOWN"
            out.print(f"[bold]{adapter.config.label}[/bold] ({source}): health {state}")
            for entity in adapter.config.entities:
                report = await entity_report(adapter, entity, codes, engine)
                table = RichTable(
                    title=f"{source}.{entity}: {report.rows:,} rows, {report.coverage:.0%} of hub"
                    f" fields mapped, {report.synced_rows_compared:,} synced rows compared"
                )
                for header in (
                    "hub field",
                    "column",
                    "filled",
                    "untranslatable (count)",
                    "differs",
                ):
                    table.add_column(header)
                for f in report.fields:
                    untranslatable = ", ".join(
                        f"{value} ({count})" for value, count in sorted(f.untranslatable.items())
                    )
                    table.add_row(
                        f.hub_field,
                        (f.column or "(default)") if f.mapped else "[dim]not mapped[/dim]",
                        "" if f.filled is None else f"{f.filled:.1%}",
                        untranslatable,
                        str(f.disagreements) if f.disagreements else "",
                    )
                out.print(table)
                if report.unmapped_mandatory:
                    out.print(
                        "mandatory (★) fields not mapped: " + ", ".join(report.unmapped_mandatory)
                    )
                if report.completeness:
                    blanks = RichTable(
                        title=f"{source}.{entity}: blank mandatory values by school (漏填),"
                        f" {len(report.completeness):,} schools, most first"
                    )
                    for header in ("school", "rows", "complete", "blank (count)"):
                        blanks.add_column(header)
                    for school in report.completeness[:30]:
                        blanks.add_row(
                            school.school,
                            f"{school.rows:,}",
                            f"{school.complete:.1%}",
                            ", ".join(f"{n} ({c})" for n, c in school.blank.most_common() if c),
                        )
                    out.print(blanks)
        finally:
            await adapter.close()
            await engine.dispose()

    asyncio.run(run())


@app.command()
def token(
    user: Annotated[str, typer.Argument(help="User name, e.g. county.registrar.")],
    ttl: Annotated[int, typer.Option(min=60, help="Lifetime in seconds.")] = 8 * 3600,
    database: DatabaseOption = None,
) -> None:
    """Print a development bearer token for USER (HS256; production tokens come from the
    province's identity service). Unknown or inactive users get none."""
    from sqlalchemy import select

    from hub.access.identity import mint_token
    from hub.access.models import HubUser

    async def active() -> bool | None:
        engine = make_engine(_url(database))
        try:
            async with engine.connect() as connection:
                return (
                    await connection.execute(select(HubUser.active).where(HubUser.username == user))
                ).scalar()
        finally:
            await engine.dispose()

    state = asyncio.run(active())
    if not state:
        why = "is inactive" if state is False else "does not exist"
        console.print(
            f"[red]user {user!r} {why} in {_url(database)}[/red]: no token. Demo users:"
            " national.admin, county.viewer, … (README, 'Querying as each level')."
        )
        raise typer.Exit(2)
    print(mint_token(Settings(), user, ttl))


@exports_app.command("run")
def exports_run(database: DatabaseOption = None) -> None:
    """Write the files of approved export requests no job has taken (and take over those
    whose job died), with progress; for a hub whose server is not running."""
    from hub.app import HubState
    from hub.exports.jobs import claimable, run_export

    async def run() -> None:
        state = HubState(Settings(database_url=_url(database)))
        try:
            pending = await claimable(state.engine)
            if not pending:
                console.print("no approved export waits for its file")
            for pk in pending:
                with _progress(f"export {pk}") as bar:
                    task = bar.add_task("rows", total=None)

                    def advance(done: int, total: int | None, task: Any = task) -> None:
                        bar.update(task, completed=done, total=total)

                    status = await run_export(state, pk, advance)
                label = {"5": "[green]ready[/green]", "6": "[red]failed[/red]"}.get(
                    status or "", "taken by another job"
                )
                console.print(f"export {pk}: {label}")
        finally:
            await state.close()

    asyncio.run(run())


@exports_app.command("expire")
def exports_expire(database: DatabaseOption = None) -> None:
    """Delete the files of exports past their expiry (the server's sweep does this too)."""
    from hub.exports.jobs import expire

    async def run() -> None:
        engine = make_engine(_url(database))
        try:
            count = await expire(engine)
        finally:
            await engine.dispose()
        console.print(f"{count} expired export file(s) deleted")

    asyncio.run(run())


def _tree_change(
    operation: str,
    database: str | None,
    change: Any,
    codes: tuple[str, ...],
    report: Any,
) -> None:
    """Run a change of the org-unit tree (``change(connection)``) with its audit event in
    one transaction, print what ``report(done)`` says of it, and name the lines of the
    sources file that still name a code the change retired."""
    import getpass
    import uuid

    from hub.access.audit import AuditLog
    from hub.access.chain import append
    from hub.errors import BadInput

    async def run() -> Any:
        engine = make_engine(_url(database))
        try:
            async with engine.begin() as connection:
                done = await change(connection)
                log = AuditLog(
                    None,
                    operation=operation,
                    purpose=done.note,
                    correlation_id=uuid.uuid4().hex,
                    user_agent="eduhub cli",
                    operation_type="admin",
                )
                moved = ", ".join(f"{t} {n}" for t, n in sorted(done.rows_moved.items()))
                action = operation.split()[2]
                log.event(action, "org_unit", "allowed", done.path, detail=moved or None)
                rows = log.take()
                for row in rows:
                    row["username"] = f"cli:{getpass.getuser()}"
                await append(connection, rows)
            return done
        except BadInput as error:
            console.print(f"[red]{error.message}[/red]")
            raise typer.Exit(1) from None
        finally:
            await engine.dispose()

    done = asyncio.run(run())
    moved = ", ".join(f"{t} {n}" for t, n in sorted(done.rows_moved.items()))
    console.print(f"{report(done)}; rows re-pathed: {moved or 'none'}")
    sources = Settings().sources_file
    if sources.exists():
        for number, line in enumerate(sources.read_text(encoding="utf-8").splitlines(), 1):
            named = [c for c in codes if f'"{c}' in line and not line.lstrip().startswith("#")]
            if named:
                console.print(
                    f"[yellow]{sources}:{number} names {', '.join(named)}, retired by this"
                    f" change: {line.strip()}[/yellow]"
                )


def _day(on: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(on)
    except ValueError:
        console.print(f"[red]--on {on!r} is not a date (YYYY-MM-DD)[/red]")
        raise typer.Exit(2) from None


@orgunits_app.command("merge")
def orgunits_merge(
    source: Annotated[str, typer.Argument(help="The unit merged away, e.g. 440107.")],
    into: Annotated[str, typer.Option("--into", help="The unit of the same level it joins.")],
    on: Annotated[str, typer.Option("--on", help="The first day of the merged tree (YYYY-MM-DD).")],
    note: Annotated[
        str | None, typer.Option(help="变更说明 (default: 并入 <code> <name>).")
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Merge an org unit into another of its level from a day (撤并, e.g. a county into a
    district): its subtree moves, the versions before the day are kept for statistics of
    past days, and the change is audited. All of it or nothing."""
    from hub.orgunits.history import merge

    day = _day(on)
    _tree_change(
        f"eduhub orgunits merge {source} --into {into} --on {day}",
        database,
        lambda connection: merge(connection, source, into, day, note=note),
        (source,),
        lambda done: (
            f"{done.source} merged into {done.target} from {done.on}:"
            f" {done.units_moved} units moved"
        ),
    )


@orgunits_app.command("recode")
def orgunits_recode(
    code: Annotated[str, typer.Argument(help="The unit's current code, e.g. 440126.")],
    to: Annotated[str, typer.Option("--to", help="Its new code, e.g. 440113.")],
    on: Annotated[str, typer.Option("--on", help="The first day of the new code (YYYY-MM-DD).")],
    name: Annotated[
        str | None,
        typer.Option(help="Its new name (default: GB/T 2260's name of the new code)."),
    ] = None,
    note: Annotated[
        str | None, typer.Option(help="变更说明 (default: 代码变更为 <code> <name>).")
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Give an org unit a new code and name from a day (代码变更, e.g. 撤县设区: a county
    made a district): its rows and rights stay, the paths below follow, the versions
    before the day are kept for statistics of past days, and the change is audited."""
    from hub.orgunits.history import recode

    day = _day(on)
    _tree_change(
        f"eduhub orgunits recode {code} --to {to} --on {day}",
        database,
        lambda connection: recode(connection, code, to, day, name=name, note=note),
        (code,),
        lambda done: (
            f"{done.old_code} is {done.code} {done.name} from {done.on}:"
            f" {done.units_moved} units below re-pathed"
        ),
    )


@stats_app.command("reconcile")
def stats_reconcile(
    report: Annotated[Path, typer.Argument(help="The report workbook (.xlsx).")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The day it counts (default: its 统计时点 cell)."),
    ] = None,
    under: Annotated[
        str | None,
        typer.Option(help="Also compare the hub's schools under this org unit code."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the differences to this .xlsx or .csv file.")
    ] = None,
    top: Annotated[int, typer.Option(help="Differences to print.")] = 30,
    database: DatabaseOption = None,
) -> None:
    """Compare an annual statistics report (教育事业统计) with the hub's counts by school
    and grade as of the report's day; differences largest first. Exit 0: none; 3: some."""
    import datetime as dt

    from rich.table import Table as RichTable
    from sqlalchemy import select, true

    from hub.codes.registry import load_registry
    from hub.errors import BadInput
    from hub.orgunits.history import UNIT
    from hub.statistics.reconcile import Reconciliation, reconcile

    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        console.print(f"[red]--as-of {as_of!r} is not a date (YYYY-MM-DD)[/red]")
        raise typer.Exit(2) from None
    if not report.is_file():
        console.print(f"[red]{report}: no such file[/red]")
        raise typer.Exit(2)
    content = report.read_bytes()

    async def run() -> Reconciliation:
        engine = make_engine(_url(database))
        try:
            async with engine.connect() as connection:

                async def rows(statement: Any) -> Any:
                    return (await connection.execute(statement)).all()

                codes = await load_registry(connection)
                path = None
                if under is not None:
                    found = (
                        await connection.execute(select(UNIT.c.path).where(UNIT.c.code == under))
                    ).first()
                    if found is None:
                        raise BadInput(f"--under: no org unit {under!r}")
                    path = found.path
                return await reconcile(
                    rows, content, codes, true(), true(), day=day, under=path, name=report.name
                )
        finally:
            await engine.dispose()

    try:
        found = asyncio.run(run())
    except BadInput as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from None
    out_console = Console()
    table = RichTable(title=f"{report.name}: 统计时点 {found.day} ({found.sheet})")
    for header in ("学校标识码", "学校名称", "年级", "报表", "枢纽", "差异"):
        table.add_column(header, justify="right" if header in ("报表", "枢纽", "差异") else "left")
    for d in found.differences[:top]:
        table.add_row(
            d.school, d.name, d.grade_label, str(d.reported), str(d.hub), f"{d.difference:+d}"
        )
    out_console.print(table)
    out_console.print(
        f"{found.compared:,} school-grade pairs compared, {found.matching:,} equal,"
        f" {len(found.differences):,} differ; report total {found.reported_total:,},"
        f" hub total {found.hub_total:,}"
        + (f"; not in the hub: {', '.join(found.unknown_schools)}" if found.unknown_schools else "")
    )
    if out is not None:
        _write_differences(out, found)
        out_console.print(f"differences written to {out}")
    if found.differences or found.unknown_schools:
        raise typer.Exit(3)


def _write_differences(path: Path, found: Any) -> None:
    """The differences as a file (xlsx or csv by the suffix), streamed by the export writer."""
    from hub.exports.files import Sheet, batches_of, csv_chunks, xlsx_chunks

    headers = ["学校标识码", "学校名称", "年级码", "年级", "报表数", "枢纽数", "差异"]
    rows = [
        [d.school, d.name, d.grade, d.grade_label, d.reported, d.hub, d.difference]
        for d in found.differences
    ]
    rows.extend([s, "", "", "", None, None, "枢纽无此学校"] for s in found.unknown_schools)

    async def write() -> None:
        sheet = Sheet("差异", headers, batches_of(rows))
        chunks = csv_chunks(sheet) if path.suffix.lower() == ".csv" else xlsx_chunks([sheet])
        with path.open("wb") as handle:
            async for chunk in chunks:
                handle.write(chunk)

    asyncio.run(write())


@audit_app.command("verify")
def audit_verify(database: DatabaseOption = None) -> None:
    """Check the audit log's hash chain; report the first broken link (exit 1 if any)."""
    from hub.access.chain import verify

    async def run() -> None:
        engine = make_engine(_url(database))
        try:
            async with engine.connect() as connection:
                verdict = await verify(connection)
        finally:
            await engine.dispose()
        if verdict.ok:
            console.print(f"[green]audit chain intact[/green]: {verdict.rows:,} rows")
            return
        console.print(
            f"[red]audit chain broken at row {verdict.broken_at}[/red]: {verdict.reason}"
            f" ({verdict.rows:,} rows verified before it)"
        )
        raise typer.Exit(1)

    asyncio.run(run())


@quality_app.command("check")
def quality_check(
    under: Annotated[
        str, typer.Option(help="Check the students under this org unit code (default: all).")
    ] = "CN",
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources",
            help="Sources file naming the population register ([register]) for kind 5"
            " (default: $HUB_SOURCES_FILE or sources.toml, when it exists).",
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Find problem records (查重查错): invalid citizen IDs, IDs that disagree with the
    record, duplicate IDs, pupils without an ID who look like the same child, and (with a
    register) IDs the population register does not hold or holds under another name. Opens
    new records, keeps those that still apply, closes those that no longer do; all in one
    transaction."""
    from sqlalchemy import select

    from hub.codes.registry import load_registry
    from hub.db.migrate import upgrade
    from hub.orgunits.models import OrgUnit
    from hub.quality.checks import check

    async def run() -> None:
        engine = make_engine(_url(database))
        register: Register | None = None
        try:
            await upgrade(engine)
            async with engine.begin() as connection:
                path = (
                    await connection.execute(select(OrgUnit.path).where(OrgUnit.code == under))
                ).scalar()
                if path is None:
                    console.print(f"[red]unknown org unit code {under!r} for --under[/red]")
                    raise typer.Exit(2)
                register = _register(sources, await load_registry(connection))
                with _progress(f"[bold]quality check {under}[/bold]") as progress:
                    task = progress.add_task("rows", total=None)
                    summary = await check(
                        connection,
                        under=path,
                        progress=lambda n: progress.advance(task, n),
                        register=register,
                    )
        finally:
            if register is not None:
                await register.close()
            await engine.dispose()
        found = ", ".join(f"kind {k}: {n:,}" for k, n in sorted(summary.found.items()))
        console.print(
            f"examined {summary.examined:,} citizen IDs (normalised {summary.normalised:,});"
            f" records found: {found or 'none'}; opened {summary.opened:,}, still open"
            f" {summary.kept:,}, closed {summary.closed:,}"
        )
        style = "yellow" if summary.register.deferred else "default"
        console.print(f"[{style}]{summary.register.describe()}[/{style}]")

    asyncio.run(run())


@quality_app.command("across")
def quality_across(
    sources: SourcesOption = None,
    hubs: Annotated[
        list[str] | None,
        typer.Option("--hub", help="Only these hub sources (default: every eduhub source)."),
    ] = None,
) -> None:
    """Duplicate IDs across provincial hubs (跨省重复), run by the national hub: each hub of
    the sources file (kind "eduhub") gives the keyed hashes of its ID numbers (HUB_LINK_KEY,
    shared by the hubs), never the numbers; the hashes held by two or more hubs go back to
    each of them, which opens kind-3 records naming the other provinces. All hubs are read
    before anything is sent: one that is down stops the run."""
    from hub.codes.registry import UNKNOWN_LABEL, registry_from_packaged
    from hub.quality.across import compare_hubs
    from hub.sources.eduhub import EduhubSource
    from hub.sources.mapping import MappingError, load_sources

    path = sources or Settings().sources_file
    try:
        configs = load_sources(path)
    except MappingError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    names = hubs or [n for n, c in configs.items() if c.kind == "eduhub"]
    wrong = [n for n in names if n not in configs or configs[n].kind != "eduhub"]
    if wrong or len(names) < 2:
        console.print(
            f'[red]need two or more hub sources (kind "eduhub") in {path};'
            f" not hubs: {', '.join(wrong) or 'none'}[/red]"
        )
        raise typer.Exit(2)
    codes = registry_from_packaged()
    labels = {}
    for name in names:  # a province by its division's name, else the source's label
        region = configs[name].region
        found = codes.label("division", region) if region and region != "CN" else UNKNOWN_LABEL
        labels[name] = configs[name].label if found == UNKNOWN_LABEL else found

    async def run() -> dict[str, dict[str, int]]:
        adapters = [EduhubSource(configs[n]) for n in names]
        try:
            with _progress("[bold]ID digests[/bold]") as progress:
                task = progress.add_task("digests", total=None)
                return await compare_hubs(
                    adapters, labels, progress=lambda n: progress.advance(task, n)
                )
        finally:
            for adapter in adapters:
                await adapter.close()

    try:
        results = asyncio.run(run())
    except Exception as error:  # a hub down or refusing: say which and why
        console.print(f"[red]cross-hub check stopped, nothing sent: {error}[/red]")
        raise typer.Exit(1) from None
    for name, result in results.items():
        console.print(
            f"{name} ({labels[name]}): {result['shared']:,} ID digests held elsewhere; records"
            f" opened {result.get('opened', 0):,}, still open {result.get('kept', 0):,},"
            f" closed {result.get('closed', 0):,}"
        )


@schema_app.command("export")
def schema_export(
    path: Annotated[Path | None, typer.Argument(help="Where to write the SDL.")] = None,
) -> None:
    """Write the SDL of the schema (default: schema/schema.graphql)."""
    from schema import SDL_PATH, sdl

    target = path or SDL_PATH
    target.write_text(sdl(), encoding="utf-8")
    console.print(f"wrote {target}")


if __name__ == "__main__":
    app()
