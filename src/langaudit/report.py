"""Dataset-level results: mergeable statistics over scan batches, and the audit report.

:class:`AuditStats` is updated batch by batch from the scan's Arrow record batches (vectorised,
with ``pyarrow.compute`` and NumPy) and keeps only counts, fixed-bin histograms and the few
worst examples per flag, so it is small whatever the input size. Two statistics merge exactly:
the statistics of several files, batches, processes or cluster workers, merged, equal those of
their concatenation (every count adds up; examples are ordered by a total order that does not
depend on the order of merging). :class:`Report` adds the recommendations and renders the
statistics as a dict, JSON, HTML or terminal tables.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import ShareRange
from .engine import Entries
from .fingerprints import FlaggedRecords
from .judge import FLAGS
from .output import derived_name
from .reasons import RECORD_COLUMNS, explain

#: Version of the JSON report layout (docs/audit-json.md); raised on incompatible changes.
SCHEMA_VERSION = 1
#: Ratio histograms have this many bins of equal width over [0, 1] (the last one closed).
HISTOGRAM_BINS = 20
ROLES = ("system", "prompt", "response")
HISTOGRAMS = ("prompt_han", "prompt_latin", "response_han", "response_latin")
#: Longest response and prompt excerpts kept with an example, in characters.
EXCERPT = 800
PROMPT_EXCERPT = 300
NONE = "none"  # the language of a role a record does not have


@dataclass(frozen=True)
class Example:
    """One of the worst records for a flag, with what to show of it.

    Examples are ordered by ``-severity``, then source and index: a total order, so the kept
    examples do not depend on how the statistics were split and merged.
    """

    flag: str
    source: str
    index: int
    severity: float
    turn: int | None
    reason: str
    prompt: str
    response: str
    highlights: tuple[tuple[int, int], ...]
    clipped_before: bool
    clipped_after: bool
    response_lang: str | None
    expected_lang: str | None
    expected_source: str | None

    def key(self) -> tuple[float, str, int]:
        return (-self.severity, self.source, self.index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "source": self.source,
            "index": self.index,
            "turn": self.turn,
            "severity": self.severity,
            "reason": self.reason,
            "expected_lang": self.expected_lang,
            "expected_source": self.expected_source,
            "response_lang": self.response_lang,
            "prompt": self.prompt,
            "response": self.response,
            "highlights": [list(h) for h in self.highlights],
            "clipped_before": self.clipped_before,
            "clipped_after": self.clipped_after,
        }


@dataclass
class SourceTotals:
    records: int = 0
    skipped: int = 0
    flagged: int = 0
    flags: Counter[str] = field(default_factory=Counter)
    implicit_mismatches: int = 0

    def add(self, other: SourceTotals) -> None:
        self.records += other.records
        self.skipped += other.skipped
        self.flagged += other.flagged
        self.flags.update(other.flags)
        self.implicit_mismatches += other.implicit_mismatches


class AuditStats:
    """Statistics of scanned records that add up exactly (see the module docstring)."""

    def __init__(self, examples: int = 5) -> None:
        self.examples = examples
        self.records = 0
        self.flagged = 0
        self.sources: dict[str, SourceTotals] = {}
        self.languages: dict[str, Counter[str]] = {role: Counter() for role in ROLES}
        self.variants: Counter[str] = Counter()  # response variant of Chinese responses
        self.matrix: Counter[tuple[str, str]] = Counter()  # (prompt, response) languages
        self.flags: Counter[str] = Counter()
        self.expected_sources: Counter[str] = Counter()
        self.implicit_mismatch = 0  # lang_mismatch where the expectation is the prompt's language
        self.histograms = {name: np.zeros(HISTOGRAM_BINS, np.int64) for name in HISTOGRAMS}
        self.worst: dict[str, list[Example]] = {flag: [] for flag in FLAGS}
        self.flagged_records = FlaggedRecords()  # for the differences between two reports

    # -----------------------------------------------------------------------------------------
    # Building

    def add_batch(self, batch: Any, entries: Entries | None = None) -> None:
        """Count one annotated record batch; ``entries`` (its records' turns) give the texts of
        the examples (without them examples are not kept)."""
        import pyarrow.compute as pc

        n = batch.num_rows
        if n == 0:
            return
        names = pc.unique(batch.column("source")).to_pylist()
        for name in names:
            self.sources.setdefault(name, SourceTotals())
        one_source = len(names) == 1
        self.records += n
        for role in ROLES:
            self.languages[role].update(_value_counts(batch.column(f"{role}_lang")))
        response = batch.column("response_lang")
        zh = pc.fill_null(pc.equal(response, "zh"), False)
        self.variants.update(_value_counts(pc.filter(batch.column("response_variant"), zh)))
        pairs = pc.binary_join_element_wise(
            pc.fill_null(batch.column("prompt_lang"), NONE), pc.fill_null(response, NONE), "\t"
        )
        for pair, count in _value_counts(pairs).items():
            prompt, resp = pair.split("\t")
            self.matrix[(prompt, resp)] += count
        self.expected_sources.update(_value_counts(batch.column("expected_source")))
        flags = batch.column("flags")
        flat = pc.list_flatten(flags)
        flag_counts = _value_counts(flat)
        self.flags.update(flag_counts)
        flagged_rows = np.asarray(pc.list_value_length(flags).to_numpy(zero_copy_only=False)) > 0
        self.flagged += int(flagged_rows.sum())
        self.flagged_records.add_batch(batch)
        implicit = _implicit_mismatches(batch)
        self.implicit_mismatch += len(implicit)
        if one_source:
            totals = self.sources[names[0]]
            totals.records += n
            totals.flagged += int(flagged_rows.sum())
            totals.flags.update(flag_counts)
            totals.implicit_mismatches += len(implicit)
        else:
            self._per_source(batch, flagged_rows, implicit)
        for name in HISTOGRAMS:
            role, script = name.split("_")
            letters = batch.column(f"{role}_letters").to_numpy(zero_copy_only=False)
            ratio = batch.column(f"{role}_{script}_ratio").to_numpy(zero_copy_only=False)
            has = np.nan_to_num(letters.astype(np.float64)) > 0
            bins = np.minimum((ratio[has] * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)
            self.histograms[name] += np.bincount(bins, minlength=HISTOGRAM_BINS)
        if entries is not None and self.examples > 0:
            self._examples(batch, entries, flat, pc.list_parent_indices(flags))

    def _per_source(self, batch: Any, flagged_rows: np.ndarray, implicit: np.ndarray) -> None:
        sources = batch.column("source").to_pylist()
        flags = batch.column("flags").to_pylist()
        for name, row_flags, flagged in zip(sources, flags, flagged_rows.tolist(), strict=True):
            totals = self.sources[name]
            totals.records += 1
            totals.flagged += int(flagged)
            totals.flags.update(row_flags)
        for row in implicit.tolist():
            self.sources[sources[row]].implicit_mismatches += 1

    def add_skipped(self, source: str, count: int) -> None:
        """Unreadable records of a source, skipped under ``on_error="skip"``."""
        self.sources.setdefault(source, SourceTotals()).skipped += count

    def add_source(self, source: str) -> None:
        """A source that may have no records (an empty file) still appears in the totals."""
        self.sources.setdefault(source, SourceTotals())

    def _examples(self, batch: Any, entries: Entries, flat: Any, parents: Any) -> None:
        flat_flags = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=object)
        rows_of = np.asarray(parents.to_numpy(zero_copy_only=False))
        severities = _severities(batch)
        index = batch.column("index").to_numpy(zero_copy_only=False)
        sources = np.array(batch.column("source").to_pylist(), dtype=str)
        for flag in FLAGS:
            rows = rows_of[flat_flags == flag]
            if not len(rows):
                continue
            severity = severities[flag][rows]
            # best first within the batch, in the order of Example.key
            order = np.lexsort((index[rows], sources[rows], -severity))[: self.examples]
            kept = self.worst[flag]
            for row, sev in zip(rows[order].tolist(), severity[order].tolist(), strict=True):
                candidate_key = (-float(sev), str(sources[row]), int(index[row]))
                if len(kept) >= self.examples and candidate_key >= kept[-1].key():
                    break
                kept.append(_example(flag, float(sev), batch, row, entries[row][1]))
                kept.sort(key=Example.key)
                del kept[self.examples :]

    # -----------------------------------------------------------------------------------------
    # Merging

    def merge(self, other: AuditStats) -> AuditStats:
        """Add ``other`` into this one (in place) and return it."""
        self.records += other.records
        self.flagged += other.flagged
        for name, totals in other.sources.items():
            self.sources.setdefault(name, SourceTotals()).add(totals)
        for role in ROLES:
            self.languages[role].update(other.languages[role])
        self.variants.update(other.variants)
        self.matrix.update(other.matrix)
        self.flags.update(other.flags)
        self.expected_sources.update(other.expected_sources)
        self.implicit_mismatch += other.implicit_mismatch
        for name in HISTOGRAMS:
            self.histograms[name] += other.histograms[name]
        self.flagged_records.merge(other.flagged_records)
        self.examples = max(self.examples, other.examples)
        for flag in FLAGS:
            merged = sorted([*self.worst[flag], *other.worst[flag]], key=Example.key)
            self.worst[flag] = merged[: self.examples]
        return self

    @classmethod
    def merged(cls, parts: Iterable[AuditStats]) -> AuditStats:
        """The merge of ``parts`` (keeping as many examples per flag as the largest part)."""
        total = cls(examples=0)
        for part in parts:
            total.merge(part)
        return total

    # -----------------------------------------------------------------------------------------
    # Reading

    @property
    def skipped(self) -> int:
        return sum(t.skipped for t in self.sources.values())

    def zh_share(self) -> float | None:
        """Share of the records whose response language is known that answer in Chinese."""
        known = sum(
            c for lang, c in self.languages["response"].items() if lang not in (NONE, "und")
        )
        return self.languages["response"]["zh"] / known if known else None

    def to_dict(self) -> dict[str, Any]:
        """The statistics as plain, JSON-ready data with stable keys (see docs/audit-json.md)."""
        records = self.records
        languages = sorted({lang for c in self.languages.values() for lang in c if lang != NONE})
        matrix_langs = _matrix_order(self.matrix)
        return {
            "records": records,
            "skipped": self.skipped,
            "flagged": self.flagged,
            "flagged_rate": _rate(self.flagged, records),
            "sources": [
                {
                    "source": name,
                    "records": t.records,
                    "skipped": t.skipped,
                    "flagged": t.flagged,
                    "flags": {flag: t.flags.get(flag, 0) for flag in FLAGS},
                    "implicit_mismatches": t.implicit_mismatches,
                }
                for name, t in sorted(self.sources.items())
            ],
            "flags": {
                flag: {
                    "count": self.flags.get(flag, 0),
                    "rate": _rate(self.flags.get(flag, 0), records),
                }
                for flag in FLAGS
            },
            "languages": {
                role: {
                    lang: self.languages[role][lang]
                    for lang in sorted(
                        self.languages[role], key=lambda x: (-self.languages[role][x], x)
                    )
                }
                for role in ROLES
            },
            "language_codes": languages,
            "matrix": {
                "prompt": matrix_langs[0],
                "response": matrix_langs[1],
                "counts": [
                    [self.matrix.get((p, r), 0) for r in matrix_langs[1]] for p in matrix_langs[0]
                ],
            },
            "expected_sources": {
                src: self.expected_sources.get(src, 0)
                for src in ("instruction", "translation", "config", "prompt", NONE)
            },
            "implicit_mismatches": self.implicit_mismatch,
            "zh_share": _round(self.zh_share()),
            "zh_variants": {v: self.variants.get(v, 0) for v in ("zh-Hans", "zh-Hant", NONE)},
            "histograms": {
                "bins": HISTOGRAM_BINS,
                "edges": [round(k / HISTOGRAM_BINS, 4) for k in range(HISTOGRAM_BINS + 1)],
                **{name: self.histograms[name].tolist() for name in HISTOGRAMS},
            },
            "examples": {flag: [e.to_dict() for e in self.worst[flag]] for flag in FLAGS},
            "flagged_records": self.flagged_records.to_list(),
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuditStats) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


# ---------------------------------------------------------------------------------------------
# Vectorised helpers


def _value_counts(array: Any) -> dict[str, int]:
    import pyarrow.compute as pc

    counts = pc.value_counts(pc.fill_null(array, NONE))
    return dict(
        zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    )


def _implicit_mismatches(batch: Any) -> np.ndarray:
    """Rows with an answer in another language than its user turn, which asked nothing."""
    import pyarrow.compute as pc

    turns = batch.column("turns")
    flat = pc.list_flatten(turns)
    turn_flags = flat.field("flags")
    mismatch = np.asarray(
        pc.equal(pc.list_flatten(turn_flags), "lang_mismatch").to_numpy(zero_copy_only=False)
    )
    if not mismatch.any():
        return np.zeros(0, np.int64)
    turn_ids = np.asarray(pc.list_parent_indices(turn_flags).to_numpy(zero_copy_only=False))
    turn_ids = turn_ids[mismatch]
    sources = np.asarray(flat.field("expected_source").to_numpy(zero_copy_only=False), object)
    implicit = turn_ids[sources[turn_ids] == "prompt"]
    records = np.asarray(pc.list_parent_indices(turns).to_numpy(zero_copy_only=False))[implicit]
    return np.unique(records)


def _severities(batch: Any) -> dict[str, np.ndarray]:
    """Per flag and row, how bad a finding is (higher is worse)."""
    import pyarrow.compute as pc

    n = batch.num_rows
    spans = batch.column("code_switch_spans")
    flat = pc.list_flatten(spans)
    lengths = np.asarray(
        pc.subtract(flat.field("end"), flat.field("start")).to_numpy(zero_copy_only=False)
    )
    rows = np.asarray(pc.list_parent_indices(spans).to_numpy(zero_copy_only=False))
    counts = batch.column("response_counts")
    simplified = counts.field("han_simplified_only").to_numpy(zero_copy_only=False)
    traditional = counts.field("han_traditional_only").to_numpy(zero_copy_only=False)
    score = batch.column("response_lang_score").to_numpy(zero_copy_only=False)
    return {
        "lang_mismatch": np.round(np.nan_to_num(score.astype(np.float64)), 4),
        "code_switch": np.bincount(rows, lengths, minlength=n).astype(np.float64),
        "zh_variant_mix": np.minimum(
            np.nan_to_num(simplified.astype(np.float64)),
            np.nan_to_num(traditional.astype(np.float64)),
        ),
        "punct_mismatch": np.zeros(n),
        "empty_response": np.zeros(n),
    }


# ---------------------------------------------------------------------------------------------
# Examples


def _example(flag: str, severity: float, batch: Any, row: int, turns: Sequence[Any]) -> Example:
    record = {name: batch.column(name)[row].as_py() for name in RECORD_COLUMNS}
    why = explain(flag, record, turns)
    response, shown, clipped_before, clipped_after = _excerpt(why.text, why.marks, EXCERPT)
    return Example(
        flag=flag,
        source=record["source"],
        index=record["index"],
        severity=severity,
        turn=why.turn,
        reason=why.reason,
        prompt=_clip(why.prompt, PROMPT_EXCERPT),
        response=response,
        highlights=tuple(shown),
        clipped_before=clipped_before,
        clipped_after=clipped_after,
        response_lang=why.lang,
        expected_lang=why.expected_lang,
        expected_source=why.expected_source,
    )


def _excerpt(
    text: str, marks: Sequence[tuple[int, int]], size: int
) -> tuple[str, list[tuple[int, int]], bool, bool]:
    """At most ``size`` characters of ``text`` around its first highlight, with the highlights
    inside made relative to the excerpt."""
    if len(text) <= size:
        return text, list(marks), False, False
    first = marks[0][0] if marks else 0
    start = max(0, min(first - size // 4, len(text) - size))
    end = start + size
    shown = [
        (max(a, start) - start, min(b, end) - start) for a, b in marks if a < end and b > start
    ]
    return text[start:end], shown, start > 0, end < len(text)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Report


def _rate(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _matrix_order(matrix: Counter[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Prompt and response languages, most frequent first (``none`` last)."""
    prompts: Counter[str] = Counter()
    responses: Counter[str] = Counter()
    for (p, r), count in matrix.items():
        prompts[p] += count
        responses[r] += count

    def order(c: Counter[str]) -> list[str]:
        return sorted(c, key=lambda x: (x == NONE, -c[x], x))

    return order(prompts), order(responses)


@dataclass
class Recommendation:
    """A fix the findings call for, with the ``langaudit rewrite`` command that applies it."""

    id: str
    title: str
    detail: str
    count: int
    commands: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "detail": self.detail,
            "count": self.count,
            "commands": self.commands,
        }


