"""The differences between two audit reports in the terminal: rich tables at most 100 columns
wide, as the report's (colour only on a terminal without ``NO_COLOR``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .diff import (
    arrow,
    changed_sources,
    judged,
    moved_languages,
    names,
    percent,
    points,
    rate_rows,
)

#: Newly failing records listed by default (the JSON lists them all).
SHOWN_RECORDS = 20
_STYLE = {"worse": "red", "better": "green", "same": ""}


def print_diff(diff: dict[str, Any], console: Console, shown: int = SHOWN_RECORDS) -> None:
    for part in render_diff(diff, shown):
        console.print(part)


def render_diff(diff: dict[str, Any], shown: int = SHOWN_RECORDS, title: str = "") -> list[Any]:
    """The differences as renderables: a head line (or a rule with ``title``), the rates, the
    language shares and the files that moved, the records that newly fail (the first
    ``shown``)."""
    old, new = diff["old"], diff["new"]
    records = diff["records"]
    if title:
        parts: list[Any] = [Rule(title, align="left")]
    else:
        head = Text.assemble(
            ("langaudit diff", "bold"),
            f": {old['report'] or 'old'} ({_n(records['old'], 'record')}) → "
            f"{new['report'] or 'new'} ({_n(records['new'], 'record')})",
        )
        parts = [head, ""]
    parts.append(_rates(diff))
    languages = _languages(diff)
    parts.append(languages if languages is not None else Text("Language shares: unchanged"))
    sources = _sources(diff)
    if sources is not None:
        parts.append(sources)
    for side in ("only_old", "only_new"):
        if diff["sources"][side]:
            which = "the old" if side == "only_old" else "the new"
            parts.append(Text(f"Only in {which} report: {names(diff['sources'][side])}"))
    parts.extend(_records(diff, shown))
    for note in diff["notes"]:
        parts.append(Text(f"Note: {note}", "yellow"))
    return parts


def _n(count: int | None, noun: str) -> str:
    count = count or 0
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _moved(value: dict[str, Any], lower_is_better: bool = True) -> Text:
    verdict = judged(value["direction"], lower_is_better)
    text = f"{arrow(value['direction'])} {points(value['change'])}".rstrip()
    return Text(text, _STYLE[verdict])


def _rates(diff: dict[str, Any]) -> Table:
    table = Table(title="Rates (share of records)", title_justify="left")
    table.add_column("rate")
    table.add_column("old", justify="right")
    table.add_column("new", justify="right")
    table.add_column("change", justify="right")
    for label, value, lower_is_better in rate_rows(diff):
        table.add_row(
            label, percent(value["old"]), percent(value["new"]), _moved(value, lower_is_better)
        )
    for key, label in (("records", "records"), ("skipped", "unreadable, skipped (records)")):
        value = diff[key]
        delta = value["change"]
        moved = "" if delta is None else f"{arrow(value['direction'])} {delta:+,}" if delta else "="
        table.add_row(label, f"{value['old']:,}", f"{value['new']:,}", moved, style="dim")
    return table


def _languages(diff: dict[str, Any]) -> Table | None:
    moved = moved_languages(diff)
    if not moved:
        return None
    table = Table(title="Language shares that moved (share of records)", title_justify="left")
    table.add_column("role")
    table.add_column("language")
    table.add_column("old", justify="right")
    table.add_column("new", justify="right")
    table.add_column("change", justify="right")
    for role, entry in moved:
        share = entry["share"]
        table.add_row(
            role,
            escape(entry["lang"]),
            percent(share["old"]),
            percent(share["new"]),
            _moved(share, lower_is_better=False),
        )
    return table


def _sources(diff: dict[str, Any]) -> Table | None:
    changed = changed_sources(diff)
    if not changed:
        return None
    table = Table(title="Files in both reports that changed", title_justify="left")
    table.add_column("file", overflow="fold", max_width=40)
    table.add_column("records", justify="right")
    table.add_column("flagged", justify="right")
    table.add_column("change", justify="right")
    table.add_column("flags that moved", overflow="fold")
    for src in changed:
        records, rate = src["records"], src["flagged_rate"]
        flags = ", ".join(
            f"{flag} {arrow(v['direction'])}{points(v['change']).replace(' pts', '')}"
            for flag, v in src["flags"].items()
            if v["direction"] not in (None, "same")
        )
        table.add_row(
            escape(src["source"]),
            f"{records['old']:,} → {records['new']:,}",
            f"{percent(rate['old'])} → {percent(rate['new'])}",
            _moved(rate),
            flags or "-",
        )
    return table


def _records(diff: dict[str, Any], shown: int) -> list[Any]:
    newly, fixed = diff["newly_failing"], diff["no_longer_failing"]
    if newly is None:
        return []
    count = newly["count"]
    head = Text.assemble(
        ("Newly failing records: ", "bold"),
        (f"{count:,}", "bold red" if count else "bold green"),
    )
    if fixed is not None and fixed["count"]:
        head.append(f"  (no longer failing: {fixed['count']:,})", "green")
    parts: list[Any] = [head]
    for record in newly["records"][:shown]:
        line = Text.assemble(
            "  ",
            (f"{record['source']}[{record['index']}]", "bold"),
            "  ",
            ", ".join(record["flags"]),
        )
        if record.get("reason"):
            line.append(f"  {record['reason']}", "dim")
        parts.append(line)
    if count > shown:
        parts.append(
            Text(f"  ... and {count - shown:,} more (all in the JSON: --json FILE)", "dim")
        )
    return parts
