"""JSON Schemas from schemas/: loaded once, validators prebuilt, errors that name the field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from glowline.exceptions import ConfigError, ValidationError
from glowline.phone import is_e164

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("e164", raises=())
def _check_e164(value) -> bool:
    return not isinstance(value, str) or is_e164(value)


def error_path(error) -> str:
    """Render a jsonschema error's location as ``a.b[2].c`` (``$`` for the root)."""
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            path = f"{path}.{missing[0]}" if path else missing[0]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            path = f"{path}.{extra[0]}" if path else extra[0]
    return path or "$"


def build_validator(schema: dict) -> Draft202012Validator:
    """A validator for ``schema`` with our format checks (date-time, e164, ...) switched on."""
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


@dataclass(frozen=True)
class CompiledSchema:
    """One schema file and its prebuilt validator."""

    name: str
    path: Path
    schema: dict
    validator: Draft202012Validator

    def errors(self, instance) -> list[tuple[str, str]]:
        """Every problem with ``instance`` as (field path, message), sorted by path."""
        found = [(error_path(e), e.message) for e in self.validator.iter_errors(instance)]
        return sorted(found)

    def check(self, instance) -> None:
        """Raise ValidationError naming the first field that does not fit."""
        errors = self.errors(instance)
        if errors:
            field, message = errors[0]
            raise ValidationError(f"{field}: {message}", field=field)


class SchemaRegistry:
    """All ``*.schema.json`` files of a folder, by name without the suffix."""

    def __init__(self, compiled: dict[str, CompiledSchema]):
        self._compiled = compiled

    @classmethod
    def load(cls, folder: Path) -> SchemaRegistry:
        """Load and check every schema in ``folder``; a broken one raises ConfigError naming it."""
        compiled: dict[str, CompiledSchema] = {}
        if not folder.is_dir():
            raise ConfigError(f"{folder}: schemas folder not found")
        for path in sorted(folder.glob("*.schema.json")):
            compiled[path.name.removesuffix(".schema.json")] = load_schema_file(path)
        return cls(compiled)

    def __getitem__(self, name: str) -> CompiledSchema:
        try:
            return self._compiled[name]
        except KeyError:
            raise ConfigError(f"schemas/{name}.schema.json: not found") from None

    def __contains__(self, name: str) -> bool:
        return name in self._compiled

    def names(self) -> list[str]:
        """The names of the loaded schemas."""
        return sorted(self._compiled)


def read_json(path: Path):
    """Parse a JSON data file; a missing or malformed one raises a one-line ConfigError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path.name}: file not found at {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def load_schema_file(path: Path) -> CompiledSchema:
    """Read one schema file and prebuild its validator; problems raise ConfigError naming the file."""
    schema = read_json(path)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "$"
        raise ConfigError(f"{path.name}: {where}: {exc.message}") from None
    name = path.name.removesuffix(".schema.json")
    return CompiledSchema(name=name, path=path, schema=schema, validator=build_validator(schema))