class Report:
    """The result of an audit: statistics, recommendations, and the per-record table.

    ``summary`` is the JSON-ready dict (``to_json`` writes it), ``to_html`` renders the
    self-contained HTML page, ``table`` is the scan's per-record Arrow table (None when the
    audit was run with ``keep_table=False``, as the CLI does).
    """

    def __init__(
        self,
        stats: AuditStats,
        inputs: Sequence[str] = (),
        options: dict[str, Any] | None = None,
        table: Any = None,
        zh_target: ShareRange | None = None,
    ) -> None:
        self.stats = stats
        self.inputs = list(inputs)
        self.options = {k: v for k, v in (options or {}).items() if v not in (None, (), "default")}
        self.table = table
        self.zh_target = zh_target
        #: The settings files (pyproject.toml / langaudit.toml) the audit's inputs were read with.
        self.config_files: list[str] = []
        #: The LLaMA-Factory registry the inputs were declared in (langaudit.registry.Registry),
        #: and the dataset of each source; None and empty without one.
        self.registry: Any = None
        self.datasets: dict[str, str] = {}
        #: The report this one is compared with (a langaudit.diff.Baseline), or None.
        self.baseline: Any = None

    @property
    def recommendations(self) -> list[Recommendation]:
        registered = {}
        if self.registry is not None:
            registered = _registered(self.registry, self.datasets)
        return recommend(self.stats, self.inputs, self.options, self.zh_target, registered)

    @property
    def summary(self) -> dict[str, Any]:
        from . import __version__

        summary: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "langaudit_version": __version__,
            "inputs": self.inputs,
            "config_files": self.config_files,
            "options": {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options.items()
            },
            **self._stats(),
            "recommendations": [r.to_dict() for r in self.recommendations],
        }
        if self.baseline is not None:
            summary["baseline"] = self.baseline.compare(summary, self.zh_target)
        else:
            summary["baseline"] = None
        return summary

    def _stats(self) -> dict[str, Any]:
        """The statistics, each source with its dataset, and the registry's datasets with
        their totals (see docs/audit-json.md)."""
        stats = self.stats.to_dict()
        for src in stats["sources"]:
            src["dataset"] = self.datasets.get(src["source"])
        registry = None
        if self.registry is not None:
            datasets = []
            for dataset in self.registry.datasets:
                totals = SourceTotals()
                for name, t in self.stats.sources.items():
                    if self.datasets.get(name) == dataset.name:
                        totals.add(t)
                datasets.append(
                    {
                        **dataset.to_dict(),
                        "records": totals.records,
                        "skipped_records": totals.skipped,
                        "flagged": totals.flagged,
                        "flagged_rate": _rate(totals.flagged, totals.records),
                        "flags": {flag: totals.flags.get(flag, 0) for flag in FLAGS},
                    }
                )
            registry = {"path": self.registry.path, "datasets": datasets}
        position = list(stats).index("sources") + 1
        items = list(stats.items())
        return dict([*items[:position], ("registry", registry), *items[position:]])

    def to_json(self, path: str | Path | None = None, indent: int | None = 2) -> str:
        """The report as JSON (written atomically to ``path`` when given)."""
        text = json_text(self.summary, indent) + "\n"
        if path is not None:
            from .output import write_text_atomic

            write_text_atomic(path, text)
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """The report as one self-contained HTML page (written atomically to ``path``)."""
        from .report_html import render_html

        text = render_html(self.summary)
        if path is not None:
            from .output import write_text_atomic

            write_text_atomic(path, text)
        return text

    def print(self, console: Any = None, width: int = 100) -> None:
        """The report as terminal tables (on ``console``, a ``rich`` Console)."""
        from .report_text import print_report

        print_report(self.summary, console, width)


