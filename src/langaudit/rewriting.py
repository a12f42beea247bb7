"""``rewrite``: the fixes the audit recommends, done without losing a row.

Two passes over one input. The first scans it (the same judgement as ``scan``) and decides,
per record: rejected (a flag in ``drop``; down-sampled; over ``max_rows``; unreadable under
``on_error="skip"``), tagged (which user turns get a language instruction or prefix, the
record's ``lang`` column or system prompt), or repeated (up-sampled). The second reads the
input again in order and writes every record to the output or the rejects file, in the input's
format, untouched records as they were (see :mod:`langaudit.rewriting_io`). Kept + rejected =
input, always; a manifest next to the output records the counts, parameters and hashes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import AuditConfig, ShareRange
from .errors import UsageError
from .judge import FLAGS
from .rewriting_plan import UNREADABLE, Edit, Planner
from .tags import LANG_COLUMN

TAGS = ("column", "prefix", "instruction", "system")
TAG_WHEN = ("always", "implicit", "mismatch")
MODES = ("down", "up")
DEFAULT_PREFIX = "[{lang}] "
#: Changes a dry run lists (the rest are counted).
MAX_CHANGES = 20


@dataclass
class RewriteResult:
    """What ``rewrite`` did (or, with ``dry_run``, would do)."""

    input: str
    output: str | None
    rejects: str | None
    manifest: str | None
    records: int = 0
    written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_records: int = 0
    added: int = 0
    tagged: Counter[str] = field(default_factory=Counter)
    zh_share_before: float | None = None
    zh_share_after: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    #: The first changes (``PATH:ROW: what``), listed by a dry run; ``more_changes`` counts on.
    changes: list[str] = field(default_factory=list)
    more_changes: int = 0

    def change(self, path: str, item: Any, what: str) -> None:
        if len(self.changes) < MAX_CHANGES:
            row = item.line if item.line is not None else item.index + 1
            self.changes.append(f"{path}:{row}: {what}")
        else:
            self.more_changes += 1

    @property
    def changed(self) -> bool:
        return bool(self.rejected_records or self.added or sum(self.tagged.values()))

    def to_dict(self) -> dict[str, Any]:
        from . import __version__

        return {
            "langaudit_version": __version__,
            "input": {
                "path": self.input,
                "records": self.records,
                "sha256": self.hashes.get("input"),
            },
            "output": {
                "path": self.output,
                "records": self.written,
                "sha256": self.hashes.get("output"),
            },
            "rejects": {
                "path": self.rejects,
                "records": self.rejected_records,
                "sha256": self.hashes.get("rejects"),
            },
            "kept": self.written - self.added,
            "added": self.added,
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "tagged": dict(sorted(self.tagged.items())),
            "zh_share": {
                "before": _round(self.zh_share_before),
                "after": _round(self.zh_share_after),
            },
            "parameters": self.parameters,
        }

    def lines(self) -> list[str]:
        """The summary ``langaudit rewrite`` prints."""
        added = f" ({self.added:,} added)" if self.added else ""
        if self.dry_run:
            out = [
                f"{self.input}: {self.records:,} records: {self.written:,} would be written"
                f"{added}, {self.rejected_records:,} rejected (dry run: nothing written)"
            ]
        else:
            out = [
                f"{self.input}: {self.records:,} records: {self.written:,} written to "
                f"{self.output}{added}, {self.rejected_records:,} rejected to {self.rejects}"
            ]
        if self.tagged:
            out.append("tagged: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.tagged.items())))
        if self.rejected:
            out.append(
                "rejected: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.rejected.items()))
            )
        if self.zh_share_before is not None:
            after = "" if self.zh_share_after is None else f" -> {self.zh_share_after:.3f}"
            out.append(f"Chinese share of responses: {self.zh_share_before:.3f}{after}")
        if self.manifest and not self.dry_run:
            out.append(f"manifest: {self.manifest}")
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def rewrite(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    tag: str | Sequence[str] = (),
    tag_when: str = "mismatch",
    drop: str | Iterable[str] = (),
    rejects: str | os.PathLike[str] | None = None,
    zh_share: float | str | ShareRange | None = None,
    mode: str = "down",
    max_rows: int | None = None,
    seed: int = 0,
    prefix: str = DEFAULT_PREFIX,
    in_place: bool = False,
    dry_run: bool = False,
    config: str | os.PathLike[str] | bool | None = None,
    protect: Sequence[str | os.PathLike[str]] = (),
    **options: Any,
) -> RewriteResult:
    """Rewrite ``input`` to ``output``; see the module docstring and the README.

    ``tag``: ``column``, ``prefix``, ``instruction``, ``system`` (several allowed), applied
    where ``tag_when`` says: ``always``, ``implicit`` (the expectation is the prompt's
    language), ``mismatch`` (implicit, and the answer is in another language: the default).
    ``drop``: flags whose records go to ``rejects``. ``zh_share``: the Chinese share of
    responses to reach, by dropping (``mode="down"``) or repeating (``"up"``) records,
    ``max_rows`` at most, ``seed`` for the choice. ``options`` are AuditConfig fields; the
    settings files apply as for ``scan`` (``config``). ``protect``: more paths (files or
    folders) that the output and the rejects may not overwrite or go into, as the input.
    """
    from . import settings as st

    tags = _tags(tag)
    if tag_when not in TAG_WHEN:
        raise UsageError(f"--tag-when must be one of {', '.join(TAG_WHEN)}, not {tag_when!r}")
    if mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    if max_rows is not None and max_rows < 0:
        raise UsageError("--max-rows must be >= 0")
    _check_prefix(prefix)
    dropped = _flags(drop)
    name = os.fspath(input)
    if name.startswith("hf:"):
        from .hub import not_rewritable

        raise not_rewritable(name)
    AuditConfig.from_options(**options)  # unknown options and bad values, before any reading
    given = {k: v for k, v in options.items() if v is not None}
    # only a share asked for here rebalances: a settings file's zh-share bounds are check's
    target = None
    if zh_share is not None:
        target = zh_share if isinstance(zh_share, ShareRange) else ShareRange.parse(str(zh_share))
    resolved = st.for_inputs([name], given, config)
    folder = os.path.isdir(name)
    splits = folder and os.path.isfile(os.path.join(name, "dataset_dict.json"))
    if len(resolved) != 1 or splits or (folder and resolved[0][0].kind != "hf"):
        raise UsageError(
            f"{name}: rewrite takes one data file or one Hugging Face split folder",
            "rewrite each file of a folder, or each split of a DatasetDict folder "
            "(NAME/train), on its own",
        )
    source = resolved[0][0]
    cfg = source.config
    compressed = Path(name).suffix.lower() in (".gz", ".gzip", ".zst", ".zstd")
    from .rewriting_io import check_writable

    check_writable(source.kind, name, compressed)
    out_path, rejects_path = _outputs(
        name,
        output,
        rejects,
        in_place,
        dry_run,
        source.kind,
        [name, *(os.fspath(p) for p in protect)],
    )
    parameters = {
        "tag": list(tags),
        "tag_when": tag_when,
        "drop": sorted(dropped),
        "zh_share": None if target is None else str(target),
        "mode": mode,
        "max_rows": max_rows,
        "seed": seed,
        "prefix": prefix,
        "in_place": in_place,
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in _judging(cfg).items()},
    }
    result = RewriteResult(name, out_path, rejects_path, None, parameters=parameters)
    result.dry_run = dry_run
    plan = Planner(tags, tag_when, dropped, prefix)
    plan.scan(source, cfg)
    result.records = plan.records
    result.zh_share_before, result.zh_share_after = plan.rebalance(target, mode, max_rows, seed)
    if dry_run:
        _write(name, cfg, plan, None, None, result)
        return result
    assert out_path is not None
    result.hashes["input"] = _sha256(name)
    if in_place:
        backup = _backup_path(name)
        shutil.copy2(name, backup)
        result.parameters["backup"] = backup
    _write(name, cfg, plan, out_path, rejects_path, result)
    result.manifest = _manifest_path(out_path)
    from .output import write_text_atomic

    result.hashes["output"] = _sha256(out_path)
    if rejects_path:
        result.hashes["rejects"] = _sha256(rejects_path)
    import json

    write_text_atomic(
        result.manifest, json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"
    )
    return result


def _check_prefix(prefix: str) -> None:
    try:
        rendered = prefix.format(lang="zh")
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(
            f"bad prefix template {prefix!r}: {exc}", 'the only field is {lang}, e.g. "[{lang}] "'
        ) from None
    if rendered == prefix:
        raise UsageError(f"the prefix template {prefix!r} has no {{lang}}", 'e.g. "[{lang}] "')


def _tags(tag: str | Sequence[str]) -> tuple[str, ...]:
    tags = [tag] if isinstance(tag, str) else list(tag)
    parts = tuple(dict.fromkeys(p.strip() for t in tags for p in t.split(",") if p.strip()))
    unknown = [t for t in parts if t not in TAGS]
    if unknown:
        raise UsageError(f"unknown tag {unknown[0]!r}", f"tags: {', '.join(TAGS)}")
    return parts


def _flags(drop: str | Iterable[str]) -> frozenset[str]:
    items = [drop] if isinstance(drop, str) else list(drop)
    flags = {p.strip() for item in items for p in item.split(",") if p.strip()}
    unknown = sorted(flags - set(FLAGS))
    if unknown:
        from .settings import did_you_mean

        raise UsageError(
            f"unknown flag {unknown[0]!r}{did_you_mean(unknown[0], FLAGS)}",
            f"flags: {', '.join(FLAGS)}",
        )
    return frozenset(flags)


def _judging(cfg: Any) -> dict[str, Any]:
    names = ("format", "prompt_field", "response_field", "system_field", "expect", "strictness")
    out = {n: getattr(cfg, n) for n in names}
    out["allow_terms"] = cfg.allow_terms
    return out


def _outputs(
    name: str,
    output: str | os.PathLike[str] | None,
    rejects: str | os.PathLike[str] | None,
    in_place: bool,
    dry_run: bool,
    kind: str,
    protect: Sequence[str],
) -> tuple[str | None, str | None]:
    from .output import derived_name, refuse_overwriting_inputs

    if in_place:
        if output is not None and os.path.abspath(output) != os.path.abspath(name):
            raise UsageError("--in-place writes the input itself: leave out -o")
        if kind == "hf":
            raise UsageError(
                "--in-place rewrites files; write a Hugging Face folder to a new one with -o"
            )
        out = name
    elif output is None:
        if not dry_run:
            raise UsageError("rewrite needs -o OUTPUT (or --in-place, or --dry-run)")
        out = None
    else:
        out = os.fspath(output)
        refuse_overwriting_inputs(out, protect)
        if kind != "hf" and Path(out).suffix.lower() != Path(name).suffix.lower():
            raise UsageError(
                f"{out}: the output keeps the input's format ({Path(name).suffix or 'no suffix'})",
                f"name it like the input, e.g. {derived_name(name, 'fixed')}",
            )
    if out is not None and not dry_run:
        _check_output(name, out, kind)
    rejects_path = os.fspath(rejects) if rejects is not None else None
    if rejects_path is None and out is not None:
        rejects_path = derived_name(out if not in_place else name, "rejects", ".jsonl")
        if in_place:  # the rejects of an earlier in-place run stay
            rejects_path = _unused(rejects_path)
    if rejects_path is not None and not dry_run:
        refuse_overwriting_inputs(rejects_path, protect, what="rejects file")
        taken = {os.path.abspath(p) for p in (out, out and _manifest_path(out)) if p}
        if os.path.abspath(rejects_path) in taken:
            raise UsageError(
                f"{rejects_path}: the rejects file would be the output or its manifest",
                "name another --rejects file",
            )
    return out, rejects_path


def _check_output(name: str, out: str, kind: str) -> None:
    """Refuse outputs that are folders where a file goes, or folders that are not datasets
    (rewriting a Hugging Face folder replaces the whole output folder), or that hold the input."""
    target = Path(out)
    if kind != "hf":
        if target.is_dir():
            raise UsageError(f"{out}: is a folder", "name the output file")
        return
    if Path(os.path.abspath(out)) in Path(os.path.abspath(name)).parents:
        raise UsageError(f"{out}: the output folder holds the input", "name a new folder")
    if target.exists() and not (target / "state.json").is_file():
        raise UsageError(
            f"{out}: exists and is not a Hugging Face dataset folder",
            "name a new folder: the output folder is replaced as a whole",
        )


def _unused(path: str) -> str:
    """``path``, or ``path`` numbered (data.rejects.1.jsonl) when it exists."""
    if not os.path.exists(path):
        return path
    stem, dot, suffix = path.rpartition(".")
    n = 1
    while os.path.exists(f"{stem}.{n}{dot}{suffix}"):
        n += 1
    return f"{stem}.{n}{dot}{suffix}"


def _backup_path(name: str) -> str:
    backup = f"{name}.bak"
    n = 1
    while os.path.exists(backup):
        backup = f"{name}.bak{n}"
        n += 1
    return backup


def _manifest_path(out: str) -> str:
    from .output import derived_name

    return derived_name(out, "manifest", ".json")


def _sha256(path: str) -> str:
    """Of a file; of a folder, of its files' names and contents (in name order)."""
    digest = hashlib.sha256()
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for f in files:
        if root.is_dir():
            digest.update(f.relative_to(root).as_posix().encode() + b"\0")
        with open(f, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _count_tags(plan: Planner, edit: Edit, result: RewriteResult) -> None:
    for tag in plan.tags:
        if (
            (tag in ("instruction", "prefix") and edit.turns)
            or (tag == "column" and edit.lang is not None)
            or (tag == "system" and edit.lang is not None and edit.system)
        ):
            result.tagged[tag] += 1


# ---------------------------------------------------------------------------------------------
# Pass 2: write


def _write(
    name: str,
    cfg: Any,
    plan: Planner,
    out: str | None,
    rejects: str | None,
    result: RewriteResult,
) -> None:
    """Pass 2: every record to ``out`` or ``rejects``; with ``out`` None (a dry run) only
    counted, and the first changes described in ``result.changes``."""
    from .engine import _read
    from .io import open_path
    from .rewriting_io import HfWriter, RecordWriter, RejectWriter, sample_of
    from .tags import tag_record

    (source,) = open_path(name)  # an in-place output replaces it only when complete
    columns = _columns(source, plan)
    writer: Any
    if out is None:
        writer = _Tally()
    elif source.kind == "hf":
        writer = HfWriter(out, name, _added_columns(plan))
    else:
        head, tail = sample_of(name)
        writer = RecordWriter(out, source.kind, head, columns, tail)
    reject_writer = RejectWriter(rejects) if rejects is not None else None
    shape = None
    ok = False
    try:
        if source.kind in ("csv", "tsv") and columns is None and out is not None:
            writer.header(_first_line(name))
        if source.kind == "parquet" and out is not None:
            writer.set_schema(_parquet_schema(name, plan))
        for item in source:
            if item.error is not None or item.index in plan.unreadable:
                why = plan.unreadable.get(item.index, str(item.error))
                _reject(reject_writer, name, item, {UNREADABLE: why}, [], result)
                continue
            if item.index in plan.rejected:
                rejected = plan.rejected[item.index]
                _reject(reject_writer, name, item, rejected["reasons"], rejected["flags"], result)
                continue
            edit = plan.edits.get(item.index)
            value, raw = item.value, item.raw
            if edit is not None and (edit.turns or edit.lang):
                shape, turns = _read(source, item, shape, cfg)
                if "column" in plan.tags and LANG_COLUMN in item.value:
                    raise UsageError(
                        f"{source.location(item)}: the record already has a {LANG_COLUMN!r} field",
                        "--tag column adds one: rename the existing field, or leave out "
                        "--tag column",
                    )
                edited = tag_record(
                    item.value,
                    turns,
                    shape.format,
                    plan.tags,
                    plan.prefix,
                    edit.turns,
                    edit.lang,
                    system=edit.system,
                    declared=shape.declared,
                )
                if edited is not value:
                    value, raw = edited, None
                    _count_tags(plan, edit, result)
                    result.change(name, item, _describe_tags(plan, edit, turns, edited))
            elif shape is None:  # the shape, as pass 1 read it, of the first readable record
                shape, _ = _read(source, item, shape, cfg)
            writer.write(value, raw)
            for _ in range(edit.copies if edit is not None else 0):
                writer.write(value, raw)
                result.added += 1
            if edit is not None and edit.copies:
                follow = "copy follows" if edit.copies == 1 else "copies follow"
                result.change(name, item, f"repeated: {edit.copies} more {follow} it")
        result.written = writer.count
        ok = True
    finally:
        writer.close(ok)
        if reject_writer is not None:
            reject_writer.close(ok)
    if out is not None and source.kind != "hf" and not result.changed:
        _copy_atomic(name, out)  # nothing changed: the input as it is, byte for byte


def _copy_atomic(source: str, target: str) -> None:
    from .output import atomic_path

    with atomic_path(target) as temp:
        shutil.copyfile(source, temp)


def _added_columns(plan: Planner) -> list[str]:
    """Top-level fields the tags add to Parquet and Hugging Face schemas."""
    added = [LANG_COLUMN] if "column" in plan.tags else []
    return [*added, "system"] if "system" in plan.tags else added


class _Tally:
    """The writer of a dry run: counts, writes nothing."""

    count = 0

    def write(self, value: Any, raw: bytes | None) -> None:
        self.count += 1

    def close(self, ok: bool = True) -> None:
        pass


def _describe_tags(plan: Planner, edit: Edit, turns: Sequence[Any], edited: Any) -> str:
    """What tagging did to a record, for the dry run's list of changes."""
    from .formats import as_text, get_path

    done = []
    for position in sorted(edit.turns):
        field = turns[position].field
        text = as_text(get_path(edited, field), field)
        if "prefix" in plan.tags:
            done.append(f"{field} starts {text[:30]!r}")
        if "instruction" in plan.tags:
            done.append(f"{field} ends {text[-40:]!r}")
    if "column" in plan.tags and edit.lang:
        done.append(f"{LANG_COLUMN} = {edit.lang!r}")
    if "system" in plan.tags and edit.lang:
        done.append("system prompt added")
    return "tagged: " + ", ".join(done)


def _first_line(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.readline()


def _columns(source: Any, plan: Planner) -> list[str] | None:
    """CSV/TSV: the columns when a ``lang`` column is added (None: write rows as they were)."""
    if source.kind not in ("csv", "tsv") or "column" not in plan.tags:
        return None
    import csv

    with open(source.name, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f, delimiter="\t" if source.kind == "tsv" else ","), [])
    return header + ([LANG_COLUMN] if LANG_COLUMN not in header else [])


def _parquet_schema(path: str, plan: Planner) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    if LANG_COLUMN in schema.names and "column" in plan.tags:
        raise UsageError(
            f"{path}: the data already has a {LANG_COLUMN!r} column",
            "--tag column adds one: rename the existing column, or leave out --tag column",
        )
    for column in _added_columns(plan):
        if column not in schema.names:
            schema = schema.append(pa.field(column, pa.string()))
    return schema


def _reject(
    writer: Any,
    name: str,
    item: Any,
    reasons: Mapping[str, str],
    flags: list[str],
    result: RewriteResult,
) -> None:
    """One record to the rejects file (none in a dry run), counted by reason."""
    result.rejected_records += 1
    result.rejected.update(reasons.keys())
    why = "; ".join(f"{k}: {v}" for k, v in reasons.items())
    result.change(name, item, f"rejected ({why})")
    if writer is not None:
        writer.write(item, flags, reasons)
