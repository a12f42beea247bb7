"""What the judgement costs: ``langaudit scan`` now against the foundation scan, on one core.

The foundation is the package at git commit ``7c4c0ef`` (``--foundation``), before the judgement
(expected language from instructions, translation requests and configuration, code-switched
spans, punctuation width, Simplified/Traditional mixes) was added: it only compared the
response's language with the prompt's and found empty responses. In the same run, on the same
data and pinned to the same CPU, it times ``python -m langaudit scan FILE -o out.parquet``

  (a) from the foundation package, extracted with ``git archive`` into a temporary directory and
      put first on the child's PYTHONPATH, and
  (b) from a copy of the current working tree's package taken when the benchmark starts,

in ``--repeat`` rounds (default 3) that alternate which of the two goes first; the fastest run
of each counts. Two data sets of ``--records`` records each (default 100,000), built in a
temporary directory by repeating real records:

  zh  the ShareGPT sample ``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl``;
  en  LLaMA-Factory's ``kto_en_demo.json`` (converted to ShareGPT ``conversations``) and
      ``glaive_toolcall_en_demo.json`` (tool calls, kept as they are), interleaved: English
      responses take the judge down other paths (Chinese in English text, full-width
      punctuation, English prompts) and nearly all their texts reach fastText.

The figure is the wall-time ratio current / foundation per data set (target <= 1.30: the
judgement adds at most ~30%). The machine is shared and noisy, so only such same-run ratios
matter. Usage::

    python benchmarks/bench_judge.py [--records N] [--repeat R] [--cpu C] [--json results.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_scan import build_data
from benchcommon import (
    DEFAULT_SOURCE,
    REPO_ROOT,
    child_env,
    default_cpu,
    pin,
    run_pinned,
    snapshot_langaudit,
)

FOUNDATION = "7c4c0ef"
TARGET_RATIO = 1.30
LLAMAFACTORY = REPO_ROOT / ".." / "shared" / "data" / "llamafactory"
DEFAULT_EN_SOURCES = (
    LLAMAFACTORY / "kto_en_demo.json",
    LLAMAFACTORY / "glaive_toolcall_en_demo.json",
)
VERSIONS = {
    "foundation": "(a) foundation scan",
    "current": "(b) current scan (with judgement)",
}
DATASETS = {
    "zh": "ShareGPT zh (medicalgpt sharegpt_zh_1K)",
    "en": "English (kto_en_demo + glaive_toolcall_en_demo)",
}

log = lambda msg: print(f"[bench_judge] {msg}", file=sys.stderr, flush=True)  # noqa: E731


# ---------------------------------------------------------------------------------------------
# The two packages


def extract_foundation(commit: str, workdir: Path) -> dict[str, Any]:
    """``git archive COMMIT src/langaudit | tar -x`` into ``workdir/foundation``."""
    git = ["git", "-C", str(REPO_ROOT)]
    try:
        full = subprocess.run(
            [*git, "rev-parse", "--verify", f"{commit}^{{commit}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(
            f"bench_judge: cannot resolve commit {commit} in {REPO_ROOT}: {error}"
        ) from error
    target = workdir / "foundation"
    target.mkdir()
    archive = subprocess.Popen(
        [*git, "archive", full, "src/langaudit"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    tar = subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout)
    assert archive.stdout is not None
    archive.stdout.close()
    archive_err = archive.stderr.read() if archive.stderr else b""
    if archive.wait() != 0 or tar.returncode != 0:
        raise SystemExit(f"bench_judge: git archive {full} failed: {archive_err.decode()}")
    package = target / "src" / "langaudit"
    if not (package / "__main__.py").is_file():
        raise SystemExit(f"bench_judge: {commit} has no src/langaudit/__main__.py")
    return {"commit": full[:12], "pythonpath": str(package.parent)}


def check_import(name: str, env: dict[str, str], pythonpath: str) -> str:
    """The langaudit a child with ``env`` imports must be the one under ``pythonpath``."""
    probe = subprocess.run(
        [sys.executable, "-c", "import langaudit; print(langaudit.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    if not Path(probe).resolve().is_relative_to(Path(pythonpath).resolve()):
        raise SystemExit(f"bench_judge: the {name} child imports {probe}, not from {pythonpath}")
    return probe


# ---------------------------------------------------------------------------------------------
# Data


def english_source(sources: list[Path], target: Path) -> Path:
    """The English records as one ShareGPT JSONL: a file's records interleaved with the other's.

    Records in ``messages`` (role/content) shape are converted to ShareGPT ``conversations``
    (from/value), since one file must have one shape; everything else is kept as it is.
    """
    import orjson

    roles = {"user": "human", "assistant": "gpt", "system": "system"}
    lists = []
    for path in sources:
        records = orjson.loads(path.read_bytes())
        if not isinstance(records, list) or not records:
            raise SystemExit(f"bench_judge: {path} is not a non-empty JSON array of records")
        converted = []
        for record in records:
            if "conversations" not in record and "messages" in record:
                messages = record.pop("messages")
                record = {
                    "conversations": [
                        {"from": roles.get(m["role"], m["role"]), "value": m["content"]}
                        for m in messages
                    ],
                    **record,
                }
            converted.append(orjson.dumps(record) + b"\n")
        lists.append(converted)
    with open(target, "wb") as f:
        for i in range(max(map(len, lists))):
            for records in lists:
                if i < len(records):
                    f.write(records[i])
    return target


def build_datasets(
    zh_source: Path, en_sources: list[Path], workdir: Path, records: int
) -> dict[str, Any]:
    """Both data sets, each ``records`` records; bench_scan's builder counts texts and chars."""
    en_source = english_source(en_sources, workdir / "en_source.jsonl")
    data = {}
    for name, source in (("zh", zh_source), ("en", en_source)):
        folder = workdir / name
        folder.mkdir()
        info = build_data(source, folder, records, 0)
        Path(info["naive"]["path"]).unlink(missing_ok=True)
        data[name] = {**info["full"], "source": str(source), "label": DATASETS[name]}
    data["en"]["made_from"] = [str(p) for p in en_sources]
    return data


