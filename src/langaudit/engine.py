"""The scanning engine: sources -> batches of records -> one annotated Arrow row per record.

Records are gathered into batches; the texts of a batch are measured in one vectorised pass, the
language model runs once over the texts the scripts leave open, and the results are assembled
column by column into an Arrow record batch with the schema of :func:`result_schema`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast, overload

import numpy as np

from . import judge as jd
from . import scripts as sc
from .codeswitch import vocabulary_hashes
from .config import AuditConfig
from .errors import InputError
from .fingerprints import fingerprints
from .formats import FieldError, Shape, Turn, detect_shape
from .io import Item, Source, parse
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
    columns.append(("fingerprint", pa.string()))
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
    for _, batch in scan_source_with_turns(source, config, log):
        yield batch


#: The ``(index, turns)`` of a batch's records.
Entries = Sequence[tuple[int, list[Turn]]]


def scan_source_with_turns(
    source: Source, config: AuditConfig, log: ScanLog | None = None
) -> Iterator[tuple[Entries, Any]]:
    """Like :func:`scan_source`, each batch with the ``(index, turns)`` of its records (for
    reports that show the texts). With ``config.jobs`` > 1 worker processes read and annotate
    batches (see :mod:`langaudit.parallel`); the order stays."""
    log = log if log is not None else ScanLog()
    if config.jobs > 1:
        from .parallel import annotate_in_order, shares

        cfg = shares(config)
        tasks = _tasks(source, cfg, log)
        for task, done in annotate_in_order(tasks, cfg.rules, cfg.jobs, config.batch_records):
            entries = task.settle(done, source, cfg, log)
            if done.annotated is not None:
                yield entries, done.annotated
        return
    for fmt, entries in _batches(source, config, log):
        yield entries, annotate(source.name, fmt, entries, config.rules)


# ---------------------------------------------------------------------------------------------
# Tasks for worker processes (jobs > 1)


@dataclass
class Done:
    """An annotated batch of a task, and what could not be read (by position in the task)."""

    annotated: Any  # None when no record of the batch could be read
    errors: list[tuple[int, InputError]] = field(default_factory=list)
    entries: Entries | None = None  # None from a worker: see Lines.settle


def work(task: Any, rules: jd.Rules | None) -> Done:
    """What a worker process runs: a task's :meth:`run`."""
    return cast(Done, task.run(rules))


@dataclass
class Parsed:
    """Records read in this process; what travels to a worker is their :class:`Flat` lists."""

    source: str
    fmt: str
    entries: list[tuple[int, list[Turn]]]
    flat: Flat | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def here(self, rules: jd.Rules | None) -> Done:
        return Done(annotate(self.source, self.fmt, self.entries, rules))

    def there(self) -> Parsed:
        return Parsed(self.source, self.fmt, [], Flat.of(self.entries))

    def run(self, rules: jd.Rules | None) -> Done:
        assert self.flat is not None
        return Done(annotate_flat(self.source, self.fmt, self.flat, rules))

    def settle(self, done: Done, source: Source, config: AuditConfig, log: ScanLog) -> Entries:
        return self.entries  # read, counted and checked by _batches


