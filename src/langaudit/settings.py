"""Settings from files: ``[tool.langaudit]`` in ``pyproject.toml``, or a ``langaudit.toml``.

The nearest file above each input applies to it (``langaudit.toml`` before ``pyproject.toml``
in the same directory; a ``pyproject.toml`` without ``[tool.langaudit]`` is passed over), as
ruff finds its settings. Keys are the command-line options without their dashes::

    [tool.langaudit]
    expect = "zh"
    allow-terms = ["LoRA", "benchmark"]
    max-rate = { code_switch = 0.01, punct_mismatch = 0.05 }
    max-count = { lang_mismatch = 0 }
    zh-share = "0.6:0.9"

    [[tool.langaudit.overrides]]
    files = ["data/en/**"]
    expect = "en"
    zh-share = ":0.05"

Overrides apply, in order, to the files their globs match (relative to the file's directory; a
glob without ``/`` matches a file name in any directory). Options given on the command line
replace those from files, rule by rule for ``max-rate`` and ``max-count``. Unknown keys, flags
and bad values are errors that name the file and the key.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .config import STRICTNESS, AuditConfig, ShareRange, normalise_lang
from .errors import UsageError
from .formats import FORMATS
from .judge import FLAGS

CONFIG_FILES = ("langaudit.toml", "pyproject.toml")


# ---------------------------------------------------------------------------------------------
# Keys and their values


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value


def _choice(choices: Iterable[str]) -> Callable[[Any], str]:
    options = tuple(choices)

    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return str(value)

    return check


def _language(value: Any) -> str:
    return normalise_lang(_text(value))


def _terms(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError('expected a list of terms, e.g. ["LoRA", "benchmark"]')
    return tuple(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number >= 0, got {value!r}")
    return value


def _rate(value: Any) -> float:
    if isinstance(value, str):
        return parse_rate(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"expected a rate between 0 and 1 (or a percentage), got {value!r}")
    return float(value)


def _per_flag(parse: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValueError("expected a table of flag = limit, e.g. { code_switch = 0.01 }")
        out = {}
        for flag, limit in value.items():
            if flag not in FLAGS:
                raise ValueError(f"unknown flag {flag!r}{did_you_mean(flag, FLAGS)}")
            try:
                out[flag] = parse(limit)
            except ValueError as exc:
                raise ValueError(f"{flag}: {exc}") from None
        return out

    return check


def _share(value: Any) -> ShareRange:
    if isinstance(value, list) and len(value) == 2:
        value = f"{'' if value[0] is None else value[0]}:{'' if value[1] is None else value[1]}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError('expected "LOW:HIGH" (e.g. "0.6:0.9"), [LOW, HIGH] or one share')
    return ShareRange.parse(value)


#: Keys of the top-level table and of overrides, as option names (dashes -> underscores) with
#: the parser of their values. ``allow-terms-file`` is resolved against the config's folder.
PER_FILE: dict[str, Callable[[Any], Any]] = {
    "format": _choice(FORMATS),
    "prompt-field": _text,
    "response-field": _text,
    "system-field": _text,
    "expect": _language,
    "strictness": _choice(STRICTNESS),
    "allow-terms": _terms,
    "allow-terms-file": _text,
    "on-error": _choice(("raise", "skip")),
    "max-rate": _per_flag(_rate),
    "max-count": _per_flag(_count),
    "zh-share": _share,
}
#: Keys only the top-level table takes.
GLOBAL: dict[str, Callable[[Any], Any]] = {
    "max-lines": _count,
    "examples": _count,
    "overrides": lambda value: value,  # checked by _overrides
}
#: Option values that are tables of per-flag limits: later ones replace earlier ones flag by flag.
RULE_TABLES = ("max_rate", "max_count")


def parse_rate(text: str) -> float:
    """``0.01`` or ``1%`` -> 0.01."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"expected a rate such as 0.01 or 1%, got {text!r}") from None
    if not 0 <= value <= 1:
        raise ValueError(f"a rate is between 0 and 1 (0% and 100%), got {text!r}")
    return value


def did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---------------------------------------------------------------------------------------------
# A config file


@dataclass(frozen=True)
class Override:
    globs: tuple[str, ...]
    options: dict[str, Any]

    def matches(self, relative: str) -> bool:
        return any(_glob_regex(g).match(relative) for g in self.globs)


