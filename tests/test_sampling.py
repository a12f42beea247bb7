"""--limit: the first N records (reading stops there) or a seeded reservoir sample of N, in
their original order with their original indices, the same with one process or several."""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import langaudit
from cli_helpers import run
from langaudit.errors import InputError, UsageError
from langaudit.io import Item, Source, open_path
from langaudit.sampling import describe, first, limited, sample

ZH = [
    ("用一句话介绍北京。", "北京是中国的首都，有三千多年的建城历史。"),
    ("什么是光合作用？", "光合作用是植物利用光能把水和二氧化碳合成糖的过程。"),
    ("推荐一本入门的机器学习书。", "可以先读周志华的《机器学习》，然后evaluate一下自己的理解。"),
]
EN = [
    ("Describe Paris in one sentence.", "Paris is the capital of France, famous for its museums."),
    ("How do I boil an egg?", "Put the egg in boiling water for about nine minutes."),
    ("Name a use of Python.", "Python is widely used for data analysis and scripting."),
]


def alpaca(i: int) -> dict[str, Any]:
    prompt, answer = (ZH if i % 2 else EN)[i % 3]
    return {"instruction": f"{prompt} ({i})", "input": "", "output": answer}


def write_jsonl(path: Path, n: int) -> Path:
    path.write_text(
        "".join(json.dumps(alpaca(i), ensure_ascii=False) + "\n" for i in range(n)),
        encoding="utf-8",
    )
    return path


def indices(table: Any) -> list[int]:
    return list(table.column("index").to_pylist())


def counted(n: int, pulled: list[int], closed: list[bool]) -> Iterator[Item]:
    try:
        for i in range(n):
            pulled.append(i)
            yield Item(i, i + 1, alpaca(i))
    finally:
        closed.append(True)


# ---------------------------------------------------------------------------------------------
# first N


def test_first_takes_n_and_closes_the_reader() -> None:
    pulled: list[int] = []
    closed: list[bool] = []
    items = list(first(counted(1000, pulled, closed), 10))
    assert [item.index for item in items] == list(range(10))
    assert pulled == list(range(10))  # not one record more is read
    assert closed == [True]  # the file is closed now, not when garbage-collected


def test_first_of_fewer_records_takes_them_all() -> None:
    assert list(first(iter(range(3)), 10)) == [0, 1, 2]


def test_limited_source_reads_only_n_records() -> None:
    pulled: list[int] = []
    closed: list[bool] = []
    source = Source("data.jsonl", "jsonl", counted(10_000, pulled, closed))
    table = langaudit.scan(limited(source, 25), jobs=1)
    assert indices(table) == list(range(25))
    assert len(pulled) == 25 and closed == [True]


def test_first_n_does_not_read_to_the_end_of_the_file(tmp_path: Path) -> None:
    """A 2 GB download cut off at its end: the first 100 records read fine with --limit."""
    rng = random.Random(0)
    lines = [
        json.dumps({**alpaca(i), "id": rng.randbytes(64).hex()}, ensure_ascii=False)
        for i in range(50_000)
    ]
    data = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=1)
    assert len(data) > 3 << 20  # past the first reads (1 MiB at a time)
    cut = tmp_path / "data.jsonl.gz"
    cut.write_bytes(data[:-4096])
    with pytest.raises(EOFError):  # what reading it to its end meets
        gzip.decompress(cut.read_bytes())
    out = tmp_path / "out.jsonl"
    for jobs in ("1", "2"):
        limited_run = run("scan", str(cut), "-o", str(out), "--limit", "100", "--jobs", jobs)
        assert limited_run.exit_code == 0, limited_run.output
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [row["index"] for row in rows] == list(range(100))


def test_limit_must_be_positive() -> None:
    source = Source("x", "records", iter([]))
    with pytest.raises(UsageError, match="at least 1"):
        limited(source, 0)


# ---------------------------------------------------------------------------------------------
# Reservoir sample


def test_sample_is_deterministic_sized_and_in_order() -> None:
    picks = list(sample(range(10_000), 50, seed=7))
    assert picks == list(sample(range(10_000), 50, seed=7))
    assert picks != list(sample(range(10_000), 50, seed=8))
    assert len(picks) == 50 == len(set(picks))
    assert picks == sorted(picks)


def test_sample_of_fewer_records_keeps_them_all_in_order() -> None:
    assert list(sample(iter(range(4)), 10, seed=1)) == [0, 1, 2, 3]
    assert list(sample(iter(range(10)), 10, seed=1)) == list(range(10))


def test_sample_is_uniform() -> None:
    """Every position is equally likely (Algorithm L's skips, checked against chi-square)."""
    n, k, runs = 40, 4, 10_000
    counts = Counter(p for seed in range(runs) for p in sample(range(n), k, seed))
    expected = runs * k / n
    chi2 = sum((counts[i] - expected) ** 2 / expected for i in range(n))
    assert chi2 < 80  # 39 degrees of freedom: p < 0.001 above ~72
    pairs = Counter(tuple(sample(range(5), 2, seed)) for seed in range(20_000))
    assert len(pairs) == 10 and max(pairs.values()) / min(pairs.values()) < 1.15


