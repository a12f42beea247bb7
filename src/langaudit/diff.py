"""Differences between two audit reports: what ``langaudit diff`` shows, what ``audit
--baseline`` adds to its report and what ``check --baseline --no-regress`` holds the data to.

Reports are compared as the JSON-ready dicts of docs/audit-json.md (a file written by
``langaudit audit --json``, or :attr:`langaudit.report.Report.summary`), rates as written there:
rounded to 6 places, so that two reports of the same data compare equal whatever computed them.
A record newly fails a flag when the new report has more flagged records with that fingerprint
and flag than the old one (see :mod:`langaudit.fingerprints`); the differences are a
JSON-ready dict, documented in docs/diff-json.md.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import ShareRange
from .errors import InputError
from .report_json import HINT, load_report

#: Version of the layout of the differences (docs/diff-json.md).
DIFF_VERSION = 1
ROLES = ("system", "prompt", "response")


# ---------------------------------------------------------------------------------------------
# Comparing


@dataclass(frozen=True)
class Baseline:
    """An audit report to compare others with: the file it was read from, and its contents."""

    path: str
    report: dict[str, Any]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        return cls(os.fspath(path), load_report(path))

    def compare(
        self, summary: dict[str, Any], zh_range: ShareRange | None = None
    ) -> dict[str, Any]:
        """The differences from this report to ``summary`` (a report's, or the statistics')."""
        return compare(self.report, summary, self.path, None, zh_range)


def change(old: float | None, new: float | None) -> dict[str, Any]:
    """``{old, new, change, direction}``: ``change`` is new - old (null when either is null),
    ``direction`` ``up``, ``down`` or ``same``."""
    if old is None or new is None:
        return {"old": old, "new": new, "change": None, "direction": None}
    delta = new - old
    if isinstance(delta, float):
        delta = round(delta, 6)
    direction = "up" if delta > 0 else "down" if delta < 0 else "same"
    return {"old": old, "new": new, "change": delta, "direction": direction}


def compare(
    old: dict[str, Any],
    new: dict[str, Any],
    old_name: str | None = None,
    new_name: str | None = None,
    zh_range: ShareRange | None = None,
) -> dict[str, Any]:
    """The differences from report ``old`` to report ``new`` (docs/diff-json.md); their
    ``regressions`` at tolerance 0, the Chinese share against ``zh_range`` when given."""
    flags = list(dict.fromkeys([*old["flags"], *new["flags"]]))  # in the reports' order
    out: dict[str, Any] = {
        "diff_version": DIFF_VERSION,
        "old": _about(old, old_name),
        "new": _about(new, new_name),
        "records": change(old["records"], new["records"]),
        "skipped": change(old["skipped"], new["skipped"]),
        "flagged": change(old["flagged"], new["flagged"]),
        "flagged_rate": change(old["flagged_rate"], new["flagged_rate"]),
        "flags": {
            flag: {
                "count": change(*(_flag(r, flag, "count") for r in (old, new))),
                "rate": change(*(_flag(r, flag, "rate") for r in (old, new))),
            }
            for flag in flags
        },
        "skipped_share": change(skipped_share(old), skipped_share(new)),
        "zh_share": change(old["zh_share"], new["zh_share"]),
        "languages": {role: _languages(old, new, role) for role in ROLES},
        "sources": _sources(old, new, flags),
    }
    missing = [n for n, r in (("old", old), ("new", new)) if r.get("flagged_records") is None]
    if missing:
        out["newly_failing"] = out["no_longer_failing"] = None
        out["notes"] = [
            f"the {which} report has no flagged_records (written by an older langaudit): audit "
            "its data again to see which records newly fail"
            for which in missing
        ]
    else:
        out["newly_failing"] = _beyond(old, new, reasons=_reasons(new))
        out["no_longer_failing"] = _beyond(new, old)
        out["notes"] = []
    out["notes"] += _other_options(old.get("options"), new.get("options"))
    out["regressions"] = [r.to_dict() for r in regressions(out, 0.0, zh_range)]
    return out


def _other_options(old: Any, new: Any) -> list[str]:
    """A note when the two reports were made with other judging or sampling options (those of
    the command line: ``options`` of the report), whose rates then differ for that alone."""
    if not isinstance(old, dict) or not isinstance(new, dict) or old == new:
        return []
    moved = [
        f"{key}: {old.get(key, 'not given')} -> {new.get(key, 'not given')}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    return [
        f"the reports were made with other options ({'; '.join(moved)}): rates may differ for "
        "that alone"
    ]


def skipped_share(report: dict[str, Any]) -> float:
    """Unreadable records skipped among all records met (read or skipped)."""
    seen = report["records"] + report["skipped"]
    return round(report["skipped"] / seen, 6) if seen else 0.0


def _about(report: dict[str, Any], name: str | None) -> dict[str, Any]:
    return {
        "report": name,
        "langaudit_version": report.get("langaudit_version"),
        "inputs": report.get("inputs", []),
    }


def _flag(report: dict[str, Any], flag: str, key: str) -> Any:
    value = report["flags"].get(flag)
    return None if value is None else value[key]


def _languages(old: dict[str, Any], new: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Records and share of records per language of ``role``, each language of either report,
    most records in ``new`` first."""
    before, after = old["languages"].get(role, {}), new["languages"].get(role, {})
    total_before, total_after = sum(before.values()), sum(after.values())
    langs = sorted({*before, *after}, key=lambda x: (-after.get(x, 0), -before.get(x, 0), x))
    return [
        {
            "lang": lang,
            "count": change(before.get(lang, 0), after.get(lang, 0)),
            "share": change(
                _rate(before.get(lang, 0), total_before), _rate(after.get(lang, 0), total_after)
            ),
        }
        for lang in langs
    ]