@dataclass
class Lines:
    """JSON lines not yet parsed, for a worker to parse, read and annotate: bytes travel as one
    copy, and parsing (a sixth of the work) leaves the reading process, which would otherwise
    do it for every record. Which lines cannot be read is known only then: see :meth:`settle`."""

    source: str
    shape: Shape
    indices: list[int] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.indices)

    def add(self, item: Item) -> int:
        assert item.raw is not None
        self.indices.append(item.index)
        self.lines.append(item.line)
        self.raws.append(item.raw)
        return len(item.raw)

    def item(self, position: int) -> Item:
        raw = self.raws[position]
        return Item(self.indices[position], self.lines[position], raw=raw, parsed=False)

    def read(self) -> tuple[list[tuple[int, list[Turn]]], list[tuple[int, InputError]]]:
        """The ``(index, turns)`` of the lines that can be read, and the errors of the others."""
        where = Source(self.source, "jsonl", ())
        entries: list[tuple[int, list[Turn]]] = []
        errors: list[tuple[int, InputError]] = []
        for position in range(len(self)):
            item = parse(self.source, self.item(position))
            try:
                if item.error is not None:
                    raise item.error
                entries.append((item.index, _turns(where, item, self.shape)))
            except InputError as error:
                errors.append((position, error))
        return entries, errors

    def here(self, rules: jd.Rules | None) -> Done:
        entries, errors = self.read()
        annotated = annotate(self.source, self.shape.format, entries, rules) if entries else None
        return Done(annotated, errors, entries)

    def there(self) -> Lines:
        return self

    def run(self, rules: jd.Rules | None) -> Done:
        done = self.here(rules)
        done.entries = None  # not sent back: see settle
        return done

    def settle(self, done: Done, source: Source, config: AuditConfig, log: ScanLog) -> Entries:
        """Raise or log the lines that could not be read, in input order, and count the rest;
        the entries of a batch a worker annotated are parsed again here when asked for."""
        for position, error in done.errors:
            # the item as the sink of a one-process scan sees it: parsed, or its error
            _unreadable(source, parse(source.name, self.item(position)), error, config, log)
        entries = done.entries
        if entries is None:
            entries = _Reread(self, {position for position, _ in done.errors})
        log.records[source.name] += len(entries)
        return entries


class _Reread(Sequence[tuple[int, list[Turn]]]):
    """The entries of lines a worker annotated, parsed again when asked for. Callers look at a
    few (the texts of flagged records), so the texts need not travel back from the worker."""

    def __init__(self, lines: Lines, unreadable: set[int]) -> None:
        self.lines = lines
        self.positions = [p for p in range(len(lines)) if p not in unreadable]

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, row: int) -> tuple[int, list[Turn]]: ...
    @overload
    def __getitem__(self, row: slice) -> list[tuple[int, list[Turn]]]: ...
    def __getitem__(self, row: int | slice) -> Any:
        if isinstance(row, slice):
            return [self[r] for r in range(len(self))[row]]
        lines = self.lines
        item = parse(lines.source, lines.item(self.positions[row]))
        return item.index, lines.shape.turns(item.value)


def _tasks(source: Source, config: AuditConfig, log: ScanLog) -> Iterator[Parsed | Lines]:
    """The batches of ``source`` as tasks: :class:`Lines` for JSON lines (the records before
    the first readable one, which decides the shape, are parsed here), else :class:`Parsed`."""
    unparsed = source.unparsed
    items = iter(unparsed if unparsed is not None else ())
    first = next(items, None)
    if unparsed is None or first is None or first.parsed:  # not JSON lines after all
        rest = source if unparsed is None else _rest(source, first, items)
        for fmt, entries in _batches(rest, config, log):
            yield Parsed(source.name, fmt, entries)
        return
    log.records.setdefault(source.name, 0)
    shape = None
    for item in itertools.chain([first], items):
        try:
            parsed = parse(source.name, item)
            if parsed.error is not None:
                raise parsed.error
            shape, _ = _read(source, parsed, None, config)
        except InputError as error:
            _unreadable(source, parsed, error, config, log)
            continue
        first = item
        break
    if shape is None:
        return
    batch, size = Lines(source.name, shape), 0
    for item in itertools.chain([first], items):
        size += batch.add(item)
        if len(batch) >= config.batch_records or size >= config.batch_chars:
            yield batch
            batch, size = Lines(source.name, shape), 0
    if len(batch):
        yield batch


def _unreadable(
    source: Source, item: Item, error: InputError, config: AuditConfig, log: ScanLog
) -> None:
    """Raise ``error``, or under ``on_error="skip"`` log ``item`` as skipped."""
    if config.on_error == "raise":
        raise error
    log.skip(source.name, item, error)


def _rest(source: Source, first: Item | None, items: Iterator[Item]) -> Source:
    rest = itertools.chain([] if first is None else [first], items)
    return Source(source.name, source.kind, rest, source.size, source.position)


# ---------------------------------------------------------------------------------------------
# Reading and annotating


