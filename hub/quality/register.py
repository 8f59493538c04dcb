"""The population register (人口库) as a source: problem kind 5 (与人口库不符).

The sources file names the register with a top-level table; the source it points to maps an
entity ``person`` like any other entity (the key is the citizen ID column):

    [register]
    source = "population"          # a source of this file
    batch_size = 1000              # keys per call (default 1000)
    concurrency = 4                # calls in flight during a bulk check (default 4)

    [sources.population.entities.person]
    table = "RK_JBXX"
    key = "GMSFHM"
    [sources.population.entities.person.fields]
    id_number = { column = "GMSFHM", upper = true }
    name = "XM"
    sex_code = { column = "XB", translate = "sex" }
    birth_date = { column = "CSRQ", date = "%Y%m%d" }

The check asks the register for the ID numbers it holds, in batches, through the source's
adapter (its timeouts, retries and circuit breaker). A student with a valid citizen ID is a
kind-5 finding when the register does not hold the ID, or holds it under another name (names
compared after Unicode normalisation, without spaces, with one middle dot). When the register
cannot be reached the comparison is deferred, never guessed: nothing is opened or closed for
the students it could not look up, and the summary says how many they were and why.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.codes.registry import CodeRegistry
from hub.sources.mapping import Mapper, MappingError, SourceConfig
from hub.sources.protocol import Source, make_source

ENTITY = "person"
REQUIRED_FIELDS = ("id_number", "name")
KNOWN_FIELDS = {"id_number", "name", "sex_code", "birth_date"}
_OPTIONS = {"source", "batch_size", "concurrency"}

NOT_HELD = "人口库中无此身份证件号"
OTHER_NAME = "姓名与人口库登记不一致"

_DOTS = re.compile("[\u00b7\u2022\u2027\u30fb\uff0e\u2219\u22c5.]")
_SPACE = re.compile(r"\s+")


def name_key(name: str) -> str:
    """A name as compared with the register: NFKC (full-width letters and digits folded), no
    whitespace, every kind of middle dot as ``·`` (阿卜杜•艾力 = 阿卜杜·艾力)."""
    folded = unicodedata.normalize("NFKC", name)
    return _DOTS.sub("\u00b7", _SPACE.sub("", folded))


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """The sources file's ``[register]``: which source, how many keys per call, how many
    calls in flight."""

    source: str
    batch_size: int = 1000
    concurrency: int = 4


@dataclass(frozen=True, slots=True)
class Person:
    id_number: str
    name: str | None


class Register:
    """Lookups of citizen IDs in the population register, through its source's adapter."""

    def __init__(self, source: Source, codes: CodeRegistry, spec: RegisterSpec) -> None:
        self.source = source
        self.name = source.name
        self.batch_size = spec.batch_size
        self.concurrency = spec.concurrency
        self.mapper = Mapper(source.config, source.entity(ENTITY), codes)

    async def persons(self, id_numbers: Sequence[str]) -> dict[str, Person]:
        """The register's persons among ``id_numbers`` (normalised IDs), by ID number. Raises
        ``SourceUnavailable`` when the register cannot answer; every batch of keys is one call
        through the adapter's resilience. An ID ending in ``X`` is asked for in both cases."""
        found: dict[str, Person] = {}
        unique = sorted(set(id_numbers))
        for start in range(0, len(unique), self.batch_size):
            chunk = unique[start : start + self.batch_size]
            keys = [*chunk, *(n[:-1] + "x" for n in chunk if n.endswith("X"))]
            for raw in await self.source.fetch(ENTITY, keys):
                if raw is None:
                    continue
                mapped = self.mapper.map(raw)
                number = str(mapped.values.get("id_number") or mapped.key).strip().upper()
                name = mapped.values.get("name")
                found[number] = Person(number, None if name is None else str(name))
        return found

    @staticmethod
    def disagreement(name: str, person: Person | None) -> str | None:
        """Why the record disagrees with the register (a kind-5 detail), or None. A person
        the register holds without a name contradicts nothing."""
        if person is None:
            return NOT_HELD
        if person.name is not None and name_key(person.name) != name_key(name):
            return OTHER_NAME
        return None

    async def close(self) -> None:
        await self.source.close()


def load_register(path: Path, configs: Mapping[str, SourceConfig]) -> RegisterSpec | None:
    """The register the sources file names (its top-level ``[register]``; ``configs``: the
    file's sources), or None when it names none. A register named wrongly is a
    ``MappingError`` saying where."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MappingError(f"{path}: {error}") from None
    spec = document.get("register")
    if spec is None:
        return None
    where = f"{path}: register"
    if not isinstance(spec, dict):
        raise MappingError(f'{where}: a table, e.g. [register] source = "population"')
    unknown = set(spec) - _OPTIONS
    if unknown:
        raise MappingError(f"{where}: unknown options {sorted(unknown)}")
    name = spec.get("source")
    if not isinstance(name, str) or not name:
        raise MappingError(f"{where}.source: the name of a source of this file")
    if name not in configs:
        raise MappingError(f"{where}.source: no source {name!r} in this file")
    entity = configs[name].entities.get(ENTITY)
    if entity is None:
        raise MappingError(f"{where}: source {name!r} maps no entity {ENTITY!r}")
    mapped = {f.target for f in entity.fields}
    missing = [f for f in REQUIRED_FIELDS if f not in mapped]
    if missing:
        raise MappingError(
            f"{path}: sources.{name}.entities.{ENTITY}.fields: missing {', '.join(missing)}"
        )
    extra = sorted(mapped - KNOWN_FIELDS)
    if extra:
        raise MappingError(
            f"{path}: sources.{name}.entities.{ENTITY}.fields: unknown fields {extra}"
            f" (a person has {', '.join(sorted(KNOWN_FIELDS))})"
        )
    sizes: dict[str, int] = {}
    for option, default in (("batch_size", 1000), ("concurrency", 4)):
        value = spec.get(option, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100_000:
            raise MappingError(f"{where}.{option}: a whole number from 1 to 100000")
        sizes[option] = value
    return RegisterSpec(name, **sizes)


def open_register(path: Path, codes: CodeRegistry) -> Register | None:
    """The register of a sources file with an adapter of its own (for the CLI and the
    sync); None when the file names no register. The caller closes it."""
    from hub.sources.mapping import load_sources

    configs = load_sources(path)
    spec = load_register(path, configs)
    if spec is None:
        return None
    return Register(make_source(configs[spec.source]), codes, spec)
