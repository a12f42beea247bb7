"""What ``--jobs`` gains: ``langaudit scan`` with 1 worker against all cores, on the same data.

Whole processes (not pinned: the point is to use every core), in ``--repeat`` rounds (default
3) that alternate their order, on ``--records`` records (default 50,000) repeating the real
ShareGPT sample ``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl``::

  langaudit scan FILE -o out.parquet -q --jobs 1
  langaudit scan FILE -o out.parquet -q --jobs N      (N: the cores this process may use)

The figure is the ratio of the fastest runs (target: >= 1.8x on 2 cores). Both outputs are
checked equal. Usage::

    python benchmarks/bench_jobs.py [--records N] [--repeat R] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--repeat", type=int, default=3)
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
        path = build_data(args.source, workdir, args.records, 0)["full"]["path"]
        commands = {
            jobs: [*langaudit_command(), "scan", path, "-o", str(workdir / f"{jobs}.parquet"),
                   "-q", "--jobs", str(jobs)]
            for jobs in (1, cores)
        }  # fmt: skip
        times: dict[int, list[float]] = {jobs: [] for jobs in commands}
        for round_ in range(args.repeat):
            for jobs in commands if round_ % 2 == 0 else reversed(commands):
                started = time.perf_counter()
                subprocess.run(commands[jobs], env=env, check=True)
                times[jobs].append(time.perf_counter() - started)
        same = pq.read_table(workdir / "1.parquet").equals(
            pq.read_table(workdir / f"{cores}.parquet")
        )
    ratio = min(times[1]) / min(times[cores])
    results: dict[str, Any] = {
        "langaudit": snapshot,
        "python": sys.version.split()[0],
        "cores": cores,
        "records": args.records,
        "times_s": {str(j): [round(t, 3) for t in ts] for j, ts in times.items()},
        "speedup_of_bests": round(ratio, 3),
        "outputs_equal": same,
    }
    print(f"langaudit {snapshot['git'] or snapshot['sha256']}, {args.records:,} records")
    for jobs, ts in times.items():
        print(f"--jobs {jobs}: best {min(ts):.2f} s ({', '.join(f'{t:.2f}' for t in ts)})")
    print(f"speed-up with {cores} workers: {ratio:.2f}x; outputs equal: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
