"""Record fingerprints (the scan's ``fingerprint`` column) and the flagged records of
``AuditStats``, which merge exactly."""

from __future__ import annotations

import json
import random
from hashlib import blake2b
from pathlib import Path

import pytest

import langaudit
from langaudit.fingerprints import FlaggedRecords, fingerprints
from langaudit.report import AuditStats
from stats_helpers import stats_per_batch

ROOT = Path(__file__).resolve().parents[1]


def _hash(text: str) -> str:
    return blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def test_only_the_records_wanted_are_hashed() -> None:
    roles, texts = ["user", "assistant"] * 2, ["a", "b", "c", "d"]
    assert fingerprints([2, 2], roles, texts, [False, True]) == [None, _hash("d")]


@pytest.mark.parametrize(
    ("roles", "texts", "hashed"),
    [
        (["user", "assistant"], ["你好", "你好！"], "你好！"),
        (["system", "user", "assistant", "user", "assistant"], ["s", "a", "b", "c", "d"], "b\0d"),
        (["user", "assistant", "assistant"], ["q", "chosen", "rejected"], "chosen\0rejected"),
        (["user", "assistant"], ["问题", "  "], "问题\0  "),  # a blank answer: all turns
        (["user"], ["只有问题"], "只有问题"),  # no answer
        (["user", "tool_call", "assistant"], ["q", '{"f": 1}', "a"], "a"),
    ],
)
def test_a_fingerprint_hashes_the_answers(roles: list[str], texts: list[str], hashed: str) -> None:
    assert fingerprints([len(roles)], roles, texts) == [_hash(hashed)]


def test_the_prompt_does_not_change_the_fingerprint_but_the_answer_does() -> None:
    roles = ["user", "assistant"] * 3
    texts = ["Explain it.", "它是…", "Explain it. 请用中文回答。", "它是…", "Explain it.", "它是。"]
    first, tagged, changed = fingerprints([2, 2, 2], roles, texts)
    assert first == tagged != changed
    assert fingerprints([1], ["assistant"], ["\ud800 lone surrogate"])  # no error


def test_the_scan_fingerprints_the_flagged_records(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    answer = "神经网络是一种模仿人脑结构的计算模型，由许多相互连接的神经元组成。"
    rows = [
        {"instruction": "Explain neural networks.", "input": "", "output": answer},  # mismatch
        {"instruction": "[zh] Explain neural networks.", "input": "", "output": answer},
        {"instruction": "介绍一下神经网络。", "input": "", "output": answer},  # no flag
        {"instruction": "Say hi.", "input": "", "output": ""},  # empty_response
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    table = langaudit.scan(path)
    assert [bool(flags) for flags in table.column("flags").to_pylist()] == [1, 1, 0, 1]
    assert table.column("fingerprint").to_pylist() == [
        _hash(answer),
        _hash(answer),
        None,
        _hash("Say hi.\0"),
    ]


@pytest.mark.parametrize("batch_records", [1, 4])
def test_flagged_records_of_parts_merge_to_those_of_the_whole(batch_records: int) -> None:
    whole = AuditStats.merged(stats_per_batch(ROOT / "examples", 10_000, examples=2))
    parts = stats_per_batch(ROOT / "examples", batch_records, examples=2)
    random.Random(batch_records).shuffle(parts)
    merged = AuditStats.merged(parts)
    flagged = merged.to_dict()["flagged_records"]
    assert flagged == whole.to_dict()["flagged_records"]
    assert merged == whole
    assert len(flagged) == 5 and sum(len(s["records"]) for s in flagged) == whole.flagged
    for source in flagged:
        indices = [index for index, _, _ in source["records"]]
        assert indices == sorted(indices)


def test_flagged_records_are_kept_compactly() -> None:
    stats = langaudit.audit(str(ROOT / "examples"), keep_table=False).stats
    records = stats.flagged_records
    assert len(records) == stats.flagged
    arrays = [part for parts in records.parts.values() for part in parts]
    assert sum(a.nbytes for a in arrays) == 17 * stats.flagged


def test_shifting_numbers_the_records_anew_and_leaves_merged_parts_alone() -> None:
    stats = stats_per_batch(ROOT / "examples" / "messages.jsonl", 10_000, examples=2)[0]
    before = stats.flagged_records.to_list()
    merged = FlaggedRecords()
    merged.merge(stats.flagged_records)
    stats.flagged_records.shift(100)
    (shifted,) = stats.flagged_records.to_list()
    assert [r[0] - 100 for r in shifted["records"]] == [r[0] for r in before[0]["records"]]
    assert merged.to_list() == before
