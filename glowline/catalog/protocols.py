"""The protocol catalog: protocols.json, validated once at start, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

from jsonschema.exceptions import best_match

from glowline.exceptions import ConfigError, NotFound
from glowline.catalog.schemas import CompiledSchema, error_path, load_schema_file, read_json

# A ConfigError message must stay on one line even when jsonschema quotes a whole object.
_MAX_DETAIL = 160


@dataclass(frozen=True)
class Range:
    """An inclusive whole-number range with the value used when none is given."""

    min: int
    max: int
    default: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.min <= value <= self.max

    def describe(self) -> str:
        """The range as people write it: "3 and 6", or just "4" when it has one value."""
        return str(self.min) if self.min == self.max else f"{self.min} and {self.max}"


@dataclass(frozen=True)
class Restriction:
    """One thing to avoid after a session, in words a client understands."""

    id: str
    texts: tuple[tuple[str, str], ...]  # (locale, wording) pairs, hashable; the schema requires en and es

    @property
    def text(self) -> str:
        """The English wording."""
        return self.text_in("en")

    def text_in(self, locale: str) -> str:
        """The wording in ``locale``, English when the file has no such locale."""
        by_locale = dict(self.texts)
        return by_locale.get(locale) or by_locale["en"]


@dataclass(frozen=True)
class Protocol:
    """A treatment course: which conditions it serves, how many sessions, how far apart, aftercare."""

    id: str
    name: str
    conditions: tuple[str, ...]
    sessions: Range
    interval_weeks: Range
    aftercare_hours: int
    restrictions: tuple[Restriction, ...]
    note: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Catalog:
    """Every protocol of one protocols.json version, by id."""

    version: str
    protocols: dict[str, Protocol]
    condition_order: tuple[str, ...] = ()

    def get(self, protocol_id: str) -> Protocol:
        """The protocol with this id; NotFound lists the valid ids."""
        try:
            return self.protocols[protocol_id]
        except KeyError:
            valid = ", ".join(self.protocols)
            raise NotFound(f"unknown protocol {protocol_id!r}; valid protocols: {valid}") from None

    def for_condition(self, condition: str) -> Protocol:
        """The protocol that serves a condition (case and spacing ignored); NotFound lists the choices."""
        wanted = " ".join(condition.lower().split())
        for protocol in self.protocols.values():
            if wanted in protocol.conditions:
                return protocol
        raise NotFound(f"no protocol serves {condition!r}; conditions: {', '.join(self.conditions())}")

    def conditions(self) -> list[str]:
        """Every condition served, in the order the intake questionnaire offers them, once each."""
        ordered = list(self.condition_order)
        for protocol in self.protocols.values():
            ordered.extend(c for c in protocol.conditions if c not in ordered)
        return ordered

    def __iter__(self) -> Iterator[Protocol]:
        return iter(self.protocols.values())

    def __len__(self) -> int:
        return len(self.protocols)


def load_catalog(path: Path, schema: Path | CompiledSchema) -> Catalog:
    """Read and validate protocols.json; any problem raises a one-line ConfigError naming file and field.

    ``schema`` is the schema file, or the already compiled one from the runtime's registry.
    """
    compiled = schema if isinstance(schema, CompiledSchema) else load_schema_file(schema)
    document = read_json(path)
    error = best_match(compiled.validator.iter_errors(document))
    if error is not None:
        raise ConfigError(f"{path.name}: {error_path(error)}: {_one_line(error.message)}")
    return _build(path.name, document)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL else flat[: _MAX_DETAIL - 3] + "..."


def _range(name: str, where: str, raw: dict) -> Range:
    value = Range(raw["min"], raw["max"], raw["default"])
    if value.min > value.max:
        raise ConfigError(f"{name}: {where}.min: {value.min} is greater than max {value.max}")
    if value.default not in value:
        raise ConfigError(f"{name}: {where}.default: {value.default} is outside {value.min}..{value.max}")
    return value


def _build(name: str, document: dict) -> Catalog:
    """Semantic checks the schema cannot express, then the dataclasses."""
    listed = tuple(document["conditions"])
    protocols: dict[str, Protocol] = {}
    served_by: dict[str, str] = {}
    for index, raw in enumerate(document["protocols"]):
        where = f"protocols[{index}]"
        if raw["id"] in protocols:
            raise ConfigError(f"{name}: {where}.id: duplicate protocol id {raw['id']!r}")
        for condition in raw["conditions"]:
            if condition not in listed:
                raise ConfigError(f"{name}: {where}.conditions: {condition!r} is not in the top-level conditions list")
            if condition in served_by:
                # for_condition must have one answer, or the intake would pick a protocol by file order.
                raise ConfigError(f"{name}: {where}.conditions: {condition!r} is already served by "
                                  f"{served_by[condition]!r}")
            served_by[condition] = raw["id"]
        seen: set[str] = set()
        restrictions = []
        for r_index, item in enumerate(raw["aftercare"]["restrictions"]):
            if item["id"] in seen:
                raise ConfigError(f"{name}: {where}.aftercare.restrictions[{r_index}].id: duplicate {item['id']!r}")
            seen.add(item["id"])
            restrictions.append(Restriction(item["id"], tuple(sorted(item["text"].items()))))
        protocols[raw["id"]] = Protocol(
            id=raw["id"],
            name=raw["name"],
            conditions=tuple(raw["conditions"]),
            sessions=_range(name, f"{where}.sessions", raw["sessions"]),
            interval_weeks=_range(name, f"{where}.interval_weeks", raw["interval_weeks"]),
            aftercare_hours=raw["aftercare"]["hours"],
            restrictions=tuple(restrictions),
            note=raw.get("note"),
            source=raw.get("source"),
        )
    unserved = [c for c in listed if c not in served_by]
    if unserved:
        raise ConfigError(f"{name}: conditions: {unserved[0]!r} is served by no protocol")
    return Catalog(version=document["version"], protocols=protocols, condition_order=listed)
