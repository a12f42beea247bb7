"""``jobs`` > 1: worker processes give the same results, in the same order, as one process."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import langaudit
from langaudit import parallel
from langaudit.engine import ScanLog

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chat examples repeated: enough for many batches of 25 records."""
    folder = tmp_path_factory.mktemp("parallel")
    lines = (ROOT / "examples" / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "d.jsonl").write_text("\n".join(lines * 4) + "\n", encoding="utf-8")
    return folder / "d.jsonl"


@pytest.fixture(scope="module")
def messy(data: Path) -> Path:
    """``data`` with unreadable lines (bad JSON, not an object, the wrong shape) and blank
    lines, first and in later batches, which workers parse."""
    lines = data.read_text(encoding="utf-8").splitlines()
    bad = ['{"messages": [', "[1, 2]", '{"text": "no messages here"}', "", "  "]
    for at, line in zip((0, 7, 26, 31, 44), bad, strict=True):
        lines.insert(at, line)
    lines.insert(52, '{"messages": [{"content": "no role"}]}')
    path = data.with_name("messy.jsonl")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_scan_is_the_same_with_workers(data: Path) -> None:
    one = langaudit.scan(data, batch_records=25)
    two = langaudit.scan(data, batch_records=25, jobs=2)
    assert one.num_rows == 60 and two.equals(one)


def test_audit_check_and_rewrite_are_the_same_with_workers(data: Path, tmp_path: Path) -> None:
    audits = [langaudit.audit(data, batch_records=25, jobs=j).summary for j in (1, 2)]
    assert audits[0] == audits[1]
    assert audits[0]["flagged_records"]  # fingerprinted by the workers, or here
    checks = [langaudit.check(data, batch_records=25, jobs=j, config=False).lines() for j in (1, 2)]
    assert checks[0] == checks[1]
    for j in (1, 2):
        langaudit.rewrite(data, tmp_path / f"out{j}.jsonl", tag="instruction", drop="code_switch",
                          batch_records=25, jobs=j)  # fmt: skip
    assert (tmp_path / "out1.jsonl").read_bytes() == (tmp_path / "out2.jsonl").read_bytes()
    assert (tmp_path / "out1.rejects.jsonl").read_bytes() == (
        tmp_path / "out2.rejects.jsonl"
    ).read_bytes()


def test_one_batch_starts_no_workers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_pool(jobs: int) -> None:
        raise AssertionError("workers started for one batch")

    monkeypatch.setattr(parallel, "pool", no_pool)
    shutil.copy(ROOT / "examples" / "messages.jsonl", tmp_path / "m.jsonl")
    assert langaudit.scan(tmp_path / "m.jsonl", jobs=4).num_rows == 15


def test_batches_travel_flat_and_come_back_whole() -> None:
    import pickle

    from langaudit.engine import Flat, annotate, annotate_flat
    from langaudit.formats import Turn

    entries = [
        (3, [Turn("user", "你好", "messages.0.content"), Turn("assistant", "Hi!", "m.1.c")]),
        (7, [Turn("user", "", "instruction"), Turn("assistant", "😀 ok", "output")]),
        (9, []),
    ]  # fmt: skip
    flat = pickle.loads(pickle.dumps(Flat.of(entries)))
    assert flat.indices == [3, 7, 9] and flat.sizes == [2, 2, 0]
    rules = langaudit.AuditConfig().rules
    batch = annotate_flat("x", "messages", flat, rules)
    assert batch.num_rows == 3
    assert batch.equals(annotate("x", "messages", entries, rules))


def test_the_cli_takes_jobs(data: Path, tmp_path: Path) -> None:
    from cli_helpers import run

    for j in ("1", "2"):
        result = run("scan", str(data), "-o", str(tmp_path / f"{j}.jsonl"), "--jobs", j, "-q")
        assert result.exit_code == 0
    rows = [
        [json.loads(line) for line in (tmp_path / f"{j}.jsonl").read_text("utf-8").splitlines()]
        for j in ("1", "2")
    ]
    assert rows[0] == rows[1]
    assert run("scan", str(data), "-o", "-", "--jobs", "0").exit_code == 2


