"""Peak memory of ``langaudit scan`` on a >= 1 GB JSONL, against the 500 MB target.

Generates a JSONL of at least ``--gb`` GiB (default 1.0) in a temporary directory by repeating
the real ShareGPT sample ``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl`` (relative to
the repository root), with long records mixed in: after every pass over the sample, one record
whose response joins 200 real responses (~250k characters), and every 25th pass one whose
response joins every response of the sample (~1.3M characters, ~4 MB of UTF-8). Then runs
``langaudit scan BIG -o out.parquet`` in a subprocess and measures its peak resident set size
twice: by polling ``VmHWM`` in ``/proc/<pid>/status`` while it runs, and from the kernel's
``ru_maxrss`` for that child (``os.wait4``) when it exits. The temporary files are removed at
the end. Usage::

    python benchmarks/bench_memory.py [--gb 1.0] [--cpu C] [--json results.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchcommon import (
    DEFAULT_SOURCE,
    REPO_ROOT,
    child_env,
    langaudit_command,
    pin,
    snapshot_langaudit,
)

TARGET_MB = 500
MIB = 1 << 20


def log(msg: str) -> None:
    print(f"[bench_memory] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data


def build_data(source: Path, path: Path, size: int) -> dict[str, Any]:
    """Write at least ``size`` bytes of JSONL: passes over ``source`` plus long records."""
    import orjson

    lines = [
        line.rstrip(b"\r\n") + b"\n" for line in source.read_bytes().splitlines() if line.strip()
    ]
    if not lines:
        raise SystemExit(f"bench_memory: {source} has no records")
    records = [orjson.loads(line) for line in lines]
    prompts = [t["value"] for r in records for t in r["conversations"] if t["from"] == "human"]
    answers = [t["value"] for r in records for t in r["conversations"] if t["from"] != "human"]

    def long_record(start: int, count: int) -> bytes:
        take = [answers[(start + i) % len(answers)] for i in range(count)]
        conv = [
            {"from": "human", "value": "\n".join(prompts[start % len(prompts) :][:20])},
            {"from": "gpt", "value": "\n\n".join(take)},
        ]
        return orjson.dumps({"conversations": conv}) + b"\n"

    written = n_records = n_long = longest = passes = 0
    with open(path, "wb") as f:
        while written < size:
            for line in lines:
                f.write(line)
                written += len(line)
            n_records += len(lines)
            extra = [long_record(passes * 200, 200)]
            if passes % 25 == 0:
                extra.append(long_record(passes, len(answers)))
            for line in extra:
                f.write(line)
                written += len(line)
                longest = max(longest, len(line))
            n_records += len(extra)
            n_long += len(extra)
            passes += 1
    return {
        "bytes": written,
        "records": n_records,
        "long_records": n_long,
        "longest_record_bytes": longest,
        "passes": passes,
    }


# ---------------------------------------------------------------------------------------------
# A frozen copy of the langaudit package (the working tree may be edited during the run)


# ---------------------------------------------------------------------------------------------
# Measuring


def _status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB) of ``pid``; empty once it has exited."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return {}
    return out


def measure(
    cmd: list[str], env: dict[str, str], cpu: int | None, interval: float
) -> dict[str, Any]:
    """Run ``cmd``; its wall time, exit code and peak RSS (polled VmHWM and ru_maxrss)."""
    preexec = (lambda: pin(cpu)) if cpu is not None else None
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=preexec
    )
    hwm = 0
    samples: list[tuple[float, int]] = []  # (seconds, VmRSS KiB)
    stderr_chunks: list[bytes] = []
    import threading

    reader = threading.Thread(
        target=lambda: stderr_chunks.append(proc.stderr.read() if proc.stderr else b"")
    )
    reader.start()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        st = _status_kib(proc.pid)
        if st:
            hwm = max(hwm, st.get("VmHWM", 0))
            samples.append((time.perf_counter() - t0, st.get("VmRSS", 0)))
        time.sleep(interval)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    ru_maxrss_kib = usage.ru_maxrss  # KiB on Linux
    peak_kib = max(hwm, ru_maxrss_kib)
    return {
        "returncode": proc.returncode,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": peak_kib * 1024,
        "vmhwm_polled_kib": hwm,
        "ru_maxrss_kib": ru_maxrss_kib,
        "rss_samples": _downsample(samples, 40),
        "stderr": b"".join(stderr_chunks).decode("utf-8", "replace").strip(),
    }


def _downsample(samples: list[tuple[float, int]], n: int) -> list[tuple[float, float]]:
    """About ``n`` evenly spaced (seconds, RSS MiB) points, for a look at the curve."""
    if not samples:
        return []
    step = max(1, len(samples) // n)
    picked = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    return [(round(t, 1), round(kib / 1024, 1)) for t, kib in picked]


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="input size in GiB (default 1.0)")
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="the real ShareGPT JSONL to repeat (default: %(default)s)",
    )
    parser.add_argument("--cpu", type=int, default=None, help="pin the scan to this CPU")
    parser.add_argument("--interval", type=float, default=0.05, help="polling interval (s)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--tmpdir", type=Path, default=None, help="parent of the temporary directory"
    )
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="run the live langaudit package instead of a copy taken at start",
    )
    args = parser.parse_args(argv)

    source = args.source.resolve()
    if not source.is_file():
        print(
            f"bench_memory: the real ShareGPT sample is missing: {source}\n"
            f"  expected ../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl next to the "
            f"repository ({REPO_ROOT}); pass --source PATH to use another ShareGPT JSONL",
            file=sys.stderr,
        )
        return 2
    if args.gb <= 0:
        parser.error("--gb must be positive")
    if not Path("/proc/self/status").is_file():
        log("no /proc: only ru_maxrss is measured")
    workdir = Path(tempfile.mkdtemp(prefix="langaudit-bench-memory-", dir=args.tmpdir))
    if workdir.resolve().is_relative_to(REPO_ROOT):
        shutil.rmtree(workdir)
        parser.error("--tmpdir must be outside the repository")
    try:
        big, out = workdir / "big.jsonl", workdir / "out.parquet"
        log(f"writing >= {args.gb} GiB to {big}")
        data = build_data(source, big, int(args.gb * (1 << 30)))
        log(
            f"{data['bytes'] / MIB:,.0f} MiB, {data['records']:,} records "
            f"({data['long_records']} long, the longest {data['longest_record_bytes'] / MIB:.1f} "
            "MiB)"
        )
        code = None if args.no_snapshot else snapshot_langaudit(workdir, "bench_memory")
        env = child_env(code["pythonpath"] if code else None)
        if code:
            log(f"langaudit snapshot {code['sha256']} of {code['package']} ({code['git']})")
        cmd = [*langaudit_command(), "scan", str(big), "-o", str(out)]
        log(f"running: langaudit scan {big.name} -o {out.name}")
        result = measure(cmd, env, args.cpu, args.interval)
        if result["returncode"] != 0:
            raise SystemExit(f"bench_memory: the scan failed:\n{result['stderr'][-4000:]}")
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(out).metadata.num_rows
        if rows != data["records"]:
            raise SystemExit(f"bench_memory: {rows} rows written for {data['records']} records")
        output_bytes = out.stat().st_size
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    log(f"temporary files removed ({workdir})")

    peak = result["peak_rss_bytes"]
    met = peak / 1e6 <= TARGET_MB
    table = "\n".join(
        [
            "| input | records | scan wall s | records/s | peak RSS | target | met |",
            "|---|---:|---:|---:|---:|---:|---|",
            f"| {data['bytes'] / 1e9:.2f} GB JSONL ({data['bytes'] / MIB:,.0f} MiB) | "
            f"{data['records']:,} | {result['wall_s']:.1f} | "
            f"{data['records'] / result['wall_s']:,.0f} | {peak / 1e6:,.0f} MB "
            f"({peak / MIB:,.0f} MiB) | <= {TARGET_MB} MB | {'yes' if met else 'NO'} |",
        ]
    )
    print(table)
    notes = [
        "Peak RSS is the larger of VmHWM polled every "
        f"{args.interval}s and the child's ru_maxrss (from os.wait4); "
        f"polled {result['vmhwm_polled_kib'] / 1024:,.0f} MiB, "
        f"ru_maxrss {result['ru_maxrss_kib'] / 1024:,.0f} MiB. MB = 10^6 bytes, MiB = 2^20.",
        f"The whole `langaudit scan` process is measured: interpreter, pyarrow, numpy, the "
        f"fastText model and the Parquet writer included. Output {output_bytes / 1e6:,.0f} MB.",
        f"Input: {data['passes']} passes over {source.name} plus {data['long_records']} long "
        f"records (longest {data['longest_record_bytes'] / 1e6:.1f} MB on one line).",
    ]
    for note in notes:
        print(f"- {note}")
    if args.json:
        report = {
            "benchmark": "bench_memory",
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "pinned_cpu": args.cpu,
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "source": str(source),
            "langaudit": code and {k: v for k, v in code.items() if k != "pythonpath"},
            "data": data,
            "output_bytes": output_bytes,
            "target_mb": TARGET_MB,
            "peak_rss_mb": peak / 1e6,
            "peak_rss_mib": peak / MIB,
            "met": met,
            **{k: v for k, v in result.items() if k != "stderr"},
            "summary": result["stderr"].splitlines()[-1:],
            "notes": notes,
            "markdown": table,
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