def _rate(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def _sources(old: dict[str, Any], new: dict[str, Any], flags: Sequence[str]) -> dict[str, Any]:
    before = {src["source"]: src for src in old["sources"]}
    after = {src["source"]: src for src in new["sources"]}
    matched = []
    for name in sorted(before.keys() & after.keys()):
        a, b = before[name], after[name]
        matched.append(
            {
                "source": name,
                "records": change(a["records"], b["records"]),
                "skipped": change(a["skipped"], b["skipped"]),
                "flagged": change(a["flagged"], b["flagged"]),
                "flagged_rate": change(
                    _rate(a["flagged"], a["records"]), _rate(b["flagged"], b["records"])
                ),
                "flags": {
                    flag: change(
                        _rate(a["flags"].get(flag, 0), a["records"]),
                        _rate(b["flags"].get(flag, 0), b["records"]),
                    )
                    for flag in flags
                },
            }
        )
    return {
        "matched": matched,
        "only_old": sorted(before.keys() - after.keys()),
        "only_new": sorted(after.keys() - before.keys()),
    }


def _rows(report: dict[str, Any]) -> Iterator[tuple[str, int, str, list[str]]]:
    for src in report["flagged_records"]:
        for index, fingerprint, flags in src["records"]:
            yield src["source"], index, fingerprint, flags


def _reasons(report: dict[str, Any]) -> dict[tuple[str, int, str], str]:
    return {
        (e["source"], e["index"], flag): e["reason"]
        for flag, examples in report["examples"].items()
        for e in examples
    }


def _beyond(
    base: dict[str, Any],
    other: dict[str, Any],
    reasons: dict[tuple[str, int, str], str] | None = None,
) -> dict[str, Any]:
    """The flagged records of ``other`` with flags that ``base`` has fewer records with the
    same fingerprint for: per record those flags, in source and index order (the first
    records of a fingerprint take the ones ``base`` has)."""
    budget = Counter(
        (fingerprint, flag) for _, _, fingerprint, flags in _rows(base) for flag in flags
    )
    records = []
    pairs = 0
    for source, index, fingerprint, flags in _rows(other):
        fresh = []
        for flag in flags:
            if budget[(fingerprint, flag)] > 0:
                budget[(fingerprint, flag)] -= 1
            else:
                fresh.append(flag)
        if not fresh:
            continue
        pairs += len(fresh)
        record = {"source": source, "index": index, "fingerprint": fingerprint, "flags": fresh}
        if reasons is not None:
            found = (reasons.get((source, index, flag)) for flag in fresh)
            record["reason"] = next((r for r in found if r is not None), None)
        records.append(record)
    return {"count": len(records), "flags": pairs, "records": records}


# ---------------------------------------------------------------------------------------------
# Regressions


@dataclass(frozen=True)
class Regression:
    """A rate that got worse: ``rate`` is ``flagged_rate``, a flag, ``skipped_share`` or
    ``zh_share`` (further outside ``bounds``)."""

    rate: str
    old: float | None
    new: float | None
    change: float
    bounds: ShareRange | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "old": self.old, "new": self.new, "change": self.change}

    def __str__(self) -> str:
        what = RATE_LABELS.get(self.rate, f"{self.rate} rate")
        moved = f"{percent(self.old)} -> {percent(self.new)}"
        if self.bounds is not None:
            further = points(self.change).lstrip("+")
            return f"{what}: {moved}, {further} further outside {self.bounds}"
        return f"{what}: {moved} ({points(self.change)})"