# ---------------------------------------------------------------------------------------------
# Running


def run_scan(path: Path, out: Path, cpu: int | None, env: dict[str, str]) -> dict[str, Any]:
    """``python -m langaudit scan PATH -o OUT`` pinned to ``cpu``: wall and CPU seconds, rows."""
    import pyarrow.parquet as pq

    cmd = [sys.executable, "-m", "langaudit", "scan", str(path), "-o", str(out)]
    proc, wall, cpu_s = run_pinned(cmd, cpu, env)
    summary = proc.stderr.strip().splitlines()[-1:]
    result = {
        "wall_s": wall,
        "cpu_s": cpu_s,
        "rows": pq.ParquetFile(out).metadata.num_rows,
        "output_bytes": out.stat().st_size,
        "flags": _flags(summary[0]) if summary else {},
    }
    out.unlink()
    return result


def _flags(summary: str) -> dict[str, int]:
    """Flag counts from the CLI's closing line ``scanned ... ; flags: a 3, b 1`` (or ``none``)."""
    _, _, text = summary.partition("flags: ")
    counts = {}
    for item in text.split(", "):
        name, _, count = item.rpartition(" ")
        if name and count.isdigit():
            counts[name] = int(count)
    return counts


# ---------------------------------------------------------------------------------------------
# Report


