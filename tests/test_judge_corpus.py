"""Accuracy of the judge on the project's own labelled corpus (tests/data/judge_cases.jsonl).

Precision, recall and F1 per flag over every case; the thresholds are the issue's bar. The
per-case checks of expectations and spans are reported together, as an accuracy.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import langaudit
from langaudit.judge import FLAGS

CASES_PATH = Path(__file__).parent / "data" / "judge_cases.jsonl"
MIN_F1 = 0.95
MIN_DETAIL_ACCURACY = 0.9


def _cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CASES_PATH.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def results() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for case in _cases():
        options = dict(case.get("options", {}))
        if "allow_terms" in options:
            options["allow_terms"] = tuple(options["allow_terms"])
        [row] = langaudit.scan([case["record"]], **options).to_pylist()
        out.append((case, row))
    return out


def _scores(results: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, dict[str, float]]:
    scores = {}
    for flag in FLAGS:
        tally: Counter[str] = Counter()
        for case, row in results:
            want, got = flag in case["flags"], flag in row["flags"]
            tally["tp" if want and got else "fn" if want else "fp" if got else "tn"] += 1
        precision = tally["tp"] / max(tally["tp"] + tally["fp"], 1)
        recall = tally["tp"] / max(tally["tp"] + tally["fn"], 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        scores[flag] = {"precision": precision, "recall": recall, "f1": f1, **tally}
    return scores


def test_corpus_is_well_formed() -> None:
    cases = _cases()
    assert len(cases) >= 400
    assert len({c["id"] for c in cases}) == len(cases)
    for case in cases:
        assert set(case["flags"]) <= set(FLAGS), case["id"]
    positives = Counter(f for c in cases for f in c["flags"])
    assert all(positives[f] >= 15 for f in FLAGS), positives


@pytest.mark.parametrize("flag", FLAGS)
def test_flag_f1(results: list[tuple[dict[str, Any], dict[str, Any]]], flag: str) -> None:
    score = _scores(results)[flag]
    misses = [
        (case["id"], sorted(row["flags"]))
        for case, row in results
        if (flag in case["flags"]) != (flag in row["flags"])
    ]
    assert score["f1"] >= MIN_F1, (score, misses[:40])


def test_expectations_and_spans(results: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    checks, wrong = 0, []
    for case, row in results:
        for key in ("expected_lang", "expected_source"):
            if key in case:
                checks += 1
                if case[key] != row[key]:
                    wrong.append((case["id"], key, case[key], row[key]))
        spans = " | ".join(s["text"] for s in row["code_switch_spans"])
        for text in case.get("spans", []):
            checks += 1
            if not any(text in s["text"] or s["text"] in text for s in row["code_switch_spans"]):
                wrong.append((case["id"], "span", text, spans))
        for text in case.get("not_spans", []):
            checks += 1
            if any(text in s["text"] for s in row["code_switch_spans"]):
                wrong.append((case["id"], "not_span", text, spans))
    assert checks > 300
    assert 1 - len(wrong) / checks >= MIN_DETAIL_ACCURACY, wrong[:40]
