"""The audit report as one self-contained HTML page: inline CSS and SVG charts, no script, no
network. Every string from the data is escaped (Jinja2 autoescaping in the page, MarkupSafe in
the SVG built here), so records holding markup cannot run or break anything."""

from __future__ import annotations

import math
from importlib.resources import files
from typing import Any

from markupsafe import Markup, escape

from . import diff

#: Newly failing records listed in the section on the changes since a baseline.
HTML_RECORDS = 100
_PALETTE = ("#3b6fb6", "#d9822b", "#5a9e5a", "#b8473e", "#7d5ba6", "#8c6d46", "#c25f9c", "#6b7b8c")


def render_html(summary: dict[str, Any]) -> str:
    from jinja2 import Environment

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(
        files("langaudit").joinpath("templates/report.html").read_text(encoding="utf-8")
    )
    return template.render(
        s=summary,
        pct=_pct,
        charts={
            "flags": _flag_bars(summary["flags"], summary["records"]),
            "languages": {
                role: _language_bars(counts) for role, counts in summary["languages"].items()
            },
            "matrix": _heat_map(summary["matrix"]),
            "histograms": {
                name: _histogram(summary["histograms"][name], name.replace("_", " "))
                for name in ("prompt_han", "prompt_latin", "response_han", "response_latin")
            },
        },
        segments=_segments,
        diff=diff,
        html_records=HTML_RECORDS,
    )


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def _segments(example: dict[str, Any]) -> list[tuple[str, bool]]:
    """The response as (text, highlighted) pieces."""
    text, out, pos = example["response"], [], 0
    for a, b in sorted(example["highlights"]):
        if a < pos:
            continue
        out += [(text[pos:a], False), (text[a:b], True)]
        pos = b
    out.append((text[pos:], False))
    return [(t, h) for t, h in out if t]


def _svg(width: int, height: int, body: str, label: str) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"{body}</svg>"
    )


def _bars(items: list[tuple[str, int, str]], label: str, total: int | None = None) -> Markup:
    """Horizontal bars: (name, value, colour); the value as a count and share of ``total``."""
    if not items:
        return Markup('<p class="muted">none</p>')
    row, name_w, bar_w = 22, 110, 220
    top = max(v for _, v, _ in items) or 1
    total = total or sum(v for _, v, _ in items) or 1
    body = []
    for k, (name, value, colour) in enumerate(items):
        y = k * row
        w = max(1.0, value / top * bar_w) if value else 0
        body.append(
            f'<text x="{name_w - 6}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{name_w}" y="{y + 4}" width="{w:.1f}" height="14" fill="{colour}"/>'
            f'<text x="{name_w + w + 6:.1f}" y="{y + 15}">{value:,} ({value / total:.1%})</text>'
        )
    return _svg(name_w + bar_w + 130, len(items) * row + 4, "".join(body), label)


def _flag_bars(flags: dict[str, Any], records: int) -> Markup:
    items = [(f, v["count"], "#b8473e" if v["count"] else "#bbb") for f, v in flags.items()]
    if not any(v for _, v, _ in items):
        return Markup('<p class="ok">No record is flagged.</p>')
    return _bars(items, "records per flag (share of all records)", total=records)


def _language_bars(counts: dict[str, int]) -> Markup:
    langs = [(k, v) for k, v in counts.items() if k != "none"]
    total = sum(counts.values())
    shown = langs[:8]
    rest = sum(v for _, v in langs[8:])
    items = [(k, v, _PALETTE[i % len(_PALETTE)]) for i, (k, v) in enumerate(shown)]
    if rest:
        items.append(("other", rest, "#999"))
    if counts.get("none"):
        items.append(("none", counts["none"], "#ccc"))
    return _bars(items, "languages", total)


def _heat_map(matrix: dict[str, Any]) -> Markup:
    prompts, responses, counts = matrix["prompt"][:10], matrix["response"][:10], matrix["counts"]
    if not prompts or not responses:
        return Markup('<p class="muted">no records</p>')
    cell, left, top_m = 54, 90, 46
    peak = max((v for row in counts for v in row), default=0) or 1
    body = [
        f'<text x="{left + len(responses) * cell / 2}" y="12" text-anchor="middle" '
        f'class="axis">response language</text>',
        f'<text x="12" y="{top_m + len(prompts) * cell / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 12 {top_m + len(prompts) * cell / 2})">prompt language</text>',
    ]
    for j, r in enumerate(responses):
        x = left + j * cell + cell / 2
        body.append(f'<text x="{x}" y="{top_m - 8}" text-anchor="middle">{escape(r)}</text>')
    for i, p in enumerate(prompts):
        y = top_m + i * cell
        body.append(
            f'<text x="{left - 8}" y="{y + cell / 2 + 4}" text-anchor="end">{escape(p)}</text>'
        )
        for j, r in enumerate(responses):
            value = counts[i][j]
            x = left + j * cell
            strength = math.log1p(value) / math.log1p(peak) if value else 0
            colour = "59,111,182" if p == r or "none" in (p, r) else "217,130,43"
            body.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell - 2}" height="{cell - 2}" '
                f'fill="rgba({colour},{0.08 + 0.92 * strength:.3f})"><title>{escape(p)} → '
                f"{escape(r)}: {value:,}</title></rect>"
            )
            ink = "#fff" if strength > 0.6 else "#222"
            body.append(
                f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                f'style="fill:{ink}">{value:,}</text>'
            )
    width = left + len(responses) * cell + 10
    height = top_m + len(prompts) * cell + 10
    return _svg(width, height, "".join(body), "prompt language by response language")


def _histogram(counts: list[int], label: str) -> Markup:
    width, height, pad = 300, 120, 18
    bar = (width - 2 * pad) / len(counts)
    peak = max(counts) or 1
    base = height - pad
    body = [f'<line x1="{pad}" y1="{base}" x2="{width - pad}" y2="{base}" class="base"/>']
    for k, value in enumerate(counts):
        h = value / peak * (height - 2 * pad - 10)
        x = pad + k * bar
        body.append(
            f'<rect x="{x + 1:.1f}" y="{height - pad - h:.1f}" width="{bar - 2:.1f}" '
            f'height="{h:.1f}" fill="#3b6fb6"><title>{k * 5}–{(k + 1) * 5}%: {value:,}'
            "</title></rect>"
        )
    body.append(f'<text x="{pad}" y="{height - 4}">0%</text>')
    body.append(f'<text x="{width - pad}" y="{height - 4}" text-anchor="end">100%</text>')
    body.append(f'<text x="{width / 2}" y="12" text-anchor="middle">{escape(label)} ratio</text>')
    return _svg(width, height, "".join(body), f"{label} ratio histogram")
