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
_MEASURED = frozenset({"system", "user", "assistant", "reasoning"})
_ALPHA = (sc.LATIN, sc.CYRILLIC, sc.OTHER_LETTER)
_CJK = (sc.HAN, sc.HAN_SIMPLIFIED, sc.HAN_TRADITIONAL, sc.KANA, sc.HANGUL)


@lru_cache(maxsize=1)
def result_schema() -> Any:
    """The Arrow schema of scan results: the stable output contract (see docs/scan-output.md)."""
    import pyarrow as pa

    counts = pa.struct([(name, pa.int64()) for name in sc.COUNT_FIELDS])
    span = pa.struct([("turn", pa.int32()), ("start", pa.int64()), ("end", pa.int64()),
                      ("text", pa.string()), ("lang", pa.string())])
    turn = pa.struct([
        ("turn", pa.int32()), ("role", pa.string()), ("field", pa.string()),
        ("lang", pa.string()), ("lang_score", pa.float64()), ("variant", pa.string()),
        ("letters", pa.int64()), ("han_ratio", pa.float64()), ("latin_ratio", pa.float64()),
        ("expected_lang", pa.string()), ("expected_source", pa.string()),
        ("flags", pa.list_(pa.string())),
    ])
    columns: list[tuple[str, Any]] = [
        ("source", pa.string()), ("index", pa.int64()), ("format", pa.string()),
        ("n_turns", pa.int32()),
    ]
    for role in ROLE_GROUPS:
        columns += [(f"{role}_lang", pa.string()), (f"{role}_lang_score", pa.float64()),
                    (f"{role}_variant", pa.string())]
    columns += [
        ("expected_lang", pa.string()), ("expected_source", pa.string()),
        ("flags", pa.list_(pa.string())), ("code_switch_spans", pa.list_(span)),
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
    first_errors: list[str] = field(default_factory=list)
    sink: Callable[[Item, InputError], None] | None = None

    def skip(self, item: Item, error: InputError) -> None:
        self.skipped += 1
        if len(self.first_errors) < 20:
            self.first_errors.append(str(error).split("\n")[0])
        if self.sink is not None:
            self.sink(item, error)


def scan_source(
    source: Source, config: AuditConfig, log: ScanLog | None = None
) -> Iterator[Any]:
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
            if shape is None:
                shape = _shape_for(source, item, config)
            turns = _turns(source, item, shape)
        except InputError as error:
            if config.on_error == "raise":
                raise
            log.skip(item, error)
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


def _shape_for(source: Source, item: Item, config: AuditConfig) -> Shape:
    try:
        return detect_shape(item.value, config.format, config.prompt_field,
                            config.response_field, config.system_field)
    except FieldError as exc:
        raise InputError(source.location(item), exc.problem, field=exc.field, hint=exc.hint,
                         raw=item.raw) from None


def _turns(source: Source, item: Item, shape: Shape) -> list[Turn]:
    try:
        return shape.turns(item.value)
    except FieldError as exc:
        raise InputError(source.location(item), exc.problem, field=exc.field, hint=exc.hint,
                         raw=item.raw) from None


def annotate(source: str, fmt: str, entries: Sequence[tuple[int, list[Turn]]]) -> Any:
    """One annotated Arrow record batch for ``(index, turns)`` entries of one source."""
    import pyarrow as pa

    texts: list[str] = []
    owner: list[tuple[int, int]] = []
    for r, (_, turns) in enumerate(entries):
        for t, turn in enumerate(turns):
            if turn.role in _MEASURED:
                texts.append(turn.text)
                owner.append((r, t))
    measured = sc.measure(texts)
    languages = identify(texts, measured)
    n = len(entries)
    per_turn: list[dict[int, int]] = [{} for _ in range(n)]  # turn position -> text id
    for text_id, (r, t) in enumerate(owner):
        per_turn[r][t] = text_id
    role_counts = _role_counts(entries, owner, measured.counts)
    columns: dict[str, Any] = {
        "source": [source] * n,
        "index": [index for index, _ in entries],
        "format": [fmt] * n,
        "n_turns": [len(turns) for _, turns in entries],
    }
    builder = _RowBuilder(measured.counts, languages)
    rows = [builder.record(turns, per_turn[r]) for r, (_, turns) in enumerate(entries)]
    for key in rows[0] if rows else ():
        columns[key] = [row[key] for row in rows]
    for role, matrix in role_counts.items():
        ratios = _ratios(matrix)
        letters = ratios.pop("letters")
        columns[f"{role}_letters"] = letters
        for script, values in ratios.items():
            columns[f"{role}_{script}_ratio"] = values
        columns[f"{role}_counts"] = pa.StructArray.from_arrays(
            [pa.array(matrix[:, ids].sum(axis=1)) for ids in sc.COUNT_FIELDS.values()],
            names=list(sc.COUNT_FIELDS),
        )
    schema = result_schema()
    arrays = [columns[f.name] if isinstance(columns.get(f.name), pa.Array)
              else pa.array(columns.get(f.name, [None] * n), type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _role_counts(
    entries: Sequence[tuple[int, list[Turn]]], owner: list[tuple[int, int]], counts: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(entries)
    out = {}
    for role, turn_role in ROLE_GROUPS.items():
        rows = [i for i, (r, t) in enumerate(owner) if entries[r][1][t].role == turn_role]
        matrix = np.zeros((n, sc.N_CLASSES), dtype=np.int64)
        if rows:
            np.add.at(matrix, [owner[i][0] for i in rows], counts[rows])
        out[role] = matrix
    return out


def _ratios(matrix: np.ndarray) -> dict[str, np.ndarray]:
    letters = matrix[:, list(sc.LETTER_CLASSES)].sum(axis=1)
    out: dict[str, np.ndarray] = {"letters": letters}
    for script in sc.RATIO_FIELDS:
        part = matrix[:, list(sc.COUNT_FIELDS[script])].sum(axis=1)
        out[script] = np.round(
            np.divide(part, letters, out=np.zeros(len(letters)), where=letters > 0), 4
        )
    return out


class _RowBuilder:
    """Per-record columns that need the turns: languages per role, judgement, turn details."""

    def __init__(self, counts: np.ndarray, languages: list[Language]) -> None:
        self.counts = counts
        self.languages = languages
        self.cjk = counts[:, _CJK].sum(axis=1)
        self.alpha = counts[:, _ALPHA].sum(axis=1)
        self.letters = self.cjk + self.alpha
        self.han = counts[:, (sc.HAN, sc.HAN_SIMPLIFIED, sc.HAN_TRADITIONAL)].sum(axis=1)
        self.latin = counts[:, sc.LATIN]

    def record(self, turns: list[Turn], text_ids: dict[int, int]) -> dict[str, Any]:
        facts = [self._facts(turn, text_ids.get(t)) for t, turn in enumerate(turns)]
        verdict = jd.judge(facts)
        row: dict[str, Any] = {}
        for role, turn_role in ROLE_GROUPS.items():
            lang = self._role_language([text_ids[t] for t, turn in enumerate(turns)
                                        if turn.role == turn_role and t in text_ids])
            row[f"{role}_lang"] = lang.lang if lang else None
            row[f"{role}_lang_score"] = round(lang.score, 4) if lang else None
            row[f"{role}_variant"] = lang.variant if lang else None
        row["expected_lang"] = verdict.expected_lang
        row["expected_source"] = verdict.expected_source
        row["flags"] = verdict.flags
        row["code_switch_spans"] = verdict.code_switch_spans
        row["turns"] = [self._turn_row(t, turn, text_ids.get(t), verdict.turns[t])
                        for t, turn in enumerate(turns)]
        return row

    def _facts(self, turn: Turn, text_id: int | None) -> jd.TurnFacts:
        if text_id is None:
            return jd.TurnFacts(turn.role, turn.text, None)
        return jd.TurnFacts(turn.role, turn.text, self.languages[text_id],
                            int(self.cjk[text_id]), int(self.alpha[text_id]))

    def _role_language(self, text_ids: list[int]) -> Language | None:
        """Language of a role's turns together: the one carrying most letters."""
        if not text_ids:
            return None
        weight: dict[str, float] = {}
        score: dict[str, float] = {}
        for i in text_ids:
            lang = self.languages[i]
            if lang.lang == UNDETERMINED:
                continue
            w = float(self.letters[i])
            weight[lang.lang] = weight.get(lang.lang, 0.0) + w
            score[lang.lang] = score.get(lang.lang, 0.0) + w * lang.score
        if not weight:
            return Language(UNDETERMINED, 0.0)
        best = max(weight, key=weight.__getitem__)
        total = sum(weight.values())
        variant = None
        if best == "zh":
            simplified = int(self.counts[text_ids, sc.HAN_SIMPLIFIED].sum())
            traditional = int(self.counts[text_ids, sc.HAN_TRADITIONAL].sum())
            if simplified or traditional:
                variant = "zh-Hant" if traditional > simplified else "zh-Hans"
        return Language(best, score[best] / total if total else 0.0, variant)

    def _turn_row(
        self, position: int, turn: Turn, text_id: int | None, verdict: jd.TurnVerdict
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "turn": position, "role": turn.role, "field": turn.field,
            "expected_lang": verdict.expected_lang, "expected_source": verdict.expected_source,
            "flags": verdict.flags,
        }
        if text_id is not None:
            lang = self.languages[text_id]
            letters = int(self.letters[text_id])
            row.update(
                lang=lang.lang, lang_score=round(lang.score, 4), variant=lang.variant,
                letters=letters,
                han_ratio=round(int(self.han[text_id]) / letters, 4) if letters else 0.0,
                latin_ratio=round(int(self.latin[text_id]) / letters, 4) if letters else 0.0,
            )
        return row
