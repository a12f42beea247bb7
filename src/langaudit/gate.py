"""The gate (``langaudit check``): rules over the scan of each file, for CI and pre-commit.

Every flag has a rule: a maximum count or rate of records with it per file (``max_count``,
``max_rate``; a flag with neither may not occur at all, as a linter treats its rules). A range
of the Chinese share of responses (``zh_share``) may be added. Rules hold or fail per file:
pre-commit passes only the files that changed, so a rule over "all inputs" would depend on what
changed. A result lists the offending records (``PATH:ROW: FLAG: reason``) of the rules that
failed, capped, and one summary line per rule.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import AuditConfig, ShareRange
from .engine import ScanLog, scan_source_with_turns
from .io import Item, Source
from .judge import FLAGS
from .reasons import RECORD_COLUMNS, explain

#: Findings listed by default; the rest are counted.
MAX_FINDINGS = 50
#: Files named per rule in its summary line; the rest are counted.
FILES_SHOWN = 5


@dataclass(frozen=True)
class Rule:
    """A limit on one flag per file (``max_count``, ``max_rate``) or a ``zh_share`` range."""

    name: str
    kind: str
    limit: Any

    def describe(self) -> str:
        if self.kind == "min_count":
            return f"at least {self.limit}"
        if self.kind == "max_count":
            return f"max count {self.limit}"
        if self.kind == "max_rate":
            return f"max rate {_percent(self.limit)}"
        return f"Chinese share {self.limit}"


#: Every file must have a record to check (not a rule one sets; it shows only when it fails).
NO_RECORDS = Rule("records", "min_count", 1)


def rules_from(
    max_rate: Mapping[str, float] | None = None,
    max_count: Mapping[str, int] | None = None,
    zh_share: ShareRange | None = None,
) -> list[Rule]:
    """The rules of one file: the limits given, and ``max_count 0`` for every other flag."""
    rates, counts = max_rate or {}, max_count or {}
    rules = []
    for flag in FLAGS:
        if flag in counts or flag not in rates:
            rules.append(Rule(flag, "max_count", counts.get(flag, 0)))
        if flag in rates:
            rules.append(Rule(flag, "max_rate", rates[flag]))
    if zh_share is not None:
        rules.append(Rule("zh_share", "zh_share", zh_share))
    return rules


@dataclass(frozen=True)
class Finding:
    """One flag of one record: ``ROW`` is the line for JSONL and CSV, else the 1-based record."""

    path: str
    row: int
    flag: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.row}: {self.flag}: {self.reason}"


@dataclass(frozen=True)
class RuleResult:
    """A rule over one file: the count (flags) or share (zh_share) measured, and the verdict."""

    path: str
    rule: Rule
    records: int
    count: int
    value: float | None
    ok: bool

    def describe_value(self) -> str:
        if self.rule is NO_RECORDS:
            skipped = f", {_n(self.count, 'unreadable record')} skipped" if self.count else ""
            return f"no records{skipped}"
        if self.rule.kind == "zh_share":
            return "no response in a known language" if self.value is None else f"{self.value:.2f}"
        return f"{self.count} of {_n(self.records, 'record')} ({_percent(self.value or 0.0)})"


@dataclass
class FileCheck:
    """The counts of one file and its rules' results."""

    path: str
    records: int = 0
    skipped: int = 0
    flags: Counter[str] = field(default_factory=Counter)
    zh: int = 0
    known: int = 0  # responses in a known language (not none, not und)
    results: list[RuleResult] = field(default_factory=list)

    @property
    def zh_share(self) -> float | None:
        return self.zh / self.known if self.known else None

    def evaluate(self, rules: Sequence[Rule]) -> None:
        if self.records == 0:  # nothing checked is no pass: empty, or every record unreadable
            self.results.append(RuleResult(self.path, NO_RECORDS, 0, self.skipped, None, False))
        for rule in rules:
            if rule.kind == "zh_share":
                share = self.zh_share
                ok = share is None or rule.limit.holds(share)
                result = RuleResult(self.path, rule, self.records, self.zh, share, ok)
            else:
                count = self.flags[rule.name]
                rate = count / self.records if self.records else 0.0
                # (a rate given as a percentage, 0.7%, is a float just under count / records)
                limit = rule.limit if rule.kind == "max_count" else rule.limit * self.records
                ok = count <= limit + 1e-9
                result = RuleResult(self.path, rule, self.records, count, rate, ok)
            self.results.append(result)