def json_text(summary: dict[str, Any], indent: int | None = 2) -> str:
    """``summary`` as JSON; indented, but each row of ``flagged_records`` on one line (there
    may be millions: one number or string per line would triple the size and the time)."""
    groups = summary.get("flagged_records") or []
    if indent is None or not groups:
        return json.dumps(summary, ensure_ascii=False, indent=indent)
    import uuid

    import orjson

    token = uuid.uuid4().hex
    slots = [{**g, "records": f"{token}-{k}"} for k, g in enumerate(groups)]
    text = json.dumps({**summary, "flagged_records": slots}, ensure_ascii=False, indent=indent)
    pad = "\n" + " " * (4 * indent)

    def rows(match: re.Match[str]) -> str:
        # rows are [index, "fingerprint", [flags]]: "]],[" is only ever between two rows
        group = groups[int(match.group(1))]
        text = orjson.dumps(group["records"]).decode()[1:-1].replace("]],[", "]]," + pad + "[")
        return f"[{pad}{text}\n{' ' * (3 * indent)}]" if text else "[]"

    return re.sub(f'"{token}-([0-9]+)"', rows, text)


# ---------------------------------------------------------------------------------------------
# Recommendations

#: Without a target, a Chinese share below the first or above the second bound is lopsided for
#: a bilingual model, and the recommendation rebalances to the nearer of these targets.
LOPSIDED = (0.2, 0.8)
REBALANCE_TO = (0.3, 0.7)


