"""The HTML report in a real headless Chromium: it renders, its charts are there, and records
holding markup neither run nor break the page.

Needs Debian's ``chromium`` (``.ci/run`` installs it); skipped without it, except in CI
(``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import langaudit

ROOT = Path(__file__).resolve().parents[1]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")

if BROWSER is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs it", pytrace=False)
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]

_MARK = "document.body.setAttribute('data-xss','{}')"
PAYLOADS = [
    f"<script>{_MARK.format('script')}</script>",
    f'<img src=x onerror="{_MARK.format("img")}">',
    f"</textarea><script>{_MARK.format('textarea')}</script>",
    f'<svg onload="{_MARK.format("svg")}"></svg>',
    f'"><iframe src="javascript:{_MARK.format("iframe")}"></iframe>',
    "{{ 7*7 }} {% if true %}jinja{% endif %}",
    "</pre></div></body><marquee>moving</marquee>",
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    profile = tmp_path / "profile"
    return subprocess.run(
        [BROWSER, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class _Dom(HTMLParser):
    """Elements, attributes and text of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _dom(tmp_path: Path, page: Path) -> _Dom:
    result = _chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<html" in result.stdout, result.stderr[-2000:]
    dom = _Dom()
    dom.feed(result.stdout)
    return dom


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report built from records whose prompts, answers, code-switched spans and file name
    hold markup."""
    tmp = tmp_path_factory.mktemp("xss")
    records = []
    for payload in PAYLOADS:
        answer = (
            f"这个问题很 interesting，然后我们 evaluate 一下。\n{payload}\n以上就是全部的内容。"
        )
        records.append(
            {
                "conversations": [
                    {"from": "human", "value": f"请解释一下：{payload}"},
                    {"from": "gpt", "value": answer},  # a code switch, shown as an example
                ]
            }
        )
        # the payload inside a highlighted span: Chinese in an English answer
        records.append(
            {
                "conversations": [
                    {"from": "human", "value": "Explain it."},
                    {"from": "gpt", "value": f"It means 你好{payload}世界 in the text."},
                ]
            }
        )
    data = tmp / '<img src=x onerror="alert(1)">.jsonl'
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    page = tmp / "report.html"
    report = langaudit.audit(str(data), examples=20)
    shown = json.dumps(report.summary["examples"], ensure_ascii=False)
    for payload in PAYLOADS:
        assert json.dumps(payload, ensure_ascii=False)[1:-1] in shown, payload
    report.to_html(page)
    return page


def test_markup_in_records_is_shown_as_text_and_never_runs(
    tmp_path: Path, hostile_report: Path
) -> None:
    dom = _dom(tmp_path, hostile_report)
    body = [attrs for tag, attrs in dom.tags if tag == "body"]
    assert body and "data-xss" not in body[0], "a payload ran"
    tags = {tag for tag, _ in dom.tags}
    # the page itself has none of these: any would come from a record
    assert not tags & {"script", "img", "iframe", "textarea", "marquee"}, tags
    handlers = [(tag, a) for tag, attrs in dom.tags for a in attrs if a.startswith("on")]
    assert handlers == []
    text = "".join(dom.text)
    for payload in PAYLOADS:
        assert payload in text, payload  # shown literally
    assert "49" not in text.split("{{ 7*7 }}")[0][-5:]
    assert "alert(1)" in text  # the file name, escaped


def test_page_renders_with_its_charts(tmp_path: Path) -> None:
    page = tmp_path / "examples.html"
    report = langaudit.audit(str(ROOT / "examples"))
    report.to_html(page)
    dom = _dom(tmp_path, page)
    charts = [attrs for tag, attrs in dom.tags if tag == "svg" and attrs.get("class") == "chart"]
    # flags, languages of three roles, the matrix, four histograms
    assert len(charts) >= 9, len(charts)
    labels = {attrs.get("aria-label") for attrs in charts}
    assert "prompt language by response language" in labels
    assert {"response han ratio histogram", "prompt latin ratio histogram"} <= labels
    marks = [tag for tag, _ in dom.tags if tag == "mark"]
    assert len(marks) >= 5  # highlighted spans in the examples
    text = "".join(dom.text)
    assert "langaudit rewrite" in text and "Recommendations" in text
    shot = tmp_path / "shot.png"
    result = _chromium(tmp_path, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_page_is_self_contained() -> None:
    html = langaudit.audit(str(ROOT / "examples" / "sharegpt_chat.jsonl")).to_html()
    for needle in ("http://", "https://", "<script", "<link", "@import", "src="):
        if needle == "http://":
            # only the SVG namespace, which is an identifier and never fetched
            assert html.count(needle) == html.count('xmlns="http://www.w3.org/2000/svg"')
        else:
            assert needle not in html, needle
    assert "Noto Sans CJK SC" in html and "PingFang SC" in html and "Microsoft YaHei" in html


def test_changes_since_a_baseline_render_and_their_strings_never_run(tmp_path: Path) -> None:
    """The section on the changes since a baseline, with markup in the file names of both
    reports (shown in the section: the baseline's path, the sources of newly failing records)."""

    def alpaca(prompt: str, answer: str) -> dict[str, str]:
        return {"instruction": prompt, "input": "", "output": answer}

    clean = alpaca("你好吗？", "我很好，谢谢你。今天天气不错，我们出去走走吧。")
    switched = alpaca("你好吗？", "我很好，谢谢你。今天的weather很nice，我们去hiking吧。")
    mismatch = alpaca("Explain what a neural network is.", "神经网络是一种模仿人脑结构的计算模型。")
    payload = f'<img src=x onerror="{_MARK.format("baseline")}">'
    old, new = tmp_path / f"old{payload}.jsonl", tmp_path / f"new{payload}.jsonl"
    for path, records in ((old, [clean, mismatch]), (new, [mismatch, switched, clean])):
        lines = [json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    baseline = tmp_path / f"{payload}.json"
    langaudit.audit(str(old)).to_json(baseline)
    page = tmp_path / "report.html"
    langaudit.audit(str(new), baseline=baseline).to_html(page)
    dom = _dom(tmp_path, page)
    body = [attrs for tag, attrs in dom.tags if tag == "body"]
    assert body and "data-xss" not in body[0], "a payload ran"
    assert not [tag for tag, _ in dom.tags if tag == "img"]
    text = "".join(dom.text)
    assert "Changes since baseline" in text and f"compared with {baseline}" in text
    assert "Newly failing records: 1" in text and f"{new} [1]" in text
    assert "↑ +33.33 pts" in text  # code_switch: 0 of 2 -> 1 of 3
    cells = [attrs.get("class") for tag, attrs in dom.tags if tag == "td"]
    assert "num worse" in cells and "num better" in cells