#: The rates, as shown.
RATE_LABELS = {
    "flagged_rate": "flagged rate",
    "skipped_share": "unreadable skipped share",
    "zh_share": "Chinese share of responses",
}


def regressions(
    diff: dict[str, Any], tolerance: float = 0.0, zh_range: ShareRange | None = None
) -> list[Regression]:
    """The rates of ``diff`` that got worse by more than ``tolerance`` (a share: 0.005 is half
    a point): the flagged rate, each flag's rate, the share of unreadable records skipped, and
    with ``zh_range`` the Chinese share's distance outside it."""
    limit = round(tolerance, 6)
    out = []
    for name, moved in _rates(diff):
        if moved["change"] is not None and moved["change"] > limit:
            out.append(Regression(name, moved["old"], moved["new"], moved["change"]))
    share = diff["zh_share"]
    if zh_range is not None and share["new"] is not None:
        further = round(outside(share["new"], zh_range) - outside(share["old"], zh_range), 6)
        if further > limit:
            out.append(Regression("zh_share", share["old"], share["new"], further, zh_range))
    return out


@dataclass
class BaselineCheck:
    """What ``check --baseline`` says: the differences from the baseline to the data checked,
    the rates that got worse by more than ``tolerance`` (a share), and whether they fail the
    check (``enforced``: ``--no-regress``)."""

    baseline: Baseline
    diff: dict[str, Any]
    regressions: list[Regression]
    tolerance: float = 0.0
    enforced: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.enforced and self.regressions else 0

    def lines(self, max_records: int = 50) -> list[str]:
        """One line per rate that got worse (``REGRESSION`` when enforced) or better, the
        records that newly fail (at most ``max_records``), notes, and a verdict."""
        since = f"since {self.baseline.path}"
        worse = {r.rate for r in self.regressions}
        out = [
            f"{'REGRESSION' if self.enforced else 'WORSE'} {r} {since}" for r in self.regressions
        ]
        for name, moved in _rates(self.diff):
            if name not in worse and moved["direction"] == "down":
                label = RATE_LABELS.get(name, f"{name} rate")
                out.append(
                    f"BETTER {label}: {percent(moved['old'])} -> {percent(moved['new'])} "
                    f"({points(moved['change'])}) {since}"
                )
        newly = self.diff["newly_failing"]
        if newly is not None:
            for record in newly["records"][:max_records]:
                where = f"{record['source']}[{record['index']}]"
                out.append(f"NEW {where}: {', '.join(record['flags'])}: newly failing {since}")
            if newly["count"] > max_records:
                out.append(f"... and {newly['count'] - max_records:,} more newly failing")
        sources = self.diff["sources"]
        if sources["only_old"] or sources["only_new"]:
            before, after = names(sources["only_old"]) or "-", names(sources["only_new"]) or "-"
            out.append(
                f"note: the files differ (only in the baseline: {before}; not in it: {after}): "
                "the totals are compared"
            )
        out += [f"note: {note}" for note in [*self.notes, *self.diff["notes"]]]
        out.append(f"langaudit check --baseline {self.baseline.path}: {self._verdict()}")
        return out

    def _verdict(self) -> str:
        n = len(self.regressions)
        verdict = f"{n} rate{'' if n == 1 else 's'} {'regressed' if self.enforced else 'worse'}"
        if not n:
            verdict = "no rate regressed" if self.enforced else "no rate worse"
        if self.tolerance:
            verdict += f" (tolerance {points(self.tolerance)})"
        newly, fixed = self.diff["newly_failing"], self.diff["no_longer_failing"]
        if newly is not None:
            verdict += (
                f"; {_records(newly['count'])} newly failing, {fixed['count']:,} no longer failing"
            )
        return verdict


def _records(count: int) -> str:
    return f"{count:,} record" + ("" if count == 1 else "s")


def against_baseline(
    baseline: Baseline,
    statistics: dict[str, Any],
    tolerance: float = 0.0,
    zh_range: ShareRange | None = None,
    enforced: bool = False,
    notes: Sequence[str] = (),
) -> BaselineCheck:
    """``check --baseline``: the statistics of the data checked (``AuditStats.to_dict()``)
    against the ``baseline`` report (``tolerance``: a share, 0.005 is half a point)."""
    diff = compare(baseline.report, statistics, baseline.path, None, zh_range)
    worse = regressions(diff, tolerance, zh_range)
    return BaselineCheck(baseline, diff, worse, tolerance, enforced, list(notes))


