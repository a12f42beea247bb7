"""What ``--jobs`` gains: ``langaudit scan`` with 1 worker against all cores, on the same data,
and against what the machine can give at best.

Whole processes (not pinned: the point is to use every core) on ``--records`` records
(default 50,000) repeating the real ShareGPT sample
``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl``. Each round (``--repeat``, default
5; the order rotates) runs three contenders::

  serial   langaudit scan FILE -o out.parquet -q --jobs 1
  jobs     langaudit scan FILE -o out.parquet -q --jobs N      (N: the cores this process may use)
  ceiling  N processes at once, each `langaudit scan PART_i ... --jobs 1` on 1/N of FILE

The ceiling is perfect parallelism: no batches travel between processes, nothing is merged. On a
shared virtual machine it is well under N, because two busy cores run slower than one; the
``--jobs`` figure is best read against it. Figures are the median over rounds of the ratio
``serial / contender`` measured in the same round (the machine's speed drifts between rounds),
with the ratio of the fastest runs alongside. Target: >= 1.8x on 2 cores. Both outputs are
checked equal. Usage::

    python benchmarks/bench_jobs.py [--records N] [--repeat R] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_scan import build_data
from benchcommon import DEFAULT_SOURCE, child_env, langaudit_command, snapshot_langaudit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        raise SystemExit(f"bench_jobs: {args.source} is missing (see ../shared/data)")
    import pyarrow.parquet as pq

    from langaudit.parallel import default_jobs

    cores = default_jobs()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        snapshot = snapshot_langaudit(workdir, "bench_jobs")
        env = child_env(snapshot["pythonpath"])
        path = Path(build_data(args.source, workdir, args.records, 0)["full"]["path"])
        parts = _split(path, cores)
        scan = [*langaudit_command(), "scan"]
        contenders = {
            "serial": [[*scan, str(path), "-o", str(workdir / "1.parquet"), "-q", "--jobs", "1"]],
            "jobs": [[*scan, str(path), "-o", str(workdir / "n.parquet"), "-q", "--jobs",
                      str(cores)]],
            "ceiling": [[*scan, str(part), "-o", f"{part}.parquet", "-q", "--jobs", "1"]
                        for part in parts],
        }  # fmt: skip
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
        for round_ in range(args.repeat):
            names = list(contenders)
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                runs[name].append(_run(contenders[name], env))
        same = pq.read_table(workdir / "1.parquet").equals(pq.read_table(workdir / "n.parquet"))
    serial = [run["wall_s"] for run in runs["serial"]]
    figures = {}
    for name in ("jobs", "ceiling"):
        walls = [run["wall_s"] for run in runs[name]]
        ratios = [s / w for s, w in zip(serial, walls, strict=True)]
        figures[name] = {
            "speedup_median": round(statistics.median(ratios), 3),
            "speedup_of_bests": round(min(serial) / min(walls), 3),
            "per_round": [round(r, 3) for r in ratios],
        }
    efficiency = figures["jobs"]["speedup_median"] / figures["ceiling"]["speedup_median"]
    results: dict[str, Any] = {
        "langaudit": snapshot,
        "python": sys.version.split()[0],
        "cores": cores,
        "records": args.records,
        "runs": runs,
        "speedup": figures,
        "jobs_vs_ceiling": round(efficiency, 3),
        "outputs_equal": same,
    }
    print(f"langaudit {snapshot['git'] or snapshot['sha256']}, {args.records:,} records, "
          f"{cores} cores, {args.repeat} rounds")  # fmt: skip
    for name, label in (("serial", "--jobs 1"), ("jobs", f"--jobs {cores}"),
                        ("ceiling", f"{cores} x --jobs 1 on 1/{cores} each")):  # fmt: skip
        walls = ", ".join(f"{run['wall_s']:.2f}" for run in runs[name])
        cpu = statistics.median(run["cpu_s"] for run in runs[name])
        print(f"{label:<28} wall {walls} s; CPU (median) {cpu:.2f} s")
    for name in ("jobs", "ceiling"):
        f = figures[name]
        print(f"speed-up {name:<8} median {f['speedup_median']:.2f}x "
              f"(rounds {', '.join(f'{r:.2f}' for r in f['per_round'])}; "
              f"of the fastest runs {f['speedup_of_bests']:.2f}x)")  # fmt: skip
    print(f"--jobs {cores} reaches {efficiency:.0%} of the ceiling; outputs equal: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def _split(path: Path, n: int) -> list[Path]:
    """``path`` cut into ``n`` files of consecutive lines, as even in records as can be."""
    lines = path.read_bytes().splitlines(keepends=True)
    size = -(-len(lines) // n)
    parts = []
    for i in range(n):
        part = path.with_name(f"part{i}.jsonl")
        part.write_bytes(b"".join(lines[i * size : (i + 1) * size]))
        parts.append(part)
    return parts


def _run(commands: list[list[str]], env: dict[str, str]) -> dict[str, float]:
    """Wall and CPU seconds (children's user + system) of ``commands`` run at once."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    processes = [subprocess.Popen(command, env=env) for command in commands]
    for process, command in zip(processes, commands, strict=True):
        if process.wait() != 0:
            raise SystemExit(f"bench_jobs: {' '.join(command)} failed")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}


if __name__ == "__main__":
    raise SystemExit(main())