@dataclass
class CheckResult:
    """What ``check`` found: per-file rule results, and the offending records of the rules
    that failed (the first ``max_findings`` of them; ``more`` counts the rest)."""

    files: list[FileCheck]
    findings: list[Finding]
    more: int = 0
    skipped: int = 0
    #: The statistics of all files, as ``audit`` counts them (``run_check(statistics=True)``).
    stats: Any = None

    @property
    def results(self) -> list[RuleResult]:
        return [r for f in self.files for r in f.results]

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        """0 when every rule holds, 1 when any fails (as ``langaudit check`` exits)."""
        return 0 if self.ok else 1

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    def lines(self) -> list[str]:
        """The output of ``langaudit check``: findings, then one summary line per rule."""
        out = [str(finding) for finding in self.findings]
        if self.more:
            out.append(f"... and {self.more:,} more (--max-lines to see them)")
        groups: dict[Rule, list[RuleResult]] = {}
        for result in self.results:
            groups.setdefault(result.rule, []).append(result)
        out += [_summary(rule, results) for rule, results in groups.items()]
        failed = sum(any(not r.ok for r in results) for results in groups.values())
        verdict = f"{failed} of {_n(len(groups), 'rule')} failed" if failed else "all rules hold"
        files = _n(len(self.files), "file")
        skipped = f", {self.skipped:,} unreadable skipped" if self.skipped else ""
        out.append(f"langaudit check: {verdict} ({files}, {_n(self.records, 'record')}{skipped})")
        return out


def _summary(rule: Rule, results: Sequence[RuleResult]) -> str:
    failed = [r for r in results if not r.ok]
    head = f"{rule.name} ({rule.describe()})"
    if failed:
        shown = [f"{r.path} {r.describe_value()}" for r in failed[:FILES_SHOWN]]
        if len(failed) > FILES_SHOWN:
            shown.append(f"and {len(failed) - FILES_SHOWN} more files")
        return f"FAIL {head}: {', '.join(shown)}"
    measured = [r for r in results if r.value is not None]
    if not measured:
        return f"PASS {head}: nothing to measure"
    if rule.kind == "zh_share":
        shares = sorted(r.value or 0.0 for r in measured)
        if len(shares) == 1:
            return f"PASS {head}: {shares[0]:.2f}"
        return f"PASS {head}: {shares[0]:.2f} to {shares[-1]:.2f} in {_n(len(shares), 'file')}"
    worst = max(measured, key=lambda r: r.count)
    if worst.count == 0:
        return f"PASS {head}: none"
    where = f"highest {worst.path} " if len(results) > 1 else ""
    return f"PASS {head}: {where}{worst.describe_value()}"


def check(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    max_rate: Mapping[str, float | str] | None = None,
    max_count: Mapping[str, int] | None = None,
    zh_share: ShareRange | str | float | Sequence[float] | None = None,
    max_findings: int | None = None,
    config: str | os.PathLike[str] | bool | None = None,
    log: ScanLog | None = None,
    progress: Callable[[Source, int], None] | None = None,
    **options: Any,
) -> CheckResult:
    """Check each file against the rules; see the module docstring.

    ``max_rate`` / ``max_count`` map flags to limits, ``zh_share`` bounds the Chinese share of
    responses (``"0.6:0.9"``, ``(0.6, 0.9)``); ``options`` are :class:`AuditConfig` fields. The
    settings of the nearest ``langaudit.toml`` / ``pyproject.toml [tool.langaudit]`` apply
    first (``config``: a file to use instead, or False for none); the arguments replace them.
    ``max_findings`` offending records are listed (default: the config's ``max-lines``, or
    50); ``progress(source, records)`` is called after every batch.
    """
    plan = plan_check(
        paths,
        max_rate=max_rate,
        max_count=max_count,
        zh_share=zh_share,
        max_findings=max_findings,
        config=config,
        **options,
    )
    return run_check(plan, log=log, progress=progress)


@dataclass(frozen=True)
class CheckPlan:
    """What :func:`run_check` reads: each source (its ``config`` set) with its rules, and how
    many offending records to list."""

    sources: list[tuple[Source, list[Rule]]]
    max_findings: int

    @property
    def zh_share(self) -> ShareRange | None:
        """The bounds on the Chinese share when every file has the same ones, else None."""
        ranges = [[r.limit for r in rules if r.kind == "zh_share"] for _, rules in self.sources]
        first = ranges[0] if ranges else []
        return first[0] if len(first) == 1 and all(r == first for r in ranges) else None


def plan_check(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    max_rate: Mapping[str, float | str] | None = None,
    max_count: Mapping[str, int] | None = None,
    zh_share: ShareRange | str | float | Sequence[float] | None = None,
    max_findings: int | None = None,
    config: str | os.PathLike[str] | bool | None = None,
    registry: Any = None,
    **options: Any,
) -> CheckPlan:
    """The sources and rules of :func:`check`, from its arguments and the settings files
    (with a ``registry``, :class:`langaudit.registry.Registry`, the files of its datasets)."""
    from . import settings as st

    AuditConfig.from_options(**options)  # unknown options and bad values, before any reading
    given = _given_rules(max_rate, max_count, zh_share)
    given.update({k: v for k, v in options.items() if v is not None})
    inputs = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    resolved = st.for_inputs(inputs, given, config, registry)
    limit = max_findings
    if limit is None:
        limit = resolved[0][1].get("max_lines", MAX_FINDINGS) if resolved else MAX_FINDINGS
    sources = [
        (src, rules_from(opts.get("max_rate"), opts.get("max_count"), opts.get("zh_share")))
        for src, opts, _ in resolved
    ]
    return CheckPlan(sources, limit)