@dataclass(frozen=True)
class Settings:
    """One config file: its options, and its overrides for groups of files."""

    path: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()

    def options_for(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """The options for one input: the file's top level, then each matching override."""
        out = dict(self.options)
        if self.path is None or not self.overrides:
            return out
        relative = _relative(Path(path), self.path.parent) or Path(path).as_posix()
        for override in self.overrides:
            if override.matches(relative):
                out = merge_options(out, override.options)
        return out


def merge_options(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``: values replace values, except that a flag's limit replaces that
    flag's limit only (of either kind: a max-rate replaces a max-count for the same flag) and
    glossaries add up."""
    out = dict(base)
    for key, value in top.items():
        if value is None:
            continue
        if key in RULE_TABLES:
            for other in RULE_TABLES:
                if other in out:
                    out[other] = {f: v for f, v in out[other].items() if f not in value}
            out[key] = {**out.get(key, {}), **value}
        elif key == "allow_terms":
            out[key] = tuple(dict.fromkeys((*out.get(key, ()), *value)))
        else:
            out[key] = value
    return out


def _relative(path: Path, root: Path) -> str | None:
    """``path`` relative to the config's folder (``../data/a.jsonl`` outside it)."""
    try:
        return Path(os.path.relpath(os.path.abspath(path), root)).as_posix()
    except ValueError:
        return None  # another drive


@lru_cache(maxsize=256)
def _glob_regex(glob: str) -> re.Pattern[str]:
    """A glob as a regex over posix paths: ``*`` within a folder, ``**`` across folders."""
    anchored = glob.strip().startswith("/")  # /data/*.jsonl: from the config's folder
    pattern = glob.strip().removeprefix("./").lstrip("/")
    anywhere = "/" not in pattern.rstrip("/") and not anchored
    parts, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            parts.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    body = "".join(parts)
    if pattern.endswith("/"):  # a folder: everything in it
        body += ".*"
    prefix = "(?:.*/)?" if anywhere else ""
    return re.compile(prefix + body + r"(?:/.*)?\Z")


def load(path: str | os.PathLike[str]) -> Settings:
    """The settings of one file: ``pyproject.toml``'s ``[tool.langaudit]``, or any other file
    as a whole (``langaudit.toml``)."""
    p = Path(os.path.abspath(path))
    table = _read_table(p)
    if table is None:
        raise UsageError(
            f"{p}: no [tool.langaudit] table",
            "add one, or name a langaudit.toml, whose keys are at its top level",
        )
    return _parse(p, table)


def _read_table(p: Path) -> dict[str, Any] | None:
    """The langaudit table of a config file, None for a pyproject.toml without one."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise UsageError(f"{p}: cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{p}: the config file is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p}: invalid TOML: {exc}", "fix the file's syntax") from None
    if p.name != "pyproject.toml":
        return data
    tool = data.get("tool", {})
    table = tool.get("langaudit") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise UsageError(f"{p}: [tool.langaudit] must be a table")
    return table


def _parse(p: Path, table: dict[str, Any]) -> Settings:
    where = "[tool.langaudit]" if p.name == "pyproject.toml" else ""
    options = _options(p, where, table, {**PER_FILE, **GLOBAL})
    overrides = _overrides(p, where, table.get("overrides", []))
    options.pop("overrides", None)
    return Settings(p, options, overrides)


def _at(p: Path, where: str) -> str:
    """The start of an error message: the file, and the table in it."""
    return f"{p}: {where}: " if where else f"{p}: "


def _misplaced(p: Path, key: str, known: Mapping[str, Any]) -> str:
    """Why a known key is wrong here, or the key that was probably meant."""
    if known is PER_FILE and key in GLOBAL:
        return " (only at the top level)"
    if key == "files" and known is not PER_FILE:
        return " (only in [[overrides]], with the keys that apply to those files)"
    if key == "tool" and p.name != "pyproject.toml":
        return f" ({p.name} takes the keys at its top level, without [tool.langaudit])"
    return did_you_mean(key, known)


def _overrides(p: Path, where: str, value: Any) -> tuple[Override, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise UsageError(
            f"{_at(p, where)}overrides must be an array of tables",
            "write each as [[tool.langaudit.overrides]] (or [[overrides]] in langaudit.toml)",
        )
    out = []
    for n, table in enumerate(value, 1):
        here = f"{where}, override {n}" if where else f"override {n}"
        globs = table.get("files")
        if isinstance(globs, str):
            globs = [globs]
        if not globs or not all(isinstance(g, str) and g.strip() for g in globs):
            raise UsageError(
                f"{_at(p, here)}needs files = [GLOB, ...], the files it applies to",
                'e.g. files = ["data/en/*.jsonl"]',
            )
        for glob in globs:
            try:
                _glob_regex(glob)
            except re.error as exc:
                raise UsageError(f"{_at(p, here)}files: bad glob {glob!r}: {exc}") from None
        rest = {k: v for k, v in table.items() if k != "files"}
        out.append(Override(tuple(globs), _options(p, here, rest, PER_FILE)))
    return tuple(out)


def _options(
    p: Path, where: str, table: Mapping[str, Any], known: Mapping[str, Callable[[Any], Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise UsageError(
                f"{_at(p, where)}unknown key {key!r}{_misplaced(p, key, known)}",
                f"known keys: {', '.join(sorted(known))}",
            )
        try:
            parsed = known[key](value)
        except (ValueError, UsageError) as exc:
            raise UsageError(f"{_at(p, where)}{key}: {exc}") from None
        if key == "allow-terms-file":
            from .config import read_terms

            terms = read_terms(str(p.parent / parsed))
            out["allow_terms"] = (*out.get("allow_terms", ()), *terms)
            continue
        if key == "allow-terms":
            parsed = (*out.get("allow_terms", ()), *parsed)
        out[key.replace("-", "_")] = parsed
    return out


# ---------------------------------------------------------------------------------------------
# Finding the file


def find(path: str | os.PathLike[str], seen: dict[Path, Settings] | None = None) -> Settings:
    """The settings of the nearest config file above ``path`` (empty settings without one);
    ``seen`` caches them by folder across the inputs of one run."""
    seen = seen if seen is not None else {}
    p = Path(os.path.abspath(path))
    folder = p if p.is_dir() else p.parent
    walked = []
    settings = Settings()
    for here in (folder, *folder.parents):
        if here in seen:
            settings = seen[here]
            break
        walked.append(here)
        found = _config_in(here)
        if found is not None:
            settings = found
            break
    for here in walked:
        seen[here] = settings
    return settings


def _config_in(folder: Path) -> Settings | None:
    for name in CONFIG_FILES:
        candidate = folder / name
        if candidate.is_file():
            table = _read_table(candidate)
            if table is not None:
                return _parse(candidate, table)
    return None


def audit_config(options: Mapping[str, Any]) -> AuditConfig:
    """The AuditConfig of one input's options (the others are rules and run-wide options)."""
    names = AuditConfig.__dataclass_fields__
    return AuditConfig.from_options(**{k: v for k, v in options.items() if k in names})


def for_inputs(
    inputs: Iterable[str | os.PathLike[str]],
    given: Mapping[str, Any],
    config: str | os.PathLike[str] | bool | None = None,
    registry: Any = None,
) -> list[tuple[Any, dict[str, Any], Settings]]:
    """The sources of the inputs (one per file of a folder, per split of a Hugging Face
    folder), each with its options and the settings they come from: its config file's
    (``config``: a path to use for every input, None to find the nearest, False for none),
    then the ``given`` ones on top. Each source's ``config`` is set to its AuditConfig.

    With a ``registry`` (:class:`langaudit.registry.Registry`), the inputs are the files of
    its datasets, each read with its dataset's declared shape; ``source.dataset`` names it."""
    from .hub import is_spec, settings_path
    from .io import open_path

    if registry is not None:
        return _registered(registry, given, config)

    fixed: Settings | None = None
    if config is False:
        fixed = Settings()
    elif config is not None and config is not True:
        fixed = load(config)
    seen: dict[Path, Settings] = {}
    read: set[str] = set()
    out = []
    for path in inputs:
        # a Hub dataset is in no folder: the current directory's settings apply to it
        here = settings_path(path) if is_spec(path) else path
        settings = fixed if fixed is not None else find(here, seen)
        for src in open_path(path):
            real = os.path.realpath(src.name)
            if real in read:  # the same file given twice (a.jsonl ./a.jsonl) is read once
                continue
            read.add(real)
            # a file of a folder given as input matches the overrides by its own name
            where = src.name if src.name != os.fspath(path) and os.path.isfile(src.name) else path
            options = merge_options(settings.options_for(where), given)
            src.config = audit_config(options)
            out.append((src, options, settings))
    return out


def _registered(
    registry: Any, given: Mapping[str, Any], config: str | os.PathLike[str] | bool | None
) -> list[tuple[Any, dict[str, Any], Settings]]:
    """:func:`for_inputs` for the datasets of a registry."""
    from dataclasses import replace

    clash = [
        k for k in ("format", "prompt_field", "response_field", "system_field") if given.get(k)
    ]
    if clash:
        option = "--" + clash[0].replace("_", "-")
        raise UsageError(
            f"{option} cannot be used with --registry",
            f"{registry.path} declares how each dataset is read (formatting, columns, tags)",
        )
    audited = registry.audited
    if not audited:
        skipped = "; ".join(f"{d.name}: {d.skipped}" for d in registry.datasets)
        raise UsageError(f"{registry.path}: no local dataset to read ({skipped})")
    out = []
    for dataset in audited:  # no file is in two (see langaudit.registry.read_registry)
        for src, options, settings in for_inputs(dataset.files, given, config):
            src.config = replace(src.config, shape=dataset.declared.shape)
            src.dataset = dataset.name
            out.append((src, options, settings))
    return out