def recommend(
    stats: AuditStats,
    inputs: Sequence[str],
    options: dict[str, Any],
    zh_target: ShareRange | None = None,
    registered: dict[str, tuple[str, str, str]] | None = None,
) -> list[Recommendation]:
    """The fixes the findings call for, most important first, each with the command for every
    file it concerns (``registered``: the sources of a registry's datasets, which ``rewrite
    --registry`` reads as declared; see :func:`_registered`)."""
    flags = stats.flags
    out: list[Recommendation] = []

    def commands(count: Callable[[SourceTotals], int], *args: str) -> list[str]:
        files = [name for name, t in stats.sources.items() if count(t)]
        targets = _targets(files, inputs, registered or {})
        return _rewrite_commands(targets, options, list(args), registered)

    implicit = stats.implicit_mismatch
    explicit = max(flags["lang_mismatch"] - implicit, 0)
    if implicit:
        out.append(
            Recommendation(
                "tag_mismatches",
                f"Add a language instruction to {_n(implicit, 'prompt')}",
                f"{_n(implicit, 'record')} {_verb(implicit, 'answers', 'answer')} in another "
                "language than the prompt without being asked to; a model trained on them "
                "learns to switch languages at random. An explicit instruction (请用中文回答。/ "
                "Please answer in English.) makes the switch intended.",
                implicit,
                commands(
                    lambda t: t.implicit_mismatches,
                    "--tag",
                    "instruction",
                    "--tag-when",
                    "mismatch",
                ),
            )
        )
    if explicit:
        out.append(
            Recommendation(
                "drop_mismatches",
                f"Quarantine {_n(explicit, 'answer')} that "
                f"{_verb(explicit, 'ignores', 'ignore')} the requested language",
                f"{_n(explicit, 'record')} {_verb(explicit, 'answers', 'answer')} in another "
                "language than an instruction, a translation request or --expect asks for: "
                "they teach the model to ignore language instructions.",
                explicit,
                commands(
                    lambda t: t.flags["lang_mismatch"] - t.implicit_mismatches,
                    "--drop",
                    "lang_mismatch",
                ),
            )
        )
    for flag, title, detail in _FLAG_ADVICE:
        n = flags[flag]
        if n:
            count = _flag_count(flag)
            out.append(
                Recommendation(
                    f"drop_{flag}", title(n), detail(n), n, commands(count, "--drop", flag)
                )
            )
    share = stats.zh_share()
    if share is not None:
        if zh_target is not None:
            target = zh_target.fix(share)
        elif 0 < share < LOPSIDED[0]:
            target = REBALANCE_TO[0]
        elif LOPSIDED[1] < share < 1:
            target = REBALANCE_TO[1]
        else:
            target = None
        if target is not None and abs(share - target) > ShareRange.TOLERANCE:
            mode = "up"  # up-sample the side below the target: every record is kept
            asked = "" if zh_target is None else _asked(zh_target)
            out.append(
                Recommendation(
                    "rebalance",
                    f"Rebalance Chinese responses from {share:.0%} to {target:.0%}",
                    f"{share:.1%} of the responses with a known language are in Chinese. "
                    + (
                        asked
                        or "A model fine-tuned on a lopsided mix defaults to the majority "
                        "language; up-sampling the minority keeps every record."
                    ),
                    stats.records,
                    commands(
                        lambda t: t.records,
                        "--zh-share",
                        f"{target:g}",
                        "--mode",
                        mode,
                        "--seed",
                        "0",
                    ),
                )
            )
    return out