def _rates(diff: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The rates where lower is better, by name."""
    rates = [("flagged_rate", diff["flagged_rate"])]
    rates += [(flag, value["rate"]) for flag, value in diff["flags"].items()]
    rates.append(("skipped_share", diff["skipped_share"]))
    return rates


def outside(share: float | None, bounds: ShareRange) -> float:
    """How far ``share`` is outside ``bounds`` (0 inside, or when unknown)."""
    if share is None:
        return 0.0
    return max(bounds.low - share, share - bounds.high, 0.0)


# ---------------------------------------------------------------------------------------------
# Showing (shared by the terminal and the HTML page)

ARROWS = {"up": "↑", "down": "↓", "same": "="}


def arrow(direction: str | None) -> str:
    return ARROWS.get(direction or "", "·")


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.2%}"


def points(delta: float | None) -> str:
    """A change of a rate in percentage points: ``+1.25 pts``, ``-0.0083 pts``, ``0 pts``."""
    if delta is None:
        return ""
    value = delta * 100
    if value == 0:
        return "0 pts"
    text = f"{value:+.2f}" if abs(value) >= 0.01 else f"{value:+.2g}"
    return f"{text} pts"


def judged(direction: str | None, lower_is_better: bool) -> str:
    """``worse``, ``better`` or ``same`` for a rate that moved in ``direction``."""
    if direction in (None, "same") or not lower_is_better:
        return "same"
    return "worse" if direction == "up" else "better"


def rate_rows(diff: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """``(label, change, lower_is_better)`` of every rate, in the order shown."""
    rows = [("flagged (any flag)", diff["flagged_rate"], True)]
    rows += [(flag, value["rate"], True) for flag, value in diff["flags"].items()]
    rows.append(("unreadable, skipped", diff["skipped_share"], True))
    rows.append(("Chinese share of responses", diff["zh_share"], False))
    return rows


def moved_languages(diff: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(role, language entry)`` of the language shares that moved."""
    return [
        (role, entry)
        for role, entries in diff["languages"].items()
        for entry in entries
        if entry["share"]["direction"] not in (None, "same")
    ]


def changed_sources(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """The sources of both reports whose records, flagged rate or any flag's rate moved."""
    return [
        src
        for src in diff["sources"]["matched"]
        if any(
            moved["direction"] not in (None, "same")
            for moved in (src["records"], src["flagged_rate"], *src["flags"].values())
        )
    ]


def names(items: Iterable[str], shown: int = 5) -> str:
    items = list(items)
    text = ", ".join(items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")


# ---------------------------------------------------------------------------------------------
# langaudit diff

#: What the HTML page of a report reads besides what the differences read.
_PAGE_KEYS = ("langaudit_version", "inputs", "options", "matrix", "zh_variants", "histograms")


@dataclass
class ReportDiff:
    """Two reports read from files and the differences between them (``langaudit diff``)."""

    old_path: str
    new_path: str
    old: dict[str, Any]
    new: dict[str, Any]
    diff: dict[str, Any]

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The differences as JSON (written atomically to ``path`` when given)."""
        text = json.dumps(self.diff, ensure_ascii=False, indent=2) + "\n"
        if path is not None:
            from .output import write_text_atomic

            write_text_atomic(path, text)
        return text

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """The new report as a page with the changes since the old one (written atomically
        to ``path`` when given)."""
        from jinja2 import TemplateError

        from .report_html import render_html

        missing = [key for key in _PAGE_KEYS if key not in self.new]
        if missing:
            raise InputError(self.new_path, f"cannot show it as a page: no {missing[0]!r} key")
        try:
            text = render_html({"recommendations": [], **self.new, "baseline": self.diff})
        except (LookupError, TypeError, ValueError, AttributeError, TemplateError) as exc:
            problem = f"cannot show it as a page: damaged report ({exc})"
            raise InputError(self.new_path, problem, hint=HINT) from None
        if path is not None:
            from .output import write_text_atomic

            write_text_atomic(path, text)
        return text

    def print(self, console: Any = None, shown: int = 20) -> None:
        """The differences as terminal tables (on ``console``, a ``rich`` Console)."""
        from .diff_text import print_diff
        from .report_text import console_for

        print_diff(self.diff, console or console_for(), shown)


def diff_reports(old: str | os.PathLike[str], new: str | os.PathLike[str]) -> ReportDiff:
    """Read two audit reports (JSON files) and compare them."""
    before, after = load_report(old), load_report(new)
    old_name, new_name = os.fspath(old), os.fspath(new)
    return ReportDiff(old_name, new_name, before, after, compare(before, after, old_name, new_name))
