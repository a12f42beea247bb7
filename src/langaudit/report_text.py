"""The audit report in the terminal: rich tables at most 100 columns wide.

Colour follows rich: none when the output is not a terminal or when ``NO_COLOR`` is set.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .registry import SKIPPED_KINDS, name_list

MAX_WIDTH = 100
_BLOCKS = " ▁▂▃▄▅▆▇█"
#: Languages shown in the matrix; the rest are summed into "other".
MATRIX_LANGS = 6
EXAMPLE_CHARS = 160
PROMPT_CHARS = 80
#: Examples shown per flag in the terminal (the JSON and HTML reports hold all that were kept).
TERMINAL_EXAMPLES = 3


def console_for(file: Any = None, width: int = MAX_WIDTH) -> Console:
    """A console on ``file`` (stdout by default) no wider than ``width``."""
    probe = Console(file=file)
    return Console(file=file, width=min(probe.width, width) if probe.is_terminal else width)


class Command(Text):
    """A shell command: printed unwrapped, so that it can be copied whole."""


def print_report(
    summary: dict[str, Any], console: Console | None = None, width: int = MAX_WIDTH
) -> None:
    console = console or console_for(width=width)
    for part in render(summary):
        console.print(part, soft_wrap=isinstance(part, Command))


def render(summary: dict[str, Any]) -> list[Any]:
    records = summary["records"]
    files = len(summary["sources"])
    head = Text.assemble(
        ("langaudit audit", "bold"),
        f": {_n(records, 'record')} in {_n(files, 'file')}, ",
        (f"{summary['flagged']:,} flagged", "bold red" if summary["flagged"] else "bold green"),
        f" ({_pct(summary['flagged_rate'])})",
    )
    if summary["skipped"]:
        head.append(f", {summary['skipped']:,} unreadable skipped", "yellow")
    limit, seed = summary["options"].get("limit"), summary["options"].get("sample_seed")
    if limit:
        sampled = f"sample of {limit:,} (seed {seed})" if seed is not None else f"first {limit:,}"
        head.append(f"; {sampled} per input", "yellow")
    parts: list[Any] = [head, ""]
    parts.append(_flags(summary))
    if summary.get("registry"):
        parts.append(_datasets(summary["registry"]))
    if files > 1 or summary["skipped"]:
        parts.append(_sources(summary))
    parts.append(_languages(summary))
    parts.append(_matrix(summary))
    parts.append(_share(summary))
    parts.append(_histograms(summary))
    parts.extend(_examples(summary))
    parts.extend(_recommendations(summary))
    if summary.get("baseline"):
        from .diff_text import render_diff

        title = f"Changes since baseline {escape(summary['baseline']['old']['report'] or '')}"
        parts.extend(render_diff(summary["baseline"], title=title))
    return parts


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _flags(summary: dict[str, Any]) -> Table:
    table = Table(title="Flags", title_justify="left", expand=False)
    table.add_column("flag")
    table.add_column("records", justify="right")
    table.add_column("rate", justify="right")
    table.add_column("", min_width=20)
    for flag, value in summary["flags"].items():
        bar = "█" * round(value["rate"] * 20) if value["count"] else ""
        style = "red" if value["count"] else "dim"
        table.add_row(flag, f"{value['count']:,}", _pct(value["rate"]), Text(bar, style))
    return table


def _sources(summary: dict[str, Any]) -> Table:
    table = Table(title="Files", title_justify="left")
    grouped = bool(summary.get("registry"))
    if grouped:
        table.add_column("dataset", overflow="fold", max_width=20)
    table.add_column("file", overflow="fold", max_width=40)
    table.add_column("records", justify="right")
    table.add_column("skipped", justify="right")
    table.add_column("flagged", justify="right")
    table.add_column("flags", overflow="fold")
    for src in summary["sources"]:
        flags = ", ".join(f"{k} {v}" for k, v in src["flags"].items() if v) or "-"
        table.add_row(
            *([escape(src["dataset"] or "-")] if grouped else []),
            escape(src["source"]),
            f"{src['records']:,}",
            f"{src['skipped']:,}",
            f"{src['flagged']:,}",
            flags,
        )
    return table


def _datasets(registry: dict[str, Any]) -> Table:
    table = Table(title=f"Datasets of {escape(registry['path'])}", title_justify="left")
    table.add_column("dataset", overflow="fold", max_width=28)
    table.add_column("records", justify="right")
    table.add_column("flagged", justify="right")
    table.add_column("flags", overflow="fold")
    skipped: dict[str, list[str]] = {}
    for d in registry["datasets"]:
        if d["status"] == "skipped":
            skipped.setdefault(d["skipped_kind"], []).append(d["name"])
            continue
        parts = [f"{k} {v}" for k, v in d["flags"].items() if v]
        if d["skipped_records"]:
            parts.append(f"{d['skipped_records']:,} unreadable skipped")
        flags = ", ".join(parts) or "-"
        flagged = f"{d['flagged']:,} ({_pct(d['flagged_rate'])})"
        table.add_row(escape(d["name"]), f"{d['records']:,}", flagged, flags)
    for kind, names in skipped.items():
        listed = name_list(names, SKIPPED_NAMES)
        why = Text(f"{SKIPPED_KINDS.get(kind, kind)}: {listed}", "dim")
        table.add_row(f"{len(names)} skipped", "-", "-", why)
    return table


#: Skipped datasets of a registry are named, this many per kind, in the terminal.
SKIPPED_NAMES = 6


def _languages(summary: dict[str, Any]) -> Table:
    table = Table(title="Languages per role (records)", title_justify="left")
    table.add_column("role")
    table.add_column("languages", overflow="fold")
    for role, counts in summary["languages"].items():
        total = sum(counts.values())
        present = {k: v for k, v in counts.items() if k != "none"}
        if not present:
            continue
        shown = ", ".join(f"{k} {v:,} ({v / total:.0%})" for k, v in list(present.items())[:8])
        if len(present) > 8:
            shown += f", +{len(present) - 8} more"
        if counts.get("none"):
            shown += f"; none {counts['none']:,}"
        table.add_row(role, shown)
    return table


def _matrix(summary: dict[str, Any]) -> Table:
    matrix = summary["matrix"]
    prompts, responses, counts = matrix["prompt"], matrix["response"], matrix["counts"]
    cols = responses[:MATRIX_LANGS]
    rows = prompts[:MATRIX_LANGS]
    table = Table(title="Prompt language × response language (records)", title_justify="left")
    table.add_column("prompt \\ response")
    for r in cols:
        table.add_column(r, justify="right")
    if len(responses) > MATRIX_LANGS:
        table.add_column("other", justify="right")
    for i, p in enumerate(prompts):
        if i >= MATRIX_LANGS:
            break
        row = counts[i]
        cells = []
        for j, r in enumerate(cols):
            value = row[j]
            style = "" if p == r or not value or "none" in (p, r) else "yellow"
            cells.append(_count(value, style))
        if len(responses) > MATRIX_LANGS:
            cells.append(_count(sum(row[MATRIX_LANGS:])))
        table.add_row(p, *cells)
    if len(prompts) > MATRIX_LANGS:
        rest = [
            sum(counts[i][j] for i in range(len(rows), len(prompts))) for j in range(len(responses))
        ]
        cells = [_count(v) for v in rest[:MATRIX_LANGS]]
        if len(responses) > MATRIX_LANGS:
            cells.append(_count(sum(rest[MATRIX_LANGS:])))
        table.add_row("other", *cells)
    return table


def _count(value: int, style: str = "") -> Text:
    return Text(f"{value:,}" if value else "·", style)


def _share(summary: dict[str, Any]) -> Text:
    share = summary["zh_share"]
    variants = summary["zh_variants"]
    if share is None:
        return Text("Chinese share of responses: - (no response language known)")
    text = Text.assemble("Chinese share of responses: ", (f"{share:.1%}", "bold"))
    chinese = variants.get("zh-Hans", 0) + variants.get("zh-Hant", 0)
    if chinese:
        simplified, traditional = variants.get("zh-Hans", 0), variants.get("zh-Hant", 0)
        text.append(f"  (Simplified {simplified:,}, Traditional {traditional:,})")
    return text


def _histograms(summary: dict[str, Any]) -> Table:
    hist = summary["histograms"]
    table = Table(title="Script ratios (records per 5% bin)", title_justify="left")
    table.add_column("share of letters")
    table.add_column("0% " + "·" * (len(hist["prompt_han"]) - 7) + " 100%", no_wrap=True)
    table.add_column("records", justify="right")
    for name in ("prompt_han", "prompt_latin", "response_han", "response_latin"):
        counts = hist[name]
        top = max(counts) or 1
        bars = "".join(_BLOCKS[max(1, round(c / top * 8))] if c else " " for c in counts)
        table.add_row(name.replace("_", " "), Text(bars, "cyan"), f"{sum(counts):,}")
    return table


def _examples(summary: dict[str, Any]) -> list[Any]:
    parts: list[Any] = []
    for flag, examples in summary["examples"].items():
        if not examples:
            continue
        items = []
        for e in examples[:TERMINAL_EXAMPLES]:
            where = f"{e['source']}[{e['index']}]" + (f" turn {e['turn']}" if e["turn"] else "")
            items.append(Text.assemble((where, "bold"), "  ", e["reason"]))
            if e["prompt"]:
                prompt = " ".join(e["prompt"].split())
                clipped = prompt[:PROMPT_CHARS] + ("…" if len(prompt) > PROMPT_CHARS else "")
                items.append(Text("  prompt: " + clipped, "dim"))
            items.append(_excerpt(e))
        parts.append(Panel(Group(*items), title=f"worst {flag}", title_align="left"))
    return parts


def _excerpt(example: dict[str, Any]) -> Text:
    """The response around its first highlight, highlights in bold red."""
    text = example["response"]
    marks = example["highlights"]
    first = marks[0][0] if marks else 0
    start = max(0, min(first - EXAMPLE_CHARS // 4, len(text) - EXAMPLE_CHARS))
    end = min(len(text), start + EXAMPLE_CHARS)
    out = Text("  " + ("…" if start > 0 or example["clipped_before"] else ""), "dim")
    shown = Text(text[start:end].replace("\n", " ⏎ "))

    # offsets shift where a newline became three characters
    def shift(pos: int) -> int:
        return pos - start + 2 * text.count("\n", start, pos)

    for a, b in marks:
        if a < end and b > start:
            shown.stylize("bold red reverse", shift(max(a, start)), shift(min(b, end)))
    out.append_text(shown)
    if end < len(text) or example["clipped_after"]:
        out.append("…", "dim")
    if not text:
        out.append("(empty)", "dim italic")
    return out


def _recommendations(summary: dict[str, Any]) -> list[Any]:
    recs = summary["recommendations"]
    if not recs:
        return [Text("No recommendations: nothing to fix.", "bold green")]
    parts: list[Any] = [Rule("Recommendations", align="left")]
    for k, rec in enumerate(recs, 1):
        parts.append(Text.assemble((f"{k}. {rec['title']}", "bold")))
        parts.append(Padding(Text(rec["detail"]), (0, 0, 0, 3)))
        commands = rec["commands"]
        parts.append(Command("   $ " + commands[0], "cyan"))
        if len(commands) > 1:
            more = len(commands) - 1
            note = f"(the same for {_n(more, 'more file')}: see the JSON or HTML report)"
            parts.append(Padding(Text(note, "dim"), (0, 0, 0, 3)))
    return parts