def run_check(
    plan: CheckPlan,
    log: ScanLog | None = None,
    progress: Callable[[Source, int], None] | None = None,
    statistics: bool = False,
) -> CheckResult:
    """Scan the sources of ``plan`` and hold each to its rules; with ``statistics``, count
    all files as ``audit`` does, into the result's ``stats`` (for ``--baseline``)."""
    from .report import AuditStats

    log = log if log is not None else ScanLog()
    stats = AuditStats(examples=0) if statistics else None
    limit = plan.max_findings
    files: list[FileCheck] = []
    findings: list[Finding] = []
    more = 0
    for src, rules in plan.sources:
        file, candidates = _check_source(src, src.config, rules, limit, log, progress, stats)
        files.append(file)
        failing = {r.rule.name for r in file.results if not r.ok}
        shown = [f for f in candidates if f.flag in failing][: max(limit - len(findings), 0)]
        findings += shown
        more += sum(file.flags[name] for name in failing if name in FLAGS) - len(shown)
    return CheckResult(files, findings, more, log.skipped, stats)


def _given_rules(
    max_rate: Mapping[str, float | str] | None,
    max_count: Mapping[str, int] | None,
    zh_share: ShareRange | str | float | Sequence[float] | None,
) -> dict[str, Any]:
    from .errors import UsageError
    from .settings import PER_FILE

    out: dict[str, Any] = {}
    share = list(zh_share) if isinstance(zh_share, tuple | list) else zh_share
    given: tuple[tuple[str, Any], ...] = (
        ("max-rate", None if max_rate is None else dict(max_rate)),
        ("max-count", None if max_count is None else dict(max_count)),
        ("zh-share", share),
    )
    for key, value in given:
        name = key.replace("-", "_")
        if isinstance(value, ShareRange):
            out[name] = value
        elif value is not None:
            try:
                out[name] = PER_FILE[key](value)
            except ValueError as exc:
                raise UsageError(f"{name}: {exc}") from None
    return out


def _check_source(
    src: Source,
    cfg: AuditConfig,
    rules: Sequence[Rule],
    keep: int,
    log: ScanLog,
    progress: Callable[[Source, int], None] | None,
    stats: Any = None,
) -> tuple[FileCheck, list[Finding]]:
    """Scan one source: its counts, and up to ``keep`` findings of each flag (which of them
    are shown depends on the rules that fail, known only at the end); its batches are added
    to ``stats`` (an AuditStats) when given."""
    file = FileCheck(src.name)
    if stats is not None:
        stats.add_source(src.name)
    lines: dict[int, int] = {}
    candidates: list[Finding] = []
    kept: Counter[str] = Counter()
    watched = src.with_items(lambda items: _remember_lines(items, lines))
    for entries, batch in scan_source_with_turns(watched, cfg, log):
        file.records += batch.num_rows
        if stats is not None:
            stats.add_batch(batch)
        responses = Counter(batch.column("response_lang").to_pylist())
        file.zh += responses["zh"]
        file.known += sum(c for lang, c in responses.items() if lang not in (None, "und"))
        for row, flags in enumerate(batch.column("flags").to_pylist()):
            file.flags.update(flags)
            wanted = [flag for flag in flags if kept[flag] < keep]
            if wanted:
                kept.update(wanted)
                candidates += _findings(src.name, batch, row, entries[row], wanted, lines)
        for index in batch.column("index").to_pylist():
            lines.pop(index, None)
        if progress is not None:
            progress(src, batch.num_rows)
    file.skipped = log.skipped_by_source.get(src.name, 0)
    if stats is not None:
        stats.add_skipped(src.name, file.skipped)
    file.evaluate(rules)
    return file, candidates


def _remember_lines(items: Iterable[Item], lines: dict[int, int]) -> Iterator[Item]:
    for item in items:
        if item.line is not None:
            lines[item.index] = item.line
        yield item


def _findings(
    path: str,
    batch: Any,
    row: int,
    entry: tuple[int, list[Any]],
    flags: Sequence[str],
    lines: Mapping[int, int],
) -> list[Finding]:
    index, turns = entry
    record = {name: batch.column(name)[row].as_py() for name in RECORD_COLUMNS}
    answers = sum(t.role == "assistant" for t in turns)
    out = []
    for flag in flags:
        why = explain(flag, record, turns)
        reason = why.reason
        if answers > 1 and why.turn is not None:
            reason = f"turn {why.turn}: {reason}"
        out.append(Finding(path, lines.get(index, index + 1), flag, reason))
    return out


def _percent(value: float) -> str:
    percent = value * 100
    text = f"{percent:.2f}" if percent >= 0.01 or percent == 0 else f"{percent:.2g}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