_FLAG_ADVICE: tuple[tuple[str, Callable[[int], str], Callable[[int], str]], ...] = (
    (
        "code_switch",
        lambda n: f"Quarantine {_n(n, 'code-switched response')}",
        lambda n: (
            f"{_n(n, 'response')} {_verb(n, 'mixes', 'mix')} English words or sentences "
            "into Chinese (or Chinese into English) where nothing asked for it: the usual cause of "
            "a model that answers in mixed Chinese and English."
        ),
    ),
    (
        "empty_response",
        lambda n: f"Drop {_n(n, 'record')} without an answer",
        lambda n: f"{_n(n, 'record')} {_verb(n, 'has', 'have')} an empty response or none.",
    ),
    (
        "zh_variant_mix",
        lambda n: f"Quarantine {_n(n, 'response')} mixing Simplified and Traditional characters",
        lambda n: (
            f"{_n(n, 'response')} {_verb(n, 'mixes', 'mix')} Simplified-only and "
            "Traditional-only characters; convert them to one script (e.g. with OpenCC) or set "
            "them aside."
        ),
    ),
    (
        "punct_mismatch",
        lambda n: f"Review {_n(n, 'response')} with punctuation of the wrong width",
        lambda n: (
            f"{_n(n, 'response')} {_verb(n, 'uses', 'use')} ASCII punctuation in Chinese "
            "sentences or full-width punctuation in English ones; minor, but a model copies it."
        ),
    ),
)