def summarise(runs: dict[str, dict[str, list[dict[str, Any]]]], data: dict[str, Any]) -> Any:
    """Per data set: the fastest run of each version, records/s, and current / foundation."""
    result: dict[str, Any] = {}
    for dataset, by_version in runs.items():
        records = data[dataset]["records"]
        best = {}
        for version, results in by_version.items():
            fastest = min(results, key=lambda r: r["wall_s"])
            best[version] = {
                "label": VERSIONS[version],
                "wall_s": fastest["wall_s"],
                "cpu_s": fastest["cpu_s"],
                "records_per_s": records / fastest["wall_s"],
                "chars_per_s": data[dataset]["chars"] / fastest["wall_s"],
                "all_wall_s": [r["wall_s"] for r in results],
                "rows": fastest["rows"],
                "flags": fastest["flags"],
            }
        ratio = best["current"]["wall_s"] / best["foundation"]["wall_s"]
        cpu_ratio = best["current"]["cpu_s"] / best["foundation"]["cpu_s"]
        # the two runs of one round ran back to back: their ratio is the least exposed to a
        # change of the machine's load over the whole run
        paired = [
            c["wall_s"] / f["wall_s"]
            for f, c in zip(by_version["foundation"], by_version["current"], strict=True)
        ]
        result[dataset] = {
            "label": data[dataset]["label"],
            "records": records,
            "texts": data[dataset]["texts"],
            "chars": data[dataset]["chars"],
            "bytes": data[dataset]["bytes"],
            "versions": best,
            "ratio": ratio,
            "cpu_time_ratio": cpu_ratio,
            "round_ratios": paired,
            "median_round_ratio": statistics.median(paired),
            "added_pct": (ratio - 1) * 100,
            "target": TARGET_RATIO,
            "met": ratio <= TARGET_RATIO,
        }
    return result