def test_unreadable_lines_are_the_same_with_workers(messy: Path, tmp_path: Path) -> None:
    """Workers parse JSON lines: the skipped lines, the records kept, the audit's examples
    (texts parsed again in this process), the check's line numbers and a rewrite agree with
    one process; and the error raised is the first unreadable line."""
    from cli_helpers import run

    skip = {"batch_records": 25, "on_error": "skip"}
    scans = [langaudit.scan(messy, jobs=j, **skip) for j in (1, 2)]
    assert scans[0].num_rows == 60 and scans[1].equals(scans[0])
    reports = [langaudit.audit(messy, jobs=j, **skip) for j in (1, 2)]
    assert reports[0].to_json() == reports[1].to_json()
    assert json.loads(reports[0].to_json())["skipped"] == 4
    examples = json.loads(reports[0].to_json())["examples"]
    assert examples["lang_mismatch"][0]["response"]  # texts of a worker's batch, read again
    checks = [langaudit.check(messy, jobs=j, config=False, **skip).lines() for j in (1, 2)]
    assert checks[0] == checks[1]
    errors = _first_errors(messy)
    assert errors[0] == errors[1] and errors[0].startswith(f"{messy}:1: ")
    later = messy.with_name("later.jsonl")  # the first unreadable line in a worker's batch
    later.write_text(messy.read_text("utf-8").split("\n", 1)[1], encoding="utf-8")
    errors = _first_errors(later)
    assert errors[0] == errors[1] and errors[0].startswith(f"{later}:7: ")
    for j in ("1", "2"):
        out, bad = tmp_path / f"{j}.jsonl", tmp_path / f"bad{j}.jsonl"
        args = ["rewrite", str(messy), "-o", str(out), "--tag", "instruction", "--drop",
                "code_switch", "--on-error", "skip", "--jobs", j]  # fmt: skip
        assert run(*args).exit_code == 1  # records were tagged and rejected
        args = ["scan", str(messy), "-o", str(tmp_path / f"scan{j}.jsonl"), "--on-error",
                "skip", "--bad-lines", str(bad), "--jobs", j, "-q"]  # fmt: skip
        assert run(*args).exit_code == 0
    for name in ("{}.jsonl", "{}.rejects.jsonl", "bad{}.jsonl", "scan{}.jsonl"):
        one_file, two_file = (tmp_path / name.format(j) for j in "12")
        assert one_file.read_bytes() == two_file.read_bytes(), name
    assert len((tmp_path / "bad1.jsonl").read_text("utf-8").splitlines()) == 4
    seen: list[list[tuple[int, Any, bool]]] = [[], []]
    for j in (1, 2):
        sink = functools.partial(lambda out, item, error: out.append(
            (item.index, item.value, item.error is not None)), seen[j - 1])  # fmt: skip
        log = ScanLog(sink=sink)
        list(langaudit.scan_batches(messy, None, log, jobs=j, **skip))
    assert seen[0] == seen[1] and len(seen[0]) == 4  # the items a sink sees: parsed, or the error


def test_a_read_error_comes_after_the_bad_lines_before_it(data: Path, tmp_path: Path) -> None:
    """Workers find unreadable lines later than the reading process reads on: a cut-off .gz
    read ahead must not hide an unreadable line before it."""
    import gzip

    lines = data.read_bytes().splitlines(keepends=True)
    lines[40] = b'{"messages": [\n'
    cut = gzip.compress(b"".join(lines * 2))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(cut[: len(cut) - 200])
    errors = _first_errors(path)
    assert errors[0] == errors[1] and errors[0].startswith(f"{path}:41: ")


def _first_errors(path: Path) -> list[str]:
    """The error that stops a scan of ``path`` with one process, then with workers."""
    errors = []
    for j in (1, 2):
        with pytest.raises(langaudit.InputError) as error:
            langaudit.scan(path, batch_records=25, jobs=j)
        errors.append(str(error.value))
    return errors


@pytest.mark.parametrize("name", ["array.json", "array.jsonl"])
def test_other_sources_are_the_same_with_workers(data: Path, tmp_path: Path, name: str) -> None:
    """Sources that are not JSON lines (a JSON array, even one named .jsonl) are parsed in
    this process and travel to the workers as flat lists."""
    records = [json.loads(line) for line in data.read_text("utf-8").splitlines()]
    path = tmp_path / name
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    one = langaudit.scan(path, batch_records=25)
    two = langaudit.scan(path, batch_records=25, jobs=2)
    assert one.num_rows == 60 and two.equals(one)
