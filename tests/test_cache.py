"""The start-up cache: the same tables as built, rebuilt when broken, off when asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langaudit import cache, codeswitch, lexicon, scripts

CACHED = (
    lexicon.english_lexicon,
    lexicon.english_words,
    codeswitch.vocabulary_hashes,
    scripts.class_table,
    scripts.variant_sets,
)


def fresh() -> list[object]:
    for function in CACHED:
        function.cache_clear()
    return [function() for function in CACHED]


def same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return a == b


@pytest.fixture(autouse=True)
def _restore() -> object:
    yield
    for function in CACHED:
        function.cache_clear()


def test_cached_tables_equal_built_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGAUDIT_CACHE_DIR", "")
    built = fresh()
    assert cache.cache_dir() is None
    monkeypatch.setenv("LANGAUDIT_CACHE_DIR", str(tmp_path))
    first = fresh()  # builds and stores
    stored = sorted(p.name.split("-")[0] for p in tmp_path.glob("*.npz"))
    assert stored == ["class_table", "english_words", "lexicon", "variants", "vocabulary"]
    second = fresh()  # reads
    for b, f, s in zip(built, first, second, strict=True):
        assert same(b, f) and same(b, s)


def test_broken_entries_are_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGAUDIT_CACHE_DIR", str(tmp_path))
    built = fresh()
    for path in tmp_path.glob("*.npz"):
        path.write_bytes(b"not a numpy file")
    assert all(same(b, r) for b, r in zip(built, fresh(), strict=True))
    assert all(path.stat().st_size > 100 for path in tmp_path.glob("*.npz"))


def test_an_unwritable_cache_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    monkeypatch.setenv("LANGAUDIT_CACHE_DIR", str(blocked / "cache"))
    words = fresh()[1]
    assert isinstance(words, frozenset) and "performance" in words
    assert not (blocked / "cache").exists()


def test_entries_of_older_code_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGAUDIT_CACHE_DIR", str(tmp_path))
    (tmp_path / "lexicon-0123456789abcdef01234567.npz").write_bytes(b"old")
    fresh()
    assert len(list(tmp_path.glob("lexicon-*.npz"))) == 1
    assert not (tmp_path / "lexicon-0123456789abcdef01234567.npz").exists()
