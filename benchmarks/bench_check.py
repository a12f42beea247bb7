"""How light ``langaudit check`` starts: a pre-commit hook must not cost what a training job does.

In the same run, pinned to the same CPU, it times whole processes, in ``--repeat`` rounds
(default 9) that alternate their order:

  baseline  ``python -c "import datasets"``: what any tool pays that imports Hugging Face
            datasets to read a file;
  check     ``langaudit check FILE`` on a 1,000-record JSONL file, for each data set:

    medical   the first 1,000 records of ``../shared/data/medicalgpt/medical_sft_1K_format.jsonl``
              (short single-turn Chinese instruction data, 0.8 MB);
    sharegpt  ``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl`` (multi-turn Chinese
              chats, 4 MB: long answers, code, English);
    examples  the records of ``examples/*.jsonl`` repeated to 1,000 (when ../shared is absent).

The figure is the ratio of medians check / baseline per data set (target < 0.5). The check
runs share a start-up cache filled by a warm-up run, as a hook's runs do after its first one
(see ``langaudit.cache``); ``..., cold`` times the first data set with an empty cache each run.
Each check process also reports whether ``pandas`` or ``datasets`` were imported (they must not
be). The machine is shared and noisy, so only same-run ratios matter. Usage::

    python benchmarks/bench_check.py [--repeat R] [--cpu C] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchcommon import REPO_ROOT, child_env, default_cpu, pin, snapshot_langaudit

SHARED = REPO_ROOT / ".." / "shared" / "data" / "medicalgpt"
TARGET_RATIO = 0.5
RECORDS = 1000

#: Run by each check process: the CLI's own entry point, then what it imported.
_CHILD = """
import sys
from langaudit.cli import main
sys.argv[0] = 'langaudit'
code = main()
found = [m for m in ("pandas", "datasets") if m in sys.modules]
print("imported:", " and ".join(found) or "neither pandas nor datasets", file=sys.stderr)
"""


def build_files(workdir: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for name, source in (
        ("medical", SHARED / "medical_sft_1K_format.jsonl"),
        ("sharegpt", SHARED / "sharegpt_zh_1K_format.jsonl"),
    ):
        if source.is_file():
            lines = source.read_bytes().splitlines(keepends=True)[:RECORDS]
            files[name] = workdir / f"{name}.jsonl"
            files[name].write_bytes(b"".join(lines))
    if not files:
        lines = [
            line
            for path in sorted((REPO_ROOT / "examples").glob("*.jsonl"))
            for line in path.read_bytes().splitlines(keepends=True)
            if line.strip() and b'"messages"' in line
        ]
        files["examples"] = workdir / "examples.jsonl"
        files["examples"].write_bytes(b"".join((lines * RECORDS)[:RECORDS]))
    return files


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--cpu", type=int, default=default_cpu())
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    pinned = pin(args.cpu)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        snapshot = snapshot_langaudit(workdir, "bench_check")
        env = child_env(snapshot["pythonpath"])
        files = build_files(workdir)
        env["LANGAUDIT_CACHE_DIR"] = str(workdir / "cache")  # filled by the warm-up runs
        commands = {"baseline": [sys.executable, "-c", "import datasets"]} | {
            name: [sys.executable, "-c", _CHILD, "check", str(path)] for name, path in files.items()
        }
        first = next(iter(files))
        commands[f"{first}, cold"] = commands[first]  # a first run: an empty start-up cache
        times: dict[str, list[float]] = {name: [] for name in commands}
        imported: dict[str, str] = {}
        for command in commands.values():  # warm the file cache, .pyc files and the cache
            timed(command, env, workdir)
        runs = 0
        for round_ in range(args.repeat):
            order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in order:
                runs += 1
                cold = {"LANGAUDIT_CACHE_DIR": str(workdir / f"cold-{runs}")}
                run_env = env | cold if name.endswith("cold") else env
                seconds, stderr = timed(commands[name], run_env, workdir)
                times[name].append(seconds)
                if name != "baseline":
                    imported[name] = stderr.strip().splitlines()[-1]
    baseline = statistics.median(times["baseline"])
    results: dict[str, Any] = {
        "langaudit": snapshot,
        "python": sys.version.split()[0],
        "pinned_cpu": args.cpu if pinned else None,
        "rounds": args.repeat,
        "baseline_median_s": round(baseline, 3),
        "baseline_best_s": round(min(times["baseline"]), 3),
        "data": {},
    }
    print(f"langaudit {snapshot['git'] or snapshot['sha256']}, {args.repeat} rounds")
    best = min(times["baseline"])
    print(f"python -c 'import datasets': median {baseline:.3f} s, best {best:.3f} s")
    for name in [n for n in commands if n != "baseline"]:
        median = statistics.median(times[name])
        ratio = median / baseline
        best_ratio = min(times[name]) / min(times["baseline"])
        results["data"][name] = {
            "median_s": round(median, 3),
            "best_s": round(min(times[name]), 3),
            "ratio_of_medians": round(ratio, 3),
            "ratio_of_bests": round(best_ratio, 3),
            "imported": imported[name],
        }
        verdict = "ok" if ratio < TARGET_RATIO else "OVER TARGET"
        print(
            f"check {name:15} median {median:.3f} s, best {min(times[name]):.3f} s: "
            f"{ratio:.2f}x of import datasets (bests {best_ratio:.2f}x; target < "
            f"{TARGET_RATIO}) {verdict}; {imported[name]}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
