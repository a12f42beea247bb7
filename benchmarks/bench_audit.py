"""What building the audit report costs on top of the scan.

Two measurements on the same data (``--records`` records repeating the real ShareGPT sample),
every process pinned to one CPU:

1. **In one process, batch by batch** (the figure that counts): the audit loop of
   ``langaudit.audit`` is run by hand, timing separately the scan of each batch (reading,
   parsing, annotating: the generator's work) and ``AuditStats.add_batch``; then the report is
   built (summary, recommendations, JSON, HTML, terminal tables). Both parts alternate batch by
   batch in the same process, so a machine that changes speed during the run affects both
   alike. overhead = (statistics + report) / scan.
2. **Whole commands**, as a user runs them, alternating for ``--repeat`` rounds:
   ``langaudit scan FILE -o out.parquet`` against ``langaudit audit FILE --json r.json --html
   r.html -q``; best wall time of each. Noisier on a shared machine (separate processes), and
   not the same work: scan writes every row, audit writes two small reports.

Target: the report adds at most 10% to the scan.

    python benchmarks/bench_audit.py --json audit.json
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import build_data
from benchcommon import (
    DEFAULT_SOURCE,
    child_env,
    default_cpu,
    langaudit_command,
    pin,
    run_pinned,
    run_worker,
    snapshot_langaudit,
)

TARGET = 1.10


def worker(path: str) -> dict[str, Any]:
    """The audit loop with its parts timed (runs in a pinned child process)."""
    from rich.console import Console

    import langaudit
    from langaudit.api import sources_of
    from langaudit.config import AuditConfig
    from langaudit.engine import ScanLog, scan_source_with_turns
    from langaudit.report import AuditStats, Report

    cfg, log, stats = AuditConfig(), ScanLog(), AuditStats(examples=5)
    scan_s = stats_s = 0.0
    rows = batches = 0
    c0 = time.process_time()
    for src in sources_of(path):
        stats.add_source(src.name)
        stream = scan_source_with_turns(src, cfg, log)
        while True:
            t0 = time.perf_counter()
            try:
                entries, batch = next(stream)
            except StopIteration:
                scan_s += time.perf_counter() - t0
                break
            t1 = time.perf_counter()
            stats.add_batch(batch, entries)
            t2 = time.perf_counter()
            scan_s += t1 - t0
            stats_s += t2 - t1
            rows += batch.num_rows
            batches += 1
    t0 = time.perf_counter()
    report = Report(stats, [path])
    summary = report.summary
    json_text = report.to_json()
    html_text = report.to_html()
    report.print(Console(file=io.StringIO(), width=100))
    report_s = time.perf_counter() - t0
    return {
        "rows": rows,
        "batches": batches,
        "scan_s": scan_s,
        "stats_s": stats_s,
        "report_s": report_s,
        "cpu_s": time.process_time() - c0,
        "json_bytes": len(json_text.encode()),
        "html_bytes": len(html_text.encode()),
        "flagged": summary["flagged"],
        "langaudit_file": langaudit.__file__,
    }


def run_cli(
    kind: str, path: Path, workdir: Path, cpu: int | None, env: dict[str, str]
) -> dict[str, Any]:
    if kind == "scan":
        out = workdir / "out.parquet"
        cmd = [*langaudit_command(), "scan", str(path), "-o", str(out), "-q"]
    else:
        out = workdir / "r.json"
        cmd = [
            *langaudit_command(),
            "audit",
            str(path),
            "--json",
            str(out),
            "--html",
            str(workdir / "r.html"),
            "-q",
        ]
    _, wall, cpu_s = run_pinned(cmd, cpu, env)
    size = out.stat().st_size
    out.unlink()
    return {"wall_s": wall, "cpu_s": cpu_s, "output_bytes": size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--cpu", type=int, default=default_cpu())
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--tmpdir", type=Path)
    parser.add_argument("--no-snapshot", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        pin(args.cpu)
        print(json.dumps(worker(args.file)))
        return 0
    if not args.source.is_file():
        raise SystemExit(f"bench_audit: no data at {args.source} (use --source PATH)")
    with tempfile.TemporaryDirectory(prefix="langaudit-bench-audit-", dir=args.tmpdir) as tmp:
        workdir = Path(tmp)
        snap = None if args.no_snapshot else snapshot_langaudit(workdir, "bench_audit")
        env = child_env(snap["pythonpath"] if snap else None)
        print(f"[bench_audit] building {args.records:,} records", file=sys.stderr)
        data = build_data(args.source, workdir, args.records, 0)["full"]
        path = Path(data["path"])
        rounds: list[dict[str, Any]] = []
        for k in range(args.repeat):
            inproc = run_worker(__file__, ["--file", str(path)], args.cpu, env)
            order = ("scan", "audit") if k % 2 == 0 else ("audit", "scan")
            cli = {kind: run_cli(kind, path, workdir, args.cpu, env) for kind in order}
            rounds.append({"inproc": inproc, "cli": cli})
            over = (inproc["stats_s"] + inproc["report_s"]) / inproc["scan_s"]
            print(
                f"[bench_audit] round {k + 1}: scan {inproc['scan_s']:.1f}s, statistics "
                f"{inproc['stats_s']:.2f}s, report {inproc['report_s']:.2f}s (+{over:.1%}); "
                f"CLI scan {cli['scan']['wall_s']:.1f}s, audit {cli['audit']['wall_s']:.1f}s",
                file=sys.stderr,
            )
        summary = summarise(rounds, data)
        print(markdown(summary))
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "summary": summary,
                        "rounds": rounds,
                        "data": data,
                        "langaudit": snap,
                        "machine": {
                            "python": platform.python_version(),
                            "platform": platform.platform(),
                            "cpu": args.cpu,
                        },
                    },
                    indent=2,
                ),
                encoding="utf-8",
            )
    return 0


def summarise(rounds: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    per_round = [
        (r["inproc"]["stats_s"] + r["inproc"]["report_s"]) / r["inproc"]["scan_s"] for r in rounds
    ]
    best = min(rounds, key=lambda r: r["inproc"]["scan_s"])["inproc"]
    cli_scan = min(r["cli"]["scan"]["wall_s"] for r in rounds)
    cli_audit = min(r["cli"]["audit"]["wall_s"] for r in rounds)
    ratios = sorted(per_round)
    return {
        "records": data["records"],
        "bytes": data["bytes"],
        "chars": data["chars"],
        "inproc_best": best,
        "overhead_per_round": per_round,
        "overhead_median": ratios[len(ratios) // 2],
        "cli_scan_best_s": cli_scan,
        "cli_audit_best_s": cli_audit,
        "cli_ratio": cli_audit / cli_scan,
        "target": TARGET,
        "met": 1 + ratios[len(ratios) // 2] <= TARGET,
    }


def markdown(s: dict[str, Any]) -> str:
    b = s["inproc_best"]
    rounds = ", ".join(f"+{x:.1%}" for x in s["overhead_per_round"])
    return "\n".join(
        [
            f"{s['records']:,} records, {s['bytes'] / 1e6:.0f} MB, "
            f"{s['chars'] / 1e6:.0f} M characters",
            "",
            "| part (in one process, best round) | seconds | share of the scan |",
            "|---|---:|---:|",
            f"| scan: read, parse, annotate ({b['batches']} batches) | {b['scan_s']:.2f} | 100% |",
            f"| statistics: `AuditStats.add_batch` | {b['stats_s']:.3f} | "
            f"{b['stats_s'] / b['scan_s']:.1%} |",
            f"| report: summary, recommendations, JSON, HTML, terminal | {b['report_s']:.3f} | "
            f"{b['report_s'] / b['scan_s']:.1%} |",
            "",
            f"Report overhead per round: {rounds}; median **+{s['overhead_median']:.1%}** "
            f"(target <= +{TARGET - 1:.0%}: {'met' if s['met'] else 'NOT met'}).",
            "",
            f"Whole commands (best of each): `langaudit scan -o out.parquet` "
            f"{s['cli_scan_best_s']:.1f} s, `langaudit audit --json --html -q` "
            f"{s['cli_audit_best_s']:.1f} s: ratio {s['cli_ratio']:.2f}.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
