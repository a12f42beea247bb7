"""langaudit.integrations.ray on a real local Ray instance (``ray.init(num_cpus=2)``).

The audit of a ``ray.data.Dataset`` must equal the local audit of the same records exactly:
counts, histograms and the kept examples, with the records numbered in dataset order. Small
``batch_size`` values make every dataset many batches, so the merging and the numbering
offsets are exercised. CI installs the ``ray`` extra; there, a missing Ray is a failure.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import langaudit
from langaudit.errors import InputError, MissingDependencyError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

if os.environ.get("CI") == "true":
    import ray  # CI installs ".[test,ray]": the Ray tests must run there, not skip
else:
    ray = pytest.importorskip("ray")

from langaudit.integrations import ray as langaudit_ray  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        object_store_memory=200 * 1024 * 1024,
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def without_inputs(summary: dict) -> dict:
    """A report's summary without what names the files (the Ray audit reads no path)."""
    return {k: v for k, v in summary.items() if k not in ("inputs", "recommendations")}


def read(path: Path):
    if path.suffix == ".csv":
        return ray.data.read_csv(str(path))
    if path.suffix == ".json":
        # Ray's read_json takes a JSON array's columns from its first record only (it would
        # drop the "system" field the first record lacks); from_items keeps every field
        return ray.data.from_items(json.loads(path.read_text(encoding="utf-8")))
    return ray.data.read_json(str(path), lines=True)


@pytest.mark.parametrize(
    "name",
    [
        "messages.jsonl",
        "sharegpt_chat.jsonl",
        "preference.jsonl",
        "alpaca_zh_en.json",
        "qa_pairs.csv",
    ],
)
def test_audit_equals_the_local_audit(name):
    path = EXAMPLES / name
    local = langaudit.audit(path, keep_table=False)
    remote = langaudit_ray.audit(read(path), source=str(path), batch_size=4)
    assert local.stats.records > 8  # several batches, so offsets and merging matter
    assert remote.stats.to_dict() == local.stats.to_dict()
    assert without_inputs(remote.summary) == without_inputs(local.summary)


def test_examples_keep_their_dataset_positions():
    """The worst records of a flag come from batches after the first one: their numbers are
    positions in the dataset, as the local audit gives them."""
    path = EXAMPLES / "sharegpt_chat.jsonl"
    local = langaudit.audit(path, keep_table=False, examples=20)
    remote = langaudit_ray.audit(read(path), source=str(path), batch_size=3, examples=20)
    positions = [e["index"] for kept in remote.summary["examples"].values() for e in kept]
    assert max(positions) >= 3
    assert remote.summary["examples"] == local.summary["examples"]


def test_audit_takes_the_judging_options():
    path = EXAMPLES / "alpaca_zh_en.json"
    options = {"expect": "zh", "strictness": "strict", "allow_terms": ("Python", "API")}
    local = langaudit.audit(path, keep_table=False, zh_share="0.6:0.9", **options)
    remote = langaudit_ray.audit(
        read(path), source=str(path), batch_size=5, zh_share="0.6:0.9", **options
    )
    assert remote.stats.to_dict() == local.stats.to_dict()
    assert remote.summary["options"] == local.summary["options"]
    assert remote.stats.flags != langaudit.audit(path, keep_table=False).stats.flags


def test_scan_adds_columns_and_keeps_rows():
    path = EXAMPLES / "messages.jsonl"
    annotated = langaudit_ray.scan(read(path), batch_size=4)
    rows = annotated.take_all()
    local = langaudit.scan(path)
    assert len(rows) == local.num_rows
    assert [r["messages"] for r in rows] == [r["messages"] for r in read(path).take_all()]
    for column in ("flags", "response_lang", "prompt_lang", "code_switch_spans"):
        assert [r[f"langaudit_{column}"] for r in rows] == local.column(column).to_pylist()
    assert "langaudit_source" not in rows[0] and "langaudit_index" not in rows[0]


def _chat(prompt: str, answer: str) -> dict:
    turns = [("user", prompt), ("assistant", answer)]
    return {"messages": [{"role": role, "content": text} for role, text in turns]}


def _with_bad_record(position: int) -> list[dict]:
    good = [
        _chat("今天天气怎么样？", "今天是晴天，很暖和。"),
        _chat("What is the weather like today?", "今天是晴天，很暖和。"),
    ]
    records = [good[i % 2] for i in range(12)]
    records[position] = {"messages": [{"role": "bogus", "content": "x"}]}
    return records


def test_an_unreadable_record_is_named_by_its_dataset_position():
    ds = ray.data.from_items(_with_bad_record(9))
    with pytest.raises(InputError) as caught:
        langaudit_ray.audit(ds, source="chats", batch_size=4)
    assert caught.value.location == "chats[9]"
    assert "unknown role 'bogus'" in str(caught.value)
    assert caught.value.field == "messages.0.role"


def test_skipped_records_are_counted_as_locally():
    records = _with_bad_record(5)
    remote = langaudit_ray.audit(
        ray.data.from_items(records), source="<records>", batch_size=4, on_error="skip"
    )
    local = langaudit.audit(records, keep_table=False, on_error="skip")
    assert remote.stats.skipped == 1
    assert remote.stats.to_dict() == local.stats.to_dict()
    # no file to name: the rewrite commands say INPUT
    commands = [c for r in remote.recommendations for c in r.commands]
    assert commands
    assert all(c.startswith("langaudit rewrite INPUT -o ") for c in commands)


def test_scan_refuses_a_dataset_with_langaudit_columns():
    ds = ray.data.from_items([{"instruction": "你好", "output": "你好", "langaudit_flags": 1}])
    with pytest.raises(Exception, match="already has langaudit columns"):
        langaudit_ray.scan(ds).take_all()


def test_without_ray_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "langaudit\[ray\]"'):
        langaudit_ray.audit(object())


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_real_data_audit_equals_the_local_audit():
    path = SHARED / "medicalgpt" / "sharegpt_zh_1K_format.jsonl"
    local = langaudit.audit(path, keep_table=False)
    remote = langaudit_ray.audit(read(path), source=str(path), batch_size=100)
    assert remote.stats.records == 1000
    assert remote.stats.to_dict() == local.stats.to_dict()
