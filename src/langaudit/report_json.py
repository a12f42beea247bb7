"""Audit reports read back from their JSON files (docs/audit-json.md), for comparing them
(:mod:`langaudit.diff`): a file that is not one, or is of another version or damaged, is an
:class:`~langaudit.errors.InputError` naming the file and what is wrong, never a traceback."""

from __future__ import annotations

import json
import os
from typing import Any

from .errors import InputError

#: The audit report layout read here (langaudit.report.SCHEMA_VERSION, not imported: light).
REPORT_SCHEMA = 1
#: What to do about a file that is not a report.
HINT = "give a report written by: langaudit audit INPUT... --json FILE"
_NUMBER = (int, float)
#: Keys every report of schema 1 has that the differences read, with their JSON types.
_REQUIRED: dict[str, tuple[type, ...]] = {
    "records": (int,),
    "skipped": (int,),
    "flagged": (int,),
    "flagged_rate": _NUMBER,
    "sources": (list,),
    "flags": (dict,),
    "languages": (dict,),
    "zh_share": (*_NUMBER, type(None)),
    "examples": (dict,),
}


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The audit report in the JSON file ``path``; an :class:`InputError` naming the file and
    what is wrong when it is not one that this langaudit reads."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(name, "no such file", hint=HINT) from None
    except IsADirectoryError:
        raise InputError(name, "a directory, not a JSON report", hint=HINT) from None
    except OSError as exc:
        raise InputError(name, f"cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(name, "not a langaudit JSON report: not UTF-8 text", hint=HINT) from None
    except json.JSONDecodeError as exc:
        problem = f"not a langaudit JSON report: bad JSON at line {exc.lineno}, column {exc.colno}"
        raise InputError(name, f"{problem} ({exc.msg})", hint=HINT) from None
    except RecursionError:
        raise InputError(
            name, "not a langaudit JSON report: nested too deeply", hint=HINT
        ) from None
    check_report(data, name)
    return data


def check_report(data: Any, name: str) -> None:
    """Raise an :class:`InputError` when ``data`` is not an audit report of schema 1."""
    if not isinstance(data, dict) or "schema_version" not in data:
        raise InputError(
            name, "not a langaudit JSON report (it has no 'schema_version' key)", hint=HINT
        )
    version = data["schema_version"]
    if version != REPORT_SCHEMA:
        raise InputError(
            name,
            f"report schema_version {version!r}; this langaudit reads version {REPORT_SCHEMA}",
            hint="audit the data again with this langaudit: langaudit audit INPUT... --json FILE",
        )
    for key, types in _REQUIRED.items():
        if key not in data:
            raise InputError(name, f"not a langaudit JSON report: no {key!r} key", hint=HINT)
        value = data[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise InputError(name, f"damaged report: {key!r} is {type(value).__name__}", hint=HINT)
    try:
        _check_parts(data)
    except ValueError as exc:
        raise InputError(name, f"damaged report: {exc}", hint=HINT) from None


def _check_parts(data: dict[str, Any]) -> None:
    """The nested values the differences read (a ValueError saying which is damaged)."""
    for flag, value in data["flags"].items():
        _field(value, "count", f"flags.{flag}", int)
        _field(value, "rate", f"flags.{flag}", _NUMBER)
    for role, counts in data["languages"].items():
        for lang in _field(data["languages"], role, "languages", dict):
            _field(counts, lang, f"languages.{role}", int)
    for k, src in enumerate(data["sources"]):
        where = f"sources[{k}]"
        _field(src, "source", where, str)
        for key in ("records", "skipped", "flagged"):
            _field(src, key, where, int)
        for flag in _field(src, "flags", where, dict):
            _field(src["flags"], flag, f"{where}.flags", int)
    for flag in data["examples"]:
        for k, e in enumerate(_field(data["examples"], flag, "examples", list)):
            where = f"examples.{flag}[{k}]"
            _field(e, "source", where, str)
            _field(e, "index", where, int)
            _field(e, "reason", where, str)
    flagged = data.get("flagged_records")
    if flagged is None:
        return
    for k, src in enumerate(_field(data, "flagged_records", "report", list)):
        where = f"flagged_records[{k}]"
        _field(src, "source", where, str)
        for row in _field(src, "records", where, list):
            if not (
                isinstance(row, list)
                and len(row) == 3
                and isinstance(row[0], int)
                and isinstance(row[1], str)
                and isinstance(row[2], list)
                and all(isinstance(f, str) for f in row[2])
            ):
                raise ValueError(f"{where}.records has a bad row: {_short(row)}")


def _field(obj: Any, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    """``obj[key]``, which must be of ``kind`` (a ValueError naming it otherwise)."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where} is {_short(obj)}, not an object")
    if key not in obj:
        raise ValueError(f"{where} has no {key!r}")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{where}.{key} is {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"