def _batches(
    source: Source, config: AuditConfig, log: ScanLog
) -> Iterator[tuple[str, list[tuple[int, list[Turn]]]]]:
    """The records of ``source`` read into ``(format, entries)`` batches, bounded in records
    and characters; unreadable ones raised or, under ``on_error="skip"``, logged."""
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
            _unreadable(source, item, error, config, log)
            continue
        pending.append((item.index, turns))
        chars += sum(len(t.text) for t in turns)
        if len(pending) >= config.batch_records or chars >= config.batch_chars:
            log.records[source.name] += len(pending)
            yield shape.format, pending
            pending, chars = [], 0
    if pending and shape is not None:
        log.records[source.name] += len(pending)
        yield shape.format, pending


def _read(
    source: Source, item: Item, shape: Shape | None, config: AuditConfig
) -> tuple[Shape, list[Turn]]:
    """The record's turns, and the source's shape (detected from its first good record)."""
    if shape is None and config.shape is not None:
        shape = config.shape
    elif shape is None:
        try:
            shape = detect_shape(
                item.value,
                config.format,
                config.prompt_field,
                config.response_field,
                config.system_field,
            )
        except FieldError as exc:
            raise _field_error(source, item, exc) from None
    return shape, _turns(source, item, shape)


def _turns(source: Source, item: Item, shape: Shape) -> list[Turn]:
    try:
        return shape.turns(item.value)
    except FieldError as exc:
        raise _field_error(source, item, exc) from None


def _field_error(source: Source, item: Item, exc: FieldError) -> InputError:
    return InputError(
        source.location(item), exc.problem, field=exc.field, hint=exc.hint, raw=item.raw
    )


def annotate(
    source: str,
    fmt: str,
    entries: Sequence[tuple[int, list[Turn]]],
    rules: jd.Rules | None = None,
) -> Any:
    """One annotated Arrow record batch for ``(index, turns)`` entries of one source."""
    return annotate_flat(source, fmt, Flat.of(entries), rules)


@dataclass
class Flat:
    """A batch's records as flat lists: what :func:`annotate_flat` reads, and what travels to
    worker processes (a few lists pickle much faster than a tuple per turn)."""

    indices: list[int]  # per record
    sizes: list[int]  # per record: its number of turns
    roles: list[str]  # per turn, records one after the other
    texts: list[str]
    fields: list[str]

    @classmethod
    def of(cls, entries: Sequence[tuple[int, list[Turn]]]) -> Flat:
        turns = [turn for _, record in entries for turn in record]
        return cls(
            [index for index, _ in entries],
            [len(record) for _, record in entries],
            [turn.role for turn in turns],
            [turn.text for turn in turns],
            [turn.field for turn in turns],
        )


def annotate_flat(source: str, fmt: str, flat: Flat, rules: jd.Rules | None = None) -> Any:
    """:func:`annotate` for a batch's records as :class:`Flat` lists."""
    import pyarrow as pa

    batch = _Batch(flat)
    verdicts = jd.judge(batch.judge_input(), rules or jd.Rules())
    n = len(flat.indices)
    columns: dict[str, Any] = {
        "source": pa.array([source] * n, pa.string()),
        "index": pa.array(flat.indices, pa.int64()),
        "format": pa.array([fmt] * n, pa.string()),
        "n_turns": pa.array(np.diff(batch.offsets), pa.int32()),
    }
    for role, turn_role in ROLE_GROUPS.items():
        columns.update(batch.role_language(role, turn_role))
    columns["expected_lang"] = verdicts.expected
    columns["expected_source"] = verdicts.source
    columns["flags"] = verdicts.flags
    columns["code_switch_spans"] = verdicts.spans
    for role, turn_role in ROLE_GROUPS.items():
        columns.update(_script_columns(role, batch.role_counts(turn_role)))
    columns["turns"] = batch.turns_column(verdicts)
    # of flagged records only: the reports need no more, and hashing every record's answers
    # would add ~4% to annotating long chats (benchmarks/bench_audit.py's data)
    flagged = [bool(flags) for flags in verdicts.flags]
    columns["fingerprint"] = fingerprints(flat.sizes, flat.roles, flat.texts, flagged)
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
        columns[f"{role}_{script}_ratio"] = pa.array(_ratio(part, letters), pa.float64())
    columns[f"{role}_counts"] = pa.StructArray.from_arrays(
        [pa.array(matrix[:, ids].sum(axis=1), pa.int64()) for ids in sc.COUNT_FIELDS.values()],
        names=list(sc.COUNT_FIELDS),
    )
    return columns


