"""The scanning engine: sources -> batches of records -> one annotated Arrow row per record.

Records are gathered into batches; the texts of a batch are measured in one vectorised pass, the
language model runs once over the texts the scripts leave open, and the results are assembled
column by column into an Arrow record batch with the schema of :func:`result_schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from . import judge as jd
from . import scripts as sc
from .config import AuditConfig
from .errors import InputError
from .formats import FieldError, Shape, Turn, detect_shape
from .io import Item, Source
from .langid import UNDETERMINED, Language, identify

#: Record-level roles and the turn roles whose text they aggregate.
ROLE_GROUPS = {"system": "system", "prompt": "user", "response": "assistant"}
_MEASURED = frozenset({"system", "user", "context", "assistant", "reasoning"})
_ALPHA = (sc.LATIN, sc.CYRILLIC, sc.OTHER_LETTER)
_CJK = (sc.HAN, sc.HAN_SIMPLIFIED, sc.HAN_TRADITIONAL, sc.KANA, sc.HANGUL)


@lru_cache(maxsize=1)
def result_schema() -> Any:
    """The Arrow schema of scan results: the stable output contract (see docs/scan-output.md)."""
    import pyarrow as pa

    counts = pa.struct([(name, pa.int64()) for name in sc.COUNT_FIELDS])
    span = pa.struct(
        [
            ("turn", pa.int32()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("text", pa.string()),
            ("lang", pa.string()),
        ]
    )
    turn = pa.struct(
        [
            ("turn", pa.int32()),
            ("role", pa.string()),
            ("field", pa.string()),
            ("lang", pa.string()),
            ("lang_score", pa.float64()),
            ("variant", pa.string()),
            ("letters", pa.int64()),
            ("han_ratio", pa.float64()),
            ("latin_ratio", pa.float64()),
            ("expected_lang", pa.string()),
            ("expected_source", pa.string()),
            ("flags", pa.list_(pa.string())),
        ]
    )
    columns: list[tuple[str, Any]] = [
        ("source", pa.string()),
        ("index", pa.int64()),
        ("format", pa.string()),
        ("n_turns", pa.int32()),
    ]
    for role in ROLE_GROUPS:
        columns += [
            (f"{role}_lang", pa.string()),
            (f"{role}_lang_score", pa.float64()),
            (f"{role}_variant", pa.string()),
        ]
    columns += [
        ("expected_lang", pa.string()),
        ("expected_source", pa.string()),
        ("flags", pa.list_(pa.string())),
        ("code_switch_spans", pa.list_(span)),
    ]
    for role in ROLE_GROUPS:
        columns.append((f"{role}_letters", pa.int64()))
        columns += [(f"{role}_{s}_ratio", pa.float64()) for s in sc.RATIO_FIELDS]
        columns.append((f"{role}_counts", counts))
    columns.append(("turns", pa.list_(turn)))
    return pa.schema(columns)


@dataclass
class ScanLog:
    """What a scan saw: records per source and, under ``on_error="skip"``, the skipped ones."""

    records: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    skipped_by_source: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    sink: Callable[[Item, InputError], None] | None = None

    def skip(self, source: str, item: Item, error: InputError) -> None:
        self.skipped += 1
        self.skipped_by_source[source] = self.skipped_by_source.get(source, 0) + 1
        if len(self.first_errors) < 20:
            self.first_errors.append(str(error).split("\n")[0])
        if self.sink is not None:
            self.sink(item, error)


def scan_source(source: Source, config: AuditConfig, log: ScanLog | None = None) -> Iterator[Any]:
    """Annotated Arrow record batches for one source, in record order."""
    log = log if log is not None else ScanLog()
    log.records.setdefault(source.name, 0)
    shape: Shape | None = None
    pending: list[tuple[int, list[Turn]]] = []
    chars = 0
    for item in source:
        try:
            if item.error is not None:
                raise item.error
            shape, turns = _read(source, item, shape, config)
        except InputError as error:
            if config.on_error == "raise":
                raise
            log.skip(source.name, item, error)
            continue
        pending.append((item.index, turns))
        chars += sum(len(t.text) for t in turns)
        if len(pending) >= config.batch_records or chars >= config.batch_chars:
            log.records[source.name] += len(pending)
            yield annotate(source.name, shape.format, pending)
            pending, chars = [], 0
    if pending and shape is not None:
        log.records[source.name] += len(pending)
        yield annotate(source.name, shape.format, pending)


def _read(
    source: Source, item: Item, shape: Shape | None, config: AuditConfig
) -> tuple[Shape, list[Turn]]:
    """The record's turns, and the source's shape (detected from its first good record)."""
    try:
        if shape is None:
            shape = detect_shape(
                item.value,
                config.format,
                config.prompt_field,
                config.response_field,
                config.system_field,
            )
        return shape, shape.turns(item.value)
    except FieldError as exc:
        raise InputError(
            source.location(item), exc.problem, field=exc.field, hint=exc.hint, raw=item.raw
        ) from None


def annotate(source: str, fmt: str, entries: Sequence[tuple[int, list[Turn]]]) -> Any:
    """One annotated Arrow record batch for ``(index, turns)`` entries of one source."""
    import pyarrow as pa

    batch = _Batch(entries)
    columns: dict[str, Any] = {
        "source": pa.array([source] * len(entries), pa.string()),
        "index": pa.array([index for index, _ in entries], pa.int64()),
        "format": pa.array([fmt] * len(entries), pa.string()),
        "n_turns": pa.array(np.diff(batch.offsets), pa.int32()),
    }
    views = [batch.view(r) for r in range(len(entries))]
    verdicts = [jd.judge(facts) for facts, _ in views]
    for role, turn_role in ROLE_GROUPS.items():
        langs = [batch.role_language(by_role.get(turn_role)) for _, by_role in views]
        columns[f"{role}_lang"] = [lang.lang if lang else None for lang in langs]
        columns[f"{role}_lang_score"] = [round(lang.score, 4) if lang else None for lang in langs]
        columns[f"{role}_variant"] = [lang.variant if lang else None for lang in langs]
    columns["expected_lang"] = [v.expected_lang for v in verdicts]
    columns["expected_source"] = [v.expected_source for v in verdicts]
    columns["flags"] = [v.flags for v in verdicts]
    columns["code_switch_spans"] = [v.code_switch_spans for v in verdicts]
    for role, turn_role in ROLE_GROUPS.items():
        columns.update(_script_columns(role, batch.role_counts(turn_role)))
    columns["turns"] = batch.turns_column(verdicts)
    schema = result_schema()
    arrays = [
        c if isinstance(c := columns[f.name], pa.Array) else pa.array(c, type=f.type)
        for f in schema
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _script_columns(role: str, matrix: np.ndarray) -> dict[str, Any]:
    import pyarrow as pa

    letters = matrix[:, list(sc.LETTER_CLASSES)].sum(axis=1)
    columns: dict[str, Any] = {f"{role}_letters": pa.array(letters, pa.int64())}
    for script in sc.RATIO_FIELDS:
        part = matrix[:, list(sc.COUNT_FIELDS[script])].sum(axis=1)
        ratio = np.divide(part, letters, out=np.zeros(len(letters)), where=letters > 0)
        columns[f"{role}_{script}_ratio"] = pa.array(np.round(ratio, 4), pa.float64())
    columns[f"{role}_counts"] = pa.StructArray.from_arrays(
        [pa.array(matrix[:, ids].sum(axis=1), pa.int64()) for ids in sc.COUNT_FIELDS.values()],
        names=list(sc.COUNT_FIELDS),
    )
    return columns


class _Batch:
    """The turns of a batch of records, flattened, measured and identified in one pass."""

    def __init__(self, entries: Sequence[tuple[int, list[Turn]]]) -> None:
        self.turns = [turn for _, turns in entries for turn in turns]
        self.offsets = np.cumsum([0, *(len(turns) for _, turns in entries)])
        self.record_of = np.repeat(np.arange(len(entries)), np.diff(self.offsets))
        self.text_of = np.full(len(self.turns), -1, dtype=np.int64)
        measured_turns = [i for i, t in enumerate(self.turns) if t.role in _MEASURED]
        self.text_of[measured_turns] = np.arange(len(measured_turns))
        self.measured_turns = np.array(measured_turns, dtype=np.int64)
        texts = [self.turns[i].text for i in measured_turns]
        self.measured = sc.measure(texts)
        self.languages = identify(texts, self.measured)
        counts = self.measured.counts
        self.cjk = counts[:, _CJK].sum(axis=1)
        self.alpha = counts[:, _ALPHA].sum(axis=1)
        self.letters = self.cjk + self.alpha
        self.han = counts[:, (sc.HAN, sc.HAN_SIMPLIFIED, sc.HAN_TRADITIONAL)].sum(axis=1)

    def view(self, r: int) -> tuple[list[jd.TurnFacts], dict[str, list[int]]]:
        """Record ``r``'s turns as judging facts, and its text ids grouped by role."""
        facts = []
        by_role: dict[str, list[int]] = {}
        for i in range(self.offsets[r], self.offsets[r + 1]):
            turn, tid = self.turns[i], int(self.text_of[i])
            if tid < 0:
                facts.append(jd.TurnFacts(turn.role, turn.text, None))
                continue
            facts.append(
                jd.TurnFacts(
                    turn.role,
                    turn.text,
                    self.languages[tid],
                    int(self.cjk[tid]),
                    int(self.alpha[tid]),
                )
            )
            by_role.setdefault(turn.role, []).append(tid)
        return facts, by_role

    def role_counts(self, turn_role: str) -> np.ndarray:
        """(records x classes) counts summed over each record's turns of one role."""
        n = len(self.offsets) - 1
        matrix = np.zeros((n, sc.N_CLASSES), dtype=np.int64)
        rows = [i for i in self.measured_turns.tolist() if self.turns[i].role == turn_role]
        if rows:
            np.add.at(matrix, self.record_of[rows], self.measured.counts[self.text_of[rows]])
        return matrix

    def role_language(self, ids: list[int] | None) -> Language | None:
        """Language of texts of one role together: the one carrying most letters."""
        if not ids:
            return None
        if len(ids) == 1:
            return self.languages[ids[0]]
        weight: dict[str, float] = {}
        score: dict[str, float] = {}
        for i in ids:
            lang = self.languages[i]
            if lang.lang != UNDETERMINED:
                w = float(self.letters[i])
                weight[lang.lang] = weight.get(lang.lang, 0.0) + w
                score[lang.lang] = score.get(lang.lang, 0.0) + w * lang.score
        if not weight:
            return Language(UNDETERMINED, 0.0)
        best = max(weight, key=weight.__getitem__)
        variant = None
        if best == "zh":
            simplified = int(self.measured.counts[ids, sc.HAN_SIMPLIFIED].sum())
            traditional = int(self.measured.counts[ids, sc.HAN_TRADITIONAL].sum())
            if simplified or traditional:
                variant = "zh-Hant" if traditional > simplified else "zh-Hans"
        total = sum(weight.values())
        return Language(best, score[best] / total if total else 0.0, variant)

    def turns_column(self, verdicts: Sequence[jd.RecordVerdict]) -> Any:
        """The ``turns`` list<struct> column, built from flat per-turn arrays."""
        import pyarrow as pa

        turn_verdicts = [tv for v in verdicts for tv in v.turns]
        tid = self.text_of
        has = tid >= 0
        safe = np.where(has, tid, 0)
        langs = self.languages
        letters = self.letters[safe] if len(langs) else np.zeros(len(tid), np.int64)
        han = self.han[safe] if len(langs) else letters
        latin = self.measured.counts[safe, sc.LATIN] if len(langs) else letters
        scores = np.array([langs[t].score if t >= 0 else 0.0 for t in tid.tolist()])
        mask = ~has

        def ratio(part: np.ndarray) -> Any:
            value = np.divide(part, letters, out=np.zeros(len(tid)), where=letters > 0)
            return pa.array(np.round(value, 4), pa.float64(), mask=mask)

        fields = result_schema().field("turns").type.value_type
        arrays = [
            pa.array(np.arange(len(tid)) - self.offsets[self.record_of], pa.int32()),
            pa.array([t.role for t in self.turns], pa.string()),
            pa.array([t.field for t in self.turns], pa.string()),
            pa.array([langs[t].lang if t >= 0 else None for t in tid.tolist()], pa.string()),
            pa.array(np.round(scores, 4), pa.float64(), mask=mask),
            pa.array([langs[t].variant if t >= 0 else None for t in tid.tolist()], pa.string()),
            pa.array(letters, pa.int64(), mask=mask),
            ratio(han),
            ratio(latin),
            pa.array([tv.expected_lang for tv in turn_verdicts], pa.string()),
            pa.array([tv.expected_source for tv in turn_verdicts], pa.string()),
            pa.array([tv.flags for tv in turn_verdicts], pa.list_(pa.string())),
        ]
        structs = pa.StructArray.from_arrays(arrays, fields=list(fields))
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), structs)
