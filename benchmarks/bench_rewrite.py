"""What ``langaudit rewrite`` costs against ``langaudit scan`` on the same data, on one core.

A rewrite reads its input twice: a first pass judges every record (the scan), a second writes
every record to the output or the rejects file in the input's format (untouched JSON lines as
they were, edited ones serialised again). In the same run, pinned to one CPU, it times whole
processes in ``--repeat`` rounds (default 3) that alternate their order, on ``--records``
records (default 50,000) built by repeating the real ShareGPT sample
``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl``:

  scan     ``langaudit scan FILE -o out.parquet -q``
  rewrite  ``langaudit rewrite FILE -o out.jsonl --tag instruction --drop code_switch -q``

The figure is the ratio of the fastest runs, rewrite / scan. The machine is shared and noisy,
so only such same-run ratios matter. Usage::

    python benchmarks/bench_rewrite.py [--records N] [--repeat R] [--cpu C] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_scan import build_data
from benchcommon import (
    DEFAULT_SOURCE,
    child_env,
    default_cpu,
    langaudit_command,
    pin,
    snapshot_langaudit,
)


def main(argv: list[str] | None = None) -> int:
    import subprocess

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=default_cpu())
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        raise SystemExit(f"bench_rewrite: {args.source} is missing (see ../shared/data)")
    pinned = pin(args.cpu)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        snapshot = snapshot_langaudit(workdir, "bench_rewrite")
        env = child_env(snapshot["pythonpath"])
        data = build_data(args.source, workdir, args.records, 0)["full"]
        path = data["path"]
        exe = langaudit_command()
        commands = {
            "scan": [*exe, "scan", path, "-o", str(workdir / "out.parquet"), "-q"],
            "rewrite": [
                *exe,
                "rewrite",
                path,
                "-o",
                str(workdir / "out.jsonl"),
                "--tag",
                "instruction",
                "--drop",
                "code_switch",
                "-q",
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.repeat):
            order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in order:
                started = time.perf_counter()
                done = subprocess.run(commands[name], env=env, capture_output=True)
                times[name].append(time.perf_counter() - started)
                if done.returncode not in (0, 1):
                    raise SystemExit(f"{name} failed:\n{done.stderr.decode()}")
        manifest = json.loads((workdir / "out.manifest.json").read_text(encoding="utf-8"))
    best = {name: min(t) for name, t in times.items()}
    ratio = best["rewrite"] / best["scan"]
    results: dict[str, Any] = {
        "langaudit": snapshot,
        "python": sys.version.split()[0],
        "pinned_cpu": args.cpu if pinned else None,
        "records": args.records,
        "times_s": {name: [round(t, 3) for t in ts] for name, ts in times.items()},
        "ratio_of_bests": round(ratio, 3),
        "rewrite_counts": {
            k: manifest[k] for k in ("kept", "added", "rejected_by_reason", "tagged")
        },
    }
    print(f"langaudit {snapshot['git'] or snapshot['sha256']}, {args.records:,} records")
    for name, ts in times.items():
        print(f"{name:8} best {min(ts):.2f} s ({', '.join(f'{t:.2f}' for t in ts)})")
    print(f"rewrite / scan: {ratio:.2f}x; {results['rewrite_counts']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