def _ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole rounded to 4 places, 0 where whole is 0."""
    return np.round(np.divide(part, whole, out=np.zeros(len(whole)), where=whole > 0), 4)


def _or_zeros(values: np.ndarray | None, n: int) -> np.ndarray:
    return values if values is not None else np.zeros(n, dtype=np.int64)


class _Batch:
    """The turns of a batch of records, flattened, measured and identified in one pass.

    Arrays indexed by turn have one entry per turn of the batch; arrays indexed by text have one
    per measured turn (``text_of`` maps a turn to its text, -1 for unmeasured tool turns).
    """

    def __init__(self, flat: Flat) -> None:
        self.texts = flat.texts
        self.fields = flat.fields
        self.n_turns = len(flat.texts)
        self.offsets = np.cumsum([0, *flat.sizes])
        self.n_records = len(flat.sizes)
        self.record_of = np.repeat(np.arange(self.n_records), np.diff(self.offsets))
        self.roles = np.array(flat.roles, dtype=object)
        measured = np.flatnonzero(np.isin(self.roles, list(_MEASURED)))
        self.text_of = np.full(self.n_turns, -1, dtype=np.int64)
        self.text_of[measured] = np.arange(len(measured))
        texts = [self.texts[i] for i in measured.tolist()]
        self.measured = sc.measure(texts, vocabulary_hashes)  # loaded when first needed
        self.languages = identify(texts, self.measured)
        counts = self.measured.counts
        self.cjk = counts[:, _CJK].sum(axis=1)
        self.alpha = counts[:, _ALPHA].sum(axis=1)
        self.letters = self.cjk + self.alpha
        self.han = counts[:, (sc.HAN, sc.HAN_SIMPLIFIED, sc.HAN_TRADITIONAL)].sum(axis=1)

    def _per_turn(self, values: np.ndarray, fill: Any = 0) -> np.ndarray:
        """A per-text array spread over turns, ``fill`` for unmeasured turns."""
        out = np.full(self.n_turns, fill, dtype=values.dtype)
        has = self.text_of >= 0
        out[has] = values[self.text_of[has]]
        return out

    def judge_input(self) -> jd.Turns:
        langs = self.languages
        text_ids = self.text_of.tolist()
        counts = self.measured.counts
        return jd.Turns(
            roles=self.roles.tolist(),
            texts=self.texts,
            lang=[langs.lang[t] if t >= 0 else None for t in text_ids],
            variant=[langs.variant[t] if t >= 0 else None for t in text_ids],
            score=self._per_turn(langs.score),
            by_model=self._per_turn(langs.by_model, False),
            cjk=self._per_turn(self.cjk),
            alpha=self._per_turn(self.alpha),
            simplified=self._per_turn(counts[:, sc.HAN_SIMPLIFIED]),
            traditional=self._per_turn(counts[:, sc.HAN_TRADITIONAL]),
            ascii_punct=self._per_turn(counts[:, sc.ASCII_PUNCT]),
            ascii_after_han=self._per_turn(_or_zeros(self.measured.ascii_after_han, len(counts))),
            ascii_maybe=self._per_turn(_or_zeros(self.measured.ascii_maybe, len(counts))),
            cjk_punct=self._per_turn(counts[:, sc.CJK_PUNCT]),
            masked=[self.measured.spans[t] if t >= 0 else [] for t in text_ids],
            offsets=self.offsets,
            mark_ptr=self._per_turn_ptr(self.measured.maybe_ptr),
            mark_at=self.measured.maybe_at,
            word_ptr=self._per_turn_ptr(self.measured.word_ptr),
            word_at=self.measured.word_at,
        )

    def _per_turn_ptr(self, ptr: np.ndarray | None) -> np.ndarray | None:
        """Pointers per text made pointers per turn (unmeasured turns point at nothing): texts
        are the measured turns in order, so the pointed-at values stay as they are."""
        if ptr is None:
            return None
        per_turn = self._per_turn(np.diff(ptr))
        out = np.zeros(len(per_turn) + 1, dtype=np.int64)
        np.cumsum(per_turn, out=out[1:])
        return out

    def _role_texts(self, turn_role: str) -> tuple[np.ndarray, np.ndarray]:
        """(text ids, record ids) of the measured turns with one role."""
        turns = np.flatnonzero((self.roles == turn_role) & (self.text_of >= 0))
        return self.text_of[turns], self.record_of[turns]

    def role_counts(self, turn_role: str) -> np.ndarray:
        """(records x classes) counts summed over each record's turns of one role."""
        matrix = np.zeros((self.n_records, sc.N_CLASSES), dtype=np.int64)
        texts, records = self._role_texts(turn_role)
        np.add.at(matrix, records, self.measured.counts[texts])
        return matrix

    def role_language(self, role: str, turn_role: str) -> dict[str, list[Any]]:
        """Language columns of one role: per record, the language carrying most letters over
        the role's turns (``und`` if none is known, null if the record has no such turn)."""
        texts, records = self._role_texts(turn_role)
        langs = self.languages
        codes: dict[str, int] = {}
        lang_id = np.array([codes.setdefault(langs.lang[t], len(codes)) for t in texts.tolist()])
        known = np.array([langs.lang[t] != UNDETERMINED for t in texts.tolist()], dtype=bool)
        weight = np.where(known, self.letters[texts], 0).astype(np.float64)
        cell = records * max(len(codes), 1) + lang_id if len(texts) else records
        size = self.n_records * max(len(codes), 1)
        weights = np.bincount(cell, weight, size).reshape(self.n_records, -1)
        scored = np.bincount(cell, weight * langs.score[texts], size).reshape(self.n_records, -1)
        best = weights.argmax(axis=1)
        total = weights.sum(axis=1)
        rows = np.arange(self.n_records)
        score = np.divide(scored[rows, best], total, out=np.zeros(self.n_records), where=total > 0)
        present = np.bincount(records, minlength=self.n_records) > 0
        simplified = np.bincount(
            records, self.measured.counts[texts, sc.HAN_SIMPLIFIED], self.n_records
        )
        traditional = np.bincount(
            records, self.measured.counts[texts, sc.HAN_TRADITIONAL], self.n_records
        )
        names = list(codes)
        out: list[Language | None] = []
        for r in range(self.n_records):
            if not present[r]:
                out.append(None)
                continue
            lang = names[best[r]] if total[r] > 0 else UNDETERMINED
            variant = None
            if lang == "zh" and simplified[r] + traditional[r] > 0:
                variant = "zh-Hant" if traditional[r] > simplified[r] else "zh-Hans"
            out.append(Language(lang, round(float(score[r]), 4), variant))
        return {
            f"{role}_lang": [x.lang if x else None for x in out],
            f"{role}_lang_score": [x.score if x else None for x in out],
            f"{role}_variant": [x.variant if x else None for x in out],
        }

    def turns_column(self, verdicts: jd.Verdicts) -> Any:
        """The ``turns`` list<struct> column, built from flat per-turn arrays."""
        import pyarrow as pa

        langs = self.languages
        unmeasured = self.text_of < 0
        letters = self._per_turn(self.letters)
        text_ids = self.text_of.tolist()
        fields = result_schema().field("turns").type.value_type
        arrays = [
            pa.array(np.arange(self.n_turns) - self.offsets[self.record_of], pa.int32()),
            pa.array(self.roles.tolist(), pa.string()),
            pa.array(self.fields, pa.string()),
            pa.array([langs.lang[t] if t >= 0 else None for t in text_ids], pa.string()),
            pa.array(np.round(self._per_turn(langs.score), 4), pa.float64(), mask=unmeasured),
            pa.array([langs.variant[t] if t >= 0 else None for t in text_ids], pa.string()),
            pa.array(letters, pa.int64(), mask=unmeasured),
            pa.array(_ratio(self._per_turn(self.han), letters), pa.float64(), mask=unmeasured),
            pa.array(
                _ratio(self._per_turn(self.measured.counts[:, sc.LATIN]), letters),
                pa.float64(),
                mask=unmeasured,
            ),
            pa.array(verdicts.turn_expected, pa.string()),
            pa.array(verdicts.turn_source, pa.string()),
            pa.array(verdicts.turn_flags, pa.list_(pa.string())),
        ]
        structs = pa.StructArray.from_arrays(arrays, fields=list(fields))
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), structs)