def test_sampled_records_keep_their_indices_and_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", 500)
    (source,) = open_path(path)
    items = list(limited(source, 20, seed=3))
    assert [item.index for item in items] == sorted(item.index for item in items)
    assert all(item.line == item.index + 1 for item in items)
    assert all(item.value == alpaca(item.index) for item in items)
    assert all(item.parsed for item in items)  # one process: the lines kept, parsed


@pytest.mark.parametrize("seed", [None, 11])
def test_jobs_read_the_same_records(tmp_path: Path, seed: int | None) -> None:
    """Workers parse JSON lines (Source.unparsed): the same records as one process, in order."""
    path = write_jsonl(tmp_path / "data.jsonl", 3000)

    def scan(jobs: int) -> list[int]:
        (source,) = open_path(path)
        # batches of 64 records: more than one batch, so that the workers do start
        return indices(langaudit.scan(limited(source, 700, seed), jobs=jobs, batch_records=64))

    one = scan(1)
    assert len(one) == 700
    assert one == (list(range(700)) if seed is None else sorted(set(one)))
    assert scan(2) == one


def test_sampled_source_keeps_its_settings() -> None:
    source = Source("a.jsonl", "jsonl", iter([]))
    source.config = "config"
    cut = limited(source, 5, seed=1)
    assert (cut.name, cut.kind, cut.config) == ("a.jsonl", "jsonl", "config")
    assert cut.size is None and cut.position is None  # progress counts records


def test_unreadable_records_are_sampled_like_others(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    lines = [json.dumps(alpaca(i), ensure_ascii=False) for i in range(50)]
    lines[30] = '{"instruction": "cut off'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (source,) = open_path(path)
    assert len(indices(langaudit.scan(limited(source, 30)))) == 30  # line 31 is never read
    (source,) = open_path(path)
    with pytest.raises(InputError, match=r"data.jsonl:31: invalid JSON"):
        langaudit.scan(limited(source, 50, seed=0))  # every line kept: line 31 among them


def test_describe() -> None:
    assert describe(1000) == "the first 1,000 records of each input"
    assert describe(50, 0) == "a random sample of 50 records of each input (seed 0)"


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_scan_limit_and_sample(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", 300)
    out = tmp_path / "out.jsonl"

    def scanned(*args: str) -> tuple[list[int], str]:
        result = run("scan", str(path), "-o", str(out), *args)
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        return [row["index"] for row in rows], result.output

    firsts, output = scanned("--limit", "5")
    assert firsts == [0, 1, 2, 3, 4]
    assert output.endswith("scanned the first 5 records of each input (--limit)\n")
    picked, output = scanned("--limit", "5", "--sample-seed", "42")
    assert picked == sorted(picked) and len(set(picked)) == 5 and picked != firsts
    assert "a random sample of 5 records of each input (seed 42)" in output
    assert scanned("--limit", "5", "--sample-seed", "42", "--jobs", "2")[0] == picked
    assert scanned("--limit", "5", "--sample-seed", "43")[0] != picked


def test_cli_audit_json_says_the_data_was_limited(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", 300)
    report = tmp_path / "report.json"
    result = run("audit", str(path), "--limit", "40", "--sample-seed", "0", "--json", str(report))
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text(encoding="utf-8"))
    assert summary["options"] == {"limit": 40, "sample_seed": 0}
    assert summary["records"] == 40
    assert result.output.splitlines()[0].endswith("; sample of 40 (seed 0) per input")
    result = run("audit", str(path), "--limit", "40", "--json", str(report), "-q")
    assert json.loads(report.read_text(encoding="utf-8"))["options"] == {"limit": 40}


def test_cli_check_applies_the_rules_to_the_records_read(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", 300)
    result = run("check", str(path), "--limit", "10", "--max-rate", "code_switch=1")
    assert result.exit_code == 0, result.output
    assert "(1 file, 10 records)" in result.output
    assert "checked the first 10 records of each input (--limit)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sample-seed", "1"], "--sample-seed needs --limit N"),
        (["--limit", "0"], "0 is not in the range x>=1"),
        (["--limit", "x"], "'x' is not a valid integer"),
    ],
)
def test_cli_bad_limits(tmp_path: Path, args: list[str], message: str) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", 3)
    result = run("audit", str(path), *args)
    assert result.exit_code == 2
    assert message in result.output


def test_rewrite_has_no_limit(tmp_path: Path) -> None:
    """rewrite never loses a record: it takes no --limit (its --seed is the rebalancing's)."""
    path = write_jsonl(tmp_path / "data.jsonl", 3)
    result = run("rewrite", str(path), "--dry-run", "--limit", "2")
    assert result.exit_code == 2
    assert "No such option '--limit'" in result.output