def markdown(summary: dict[str, Any], repeat: int) -> str:
    rows = [
        f"| data set | version | wall s (best of {repeat}) | CPU s | records/s | chars/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in summary.values():
        for v in s["versions"].values():
            rounds = ", ".join(f"{w:.1f}" for w in v["all_wall_s"])
            rows.append(
                f"| {s['label']} | {v['label']} | {v['wall_s']:.1f} ({rounds}) | "
                f"{v['cpu_s']:.1f} | {v['records_per_s']:,.0f} | "
                f"{v['chars_per_s'] / 1e6:,.2f} M |"
            )
    rows += [
        "",
        "| data set | records | wall-time ratio current / foundation (best of each) | "
        "CPU-time ratio | per-round ratios (median) | target | met |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for s in summary.values():
        rounds = ", ".join(f"{r:.2f}" for r in s["round_ratios"])
        rows.append(
            f"| {s['label']} | {s['records']:,} | **{s['ratio']:.2f}x** "
            f"({s['added_pct']:+.0f}%) | {s['cpu_time_ratio']:.2f}x | {rounds} "
            f"({s['median_round_ratio']:.2f}x) | <= {s['target']:.2f}x | "
            f"{'yes' if s['met'] else 'NO'} |"
        )
    rows += ["", "| data set | flags, foundation | flags, current |", "|---|---|---|"]
    for s in summary.values():
        flags = [
            ", ".join(f"{k} {n:,}" for k, n in s["versions"][v]["flags"].items()) or "none"
            for v in ("foundation", "current")
        ]
        rows.append(f"| {s['label']} | {flags[0]} | {flags[1]} |")
    return "\n".join(rows)


NOTES = [
    "Each figure is the wall time of a whole `python -m langaudit scan FILE -o out.parquet` "
    "process (interpreter start-up, imports, model and lexicon loading, reading, annotating, "
    "Parquet writing), the fastest of the rounds; both versions ran in the same rounds, on the "
    "same file, pinned to the same CPU, the order alternating from round to round.",
    "ratio = current wall seconds / foundation wall seconds (> 1: the judgement costs time); "
    "the CPU-time ratio (user + sys of each process) and the ratios of the two back-to-back "
    "runs of each round are cross-checks against noise; the target applies to the first.",
    "Both versions wrote one row per record (checked for every run); the flag counts show what "
    "each judged.",
]


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--records",
        type=int,
        default=100_000,
        help="records in each data set (default 100000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds; the fastest run of each version counts (default 3)",
    )
    parser.add_argument(
        "--foundation",
        default=FOUNDATION,
        help="git commit of the foundation scan (default %(default)s)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="the real ShareGPT JSONL of the zh data set (default: %(default)s)",
    )
    parser.add_argument(
        "--en-sources",
        type=Path,
        nargs="+",
        default=list(DEFAULT_EN_SOURCES),
        help="JSON arrays of English records, interleaved into the en data set",
    )
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="CPU to pin every scan to (default: the highest allowed one)",
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
        help="run the live langaudit package as (b) instead of a copy taken at start",
    )
    args = parser.parse_args(argv)

    sources = [args.source.resolve(), *(p.resolve() for p in args.en_sources)]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        print(
            "bench_judge: real data missing: " + ", ".join(missing) + "\n  expected "
            f"../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl and "
            f"../shared/data/llamafactory/{{kto_en_demo,glaive_toolcall_en_demo}}.json next to "
            f"the repository ({REPO_ROOT}); pass --source / --en-sources",
            file=sys.stderr,
        )
        return 2
    if args.records < 1 or args.repeat < 1:
        parser.error("need --records >= 1 and --repeat >= 1")
    cpu = args.cpu if args.cpu is not None else default_cpu()
    pinned = pin(cpu)
    child_cpu = cpu if pinned else None
    workdir = Path(tempfile.mkdtemp(prefix="langaudit-bench-judge-", dir=args.tmpdir))
    if workdir.resolve().is_relative_to(REPO_ROOT):
        shutil.rmtree(workdir)
        parser.error("--tmpdir must be outside the repository")
    try:
        foundation = extract_foundation(args.foundation, workdir)
        current = None if args.no_snapshot else snapshot_langaudit(workdir, "bench_judge")
        envs = {
            "foundation": child_env(foundation["pythonpath"]),
            "current": child_env(current["pythonpath"] if current else None),
        }
        imported = {
            "foundation": check_import("foundation", envs["foundation"], foundation["pythonpath"]),
            "current": check_import(
                "current",
                envs["current"],
                current["pythonpath"] if current else str(REPO_ROOT / "src"),
            ),
        }
        log(f"foundation {foundation['commit']} from {imported['foundation']}")
        log(
            f"current: {imported['current']}"
            + (f" (snapshot {current['sha256']}, {current['git']})" if current else "")
        )
        log(f"building 2 x {args.records:,} records in {workdir}")
        data = build_datasets(sources[0], sources[1:], workdir, args.records)
        for name, d in data.items():
            log(
                f"{name}: {d['bytes'] / 1e6:,.0f} MB, {d['texts']:,} texts, {d['chars']:,} "
                f"chars; pinned to CPU {child_cpu if pinned else '(none)'}"
            )
        out = workdir / "out.parquet"
        log("warm-up: each version once on each 1x source (not reported)")
        for name in ("zh", "en"):
            for version in VERSIONS:
                run_scan(Path(data[name]["source"]), out, child_cpu, envs[version])
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            name: {version: [] for version in VERSIONS} for name in DATASETS
        }
        for round_no in range(1, args.repeat + 1):
            # alternate which version goes first, so that a drift of the machine's speed
            # during the run does not favour one of them
            order = list(VERSIONS)[:: 1 if round_no % 2 else -1]
            for name in DATASETS:
                for version in order:
                    result = run_scan(Path(data[name]["path"]), out, child_cpu, envs[version])
                    result["round"] = round_no
                    runs[name][version].append(result)
                    log(
                        f"round {round_no}: {name}: {version}: {result['wall_s']:.1f}s "
                        f"(CPU {result['cpu_s']:.1f}s), {result['rows']:,} rows"
                    )
                    if result["rows"] != args.records:
                        raise SystemExit(
                            f"bench_judge: {version} wrote {result['rows']} rows for {name}, "
                            f"not {args.records}"
                        )
        summary = summarise(runs, data)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    table = markdown(summary, args.repeat)
    print(table)
    print()
    for note in NOTES:
        print(f"- {note}")
    if args.json:
        report = {
            "benchmark": "bench_judge",
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "pinned_cpu": child_cpu,
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "langaudit": {
                "foundation": {"commit": foundation["commit"]},
                "current": current and {k: v for k, v in current.items() if k != "pythonpath"},
            },
            "data": {
                name: {
                    k: v
                    for k, v in d.items()
                    if k != "path" and not (k == "source" and "made_from" in d)
                }
                for name, d in data.items()
            },
            "repeat": args.repeat,
            "target_ratio": TARGET_RATIO,
            "results": summary,
            "runs": runs,
            "notes": NOTES,
            "markdown": table,
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