def _asked(share: ShareRange) -> str:
    if share.target is not None:
        return f"You asked for {share.target:.0%}."
    return f"You asked for {share.low:.0%} to {share.high:.0%}."


def _flag_count(flag: str) -> Callable[[SourceTotals], int]:
    return lambda totals: totals.flags[flag]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{_s(count)}"


def _verb(count: int, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


def _s(n: int) -> str:
    return "" if n == 1 else "s"


_CARRIED = ("format", "prompt_field", "response_field", "system_field", "expect", "strictness")


def _targets(
    files: Sequence[str], inputs: Sequence[str], registered: Mapping[str, Any] = {}
) -> list[str]:
    """What ``rewrite`` takes for these sources: the file itself (or its registry dataset), or
    for a split of a Hugging Face folder the folder given as input; ``INPUT`` for data that is
    not in files (records in memory, a Ray dataset)."""
    out: list[str] = []
    for name in files:
        target: str | None = name
        if name not in registered and not Path(name).is_file():
            target = next((i for i in inputs if name.startswith(i.rstrip("/") + "/")), None)
        if target is not None and target not in out:
            out.append(target)
    return out or ["INPUT"]


def _registered(registry: Any, datasets: dict[str, str]) -> dict[str, tuple[str, str, str]]:
    """For each file of a registry's dataset: the registry, what ``rewrite --registry`` takes
    for it (the dataset's name; the file, for a folder), and where its outputs are named from:
    beside the file, or beside the folder, which training reads whole (``data/parts/a.jsonl``:
    ``data/parts.a.fixed.jsonl``)."""
    out = {}
    by_name = {d.name: d for d in registry.audited}
    for src, name in datasets.items():
        dataset = by_name[name]
        if len(dataset.files) == 1 and dataset.path == dataset.files[0]:
            out[src] = (registry.path, name, src)
        else:
            folder = str(dataset.path).rstrip("/")
            out[src] = (registry.path, src, f"{folder}.{Path(src).name}")
    return out


def _rewrite_commands(
    targets: Sequence[str],
    options: dict[str, Any],
    args: list[str],
    registered: dict[str, tuple[str, str, str]] | None = None,
) -> list[str]:
    """``langaudit rewrite`` for each target, judging as the audit did (same options); a
    registry dataset's file by the registry and what it takes (see :func:`_registered`)."""
    carried: list[str] = []
    for name in _CARRIED:
        value = options.get(name)
        if value not in (None, "default"):
            carried += [f"--{name.replace('_', '-')}", str(value)]
    if options.get("allow_terms_file"):
        carried += ["--allow-terms", str(options["allow_terms_file"])]
    out = []
    for path in targets:
        where, base = [path], path
        if registered and path in registered:
            registry, what, base = registered[path]
            where = ["--registry", registry, what]
        rejects = ["--rejects", derived_name(base, "rejects", ".jsonl")] if "--drop" in args else []
        output = derived_name(base, "fixed")
        out.append(
            shlex.join(["langaudit", "rewrite", *where, "-o", output, *args, *rejects, *carried])
        )
    return out
