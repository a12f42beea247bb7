"""Bad input: a clear ``FILE:LINE: problem`` and a hint, exit code 2, never a traceback; or, with
``--on-error=skip``, skipped, counted and written out. Odd but valid input is simply read."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

import langaudit
import langaudit.io
from cli_helpers import run
from langaudit.cli import main
from langaudit.errors import InputError

SHAPE_HINT = (
    "  hint: name the fields: --prompt-field FIELD --response-field FIELD (dotted paths for "
    "nested fields), or --format {alpaca,sharegpt,messages,pairs,preference}"
)
UTF8_HINT = "  hint: re-encode the file as UTF-8 (e.g. iconv -f GB18030 -t UTF-8 FILE)"
BAD_JSON_HINT = "  hint: fix the line, or pass --on-error=skip to skip and count bad records"
CUT_OFF_HINT = (
    "  hint: JSON lines need one whole record per line; a pretty-printed file should be a JSON "
    "array (.json); or pass --on-error=skip"
)
ARRAY_HINT = (
    "  hint: fix the file; a JSON array cannot be read past a syntax error (JSON lines can)"
)

GOOD = [
    {"instruction": "用一句话介绍北京。", "output": "北京是中国的首都，有三千多年的建城历史。"},
    {
        "instruction": "Describe Paris in one sentence.",
        "output": "Paris is the capital of France, famous for its museums and cafes.",
    },
    {"instruction": "长城有多长？", "output": "长城全长两万多公里，是世界上最长的防御工程。"},
]


def line(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False)


def summary(stderr: str) -> str:
    """The stderr summary with the timing number replaced."""
    return re.sub(r" in \d+\.\ds -> ", " in Xs -> ", stderr)


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


def same_rows(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Rows equal in everything but their source."""
    strip = [[{k: v for k, v in row.items() if k != "source"} for row in rows] for rows in (a, b)]
    return strip[0] == strip[1]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------------------------------
# Malformed JSON lines


MALFORMED = [
    (
        '{"instruction": "讲个笑话", "output": ',
        "bad.jsonl:2: invalid JSON: the record is cut off at the end of the line",
        CUT_OFF_HINT,
    ),
    (
        '{"instruction": "hi", "output": , "id": 3}',
        "bad.jsonl:2: invalid JSON: Expecting value at column 33",
        BAD_JSON_HINT,
    ),
    (
        "{'instruction': '你好', 'output': '你好！'}",
        "bad.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes at column 2",
        BAD_JSON_HINT,
    ),
]


@pytest.mark.parametrize(("bad", "message", "hint"), MALFORMED)
def test_malformed_json_line_stops_with_file_and_line(bad: str, message: str, hint: str) -> None:
    Path("bad.jsonl").write_text(f"{line(GOOD[0])}\n{bad}\n{line(GOOD[1])}\n", encoding="utf-8")
    result = run("scan", "bad.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr == f"{message}\n{hint}\n"
    assert result.stdout == ""
    assert not Path("out.jsonl").exists()  # nothing half-written


def test_integer_too_long_to_read_is_a_bad_line() -> None:
    """Python's json refuses integers of more than 4,300 digits with a ValueError (not a
    JSONDecodeError): still a bad line, skipped and counted under --on-error=skip."""
    huge = '{"instruction": "hi", "output": "ok", "id": ' + "9" * 5000 + "}"
    Path("bad.jsonl").write_text(f"{line(GOOD[0])}\n{huge}\n", encoding="utf-8")
    result = run("scan", "bad.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("bad.jsonl:2: invalid JSON: ") and "digits" in result.stderr
    assert run("scan", "bad.jsonl", "-o", "out.jsonl", "--on-error", "skip").exit_code == 0
    assert len(Path("out.jsonl").read_text("utf-8").splitlines()) == 1


def test_malformed_json_line_main_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    Path("bad.jsonl").write_text(f"{line(GOOD[0])}\n{MALFORMED[0][0]}\n", encoding="utf-8")
    assert main(["scan", "bad.jsonl", "-o", "out.jsonl"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{MALFORMED[0][1]}\n{MALFORMED[0][2]}\n"
    assert "Traceback" not in captured.err + captured.out


def test_malformed_json_line_raises_input_error_in_python() -> None:
    Path("bad.jsonl").write_text(f"{line(GOOD[0])}\n{MALFORMED[1][0]}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        langaudit.scan("bad.jsonl")
    assert info.value.location == "bad.jsonl:2"
    assert str(info.value) == f"{MALFORMED[1][1]}\n{MALFORMED[1][2]}"


def test_on_error_skip_counts_keeps_indices_and_writes_bad_lines() -> None:
    bad_1 = MALFORMED[0][0]
    bad_2 = MALFORMED[2][0]
    Path("bad.jsonl").write_text(
        f"{line(GOOD[0])}\n{bad_1}\n{line(GOOD[1])}\n\n{bad_2}\n{line(GOOD[2])}\n",
        encoding="utf-8",
    )
    result = run(
        "scan", "bad.jsonl", "-o", "out.jsonl", "--on-error=skip", "--bad-lines", "rejects.txt"
    )
    assert result.exit_code == 0
    assert summary(result.stderr) == (
        "bad.jsonl: 3 records (2 skipped)\n"
        "scanned 3 records in Xs -> out.jsonl; flags: none\n"
        "skipped 2 unreadable records, written to rejects.txt; first: "
        "bad.jsonl:2: invalid JSON: the record is cut off at the end of the line\n"
    )
    rows = read_rows(Path("out.jsonl"))
    assert [r["index"] for r in rows] == [0, 2, 4]  # the blank line is not a record
    assert [r["response_lang"] for r in rows] == ["zh", "en", "zh"]
    assert Path("rejects.txt").read_bytes() == f"{bad_1}\n{bad_2}\n".encode()


def test_on_error_skip_without_bad_lines_file() -> None:
    Path("bad.jsonl").write_text(f"{MALFORMED[1][0]}\n{line(GOOD[0])}\n", encoding="utf-8")
    result = run("scan", "bad.jsonl", "-o", "out.jsonl", "--on-error", "skip")
    assert result.exit_code == 0
    assert summary(result.stderr) == (
        "bad.jsonl: 1 record (1 skipped)\n"
        "scanned 1 record in Xs -> out.jsonl; flags: none\n"
        "skipped 1 unreadable record; first: "
        "bad.jsonl:1: invalid JSON: Expecting value at column 33\n"
    )
    assert [r["index"] for r in read_rows(Path("out.jsonl"))] == [1]


def test_on_error_skip_in_python_reports_the_count() -> None:
    Path("bad.jsonl").write_text(
        f"{line(GOOD[0])}\n{MALFORMED[0][0]}\n{line(GOOD[1])}\n", encoding="utf-8"
    )
    table = langaudit.scan("bad.jsonl", on_error="skip")
    assert table.column("index").to_pylist() == [0, 2]
    assert table.schema.metadata[b"langaudit.skipped"] == b"1"


def test_all_records_skipped_is_not_called_an_empty_file() -> None:
    Path("junk.jsonl").write_text("not json\n{broken\n", encoding="utf-8")
    result = run("scan", "junk.jsonl", "-o", "out.jsonl", "--on-error=skip")
    assert result.exit_code == 0
    assert Path("out.jsonl").read_bytes() == b""
    first = result.stderr.splitlines()[0]
    assert first.startswith("junk.jsonl: 0 records")
    assert "empty" not in first, first  # the file has two lines: they were skipped


def test_bad_lines_needs_skip() -> None:
    Path("good.jsonl").write_text(line(GOOD[0]) + "\n", encoding="utf-8")
    result = run("scan", "good.jsonl", "-o", "out.jsonl", "--bad-lines", "rejects.txt")
    assert result.exit_code == 2
    assert result.stderr == "langaudit: --bad-lines needs --on-error=skip\n"
    assert not Path("out.jsonl").exists()
    assert not Path("rejects.txt").exists()


# ---------------------------------------------------------------------------------------------
# Record shapes and field values


def test_unknown_record_shape_lists_keys_and_flags() -> None:
    Path("shape.jsonl").write_text(
        line({"id": 7, "text": "今天天气很好。", "label": "positive"}) + "\n", encoding="utf-8"
    )
    result = run("scan", "shape.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr == (
        "shape.jsonl:1: cannot tell the record shape from its keys ('id', 'text', 'label')\n"
        f"{SHAPE_HINT}\n"
    )


def test_unknown_shape_is_fixed_by_the_flags_it_names() -> None:
    Path("shape.jsonl").write_text(
        line({"id": 7, "text": "今天天气怎么样？", "label": "今天天气很好，阳光明媚。"}) + "\n",
        encoding="utf-8",
    )
    result = run(
        "scan", "shape.jsonl", "-o", "out.jsonl", "--prompt-field", "text",
        "--response-field", "label",
    )  # fmt: skip
    assert result.exit_code == 0
    (row,) = read_rows(Path("out.jsonl"))
    assert (row["format"], row["prompt_lang"], row["response_lang"]) == ("pairs", "zh", "zh")


def test_record_missing_a_field_of_its_shape_names_the_field() -> None:
    Path("alpaca.jsonl").write_text(
        f"{line(GOOD[0])}\n{line({'instruction': '你好', 'input': ''})}\n", encoding="utf-8"
    )
    result = run("scan", "alpaca.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "alpaca.jsonl:2: field 'output': missing (the record has an object with keys "
        "{instruction, input})"
    )


FIELD_VALUES = [
    # (answer value, n_turns, response_lang, response_letters, digits, flags)
    (None, 2, "und", 0, 0, ["empty_response"]),
    (42, 2, "und", 0, 2, []),
    (3.5, 2, "und", 0, 2, []),
    (["苹果", "香蕉", "橙子"], 2, "zh", 6, 0, []),
    ({"text": "苹果、香蕉和橙子都是常见的水果。"}, 2, "zh", 14, 0, []),
    ([{"type": "text", "text": "苹果、香蕉和橙子都是常见的水果。"}], 2, "zh", 14, 0, []),
]


@pytest.mark.parametrize(
    ("value", "n_turns", "lang", "letters", "digits", "flags"),
    FIELD_VALUES,
    ids=["none", "int", "float", "list-of-strings", "object-with-text", "content-parts"],
)
def test_field_values_of_other_types(
    value: Any, n_turns: int, lang: str, letters: int, digits: int, flags: list[str]
) -> None:
    Path("qa.jsonl").write_text(
        line({"question": "列举三种常见的水果。", "answer": value}) + "\n", encoding="utf-8"
    )
    (row,) = langaudit.scan("qa.jsonl").to_pylist()
    assert row["format"] == "pairs"
    assert row["n_turns"] == n_turns
    assert row["response_lang"] == lang
    assert row["response_letters"] == letters
    assert row["response_counts"]["digit"] == digits
    assert row["flags"] == flags


def test_field_value_nested_object_without_text_is_an_error() -> None:
    Path("qa.jsonl").write_text(
        f"{line({'question': '你好', 'answer': '你好！'})}\n"
        f"{line({'question': '列举三种水果。', 'answer': {'score': 0.9, 'source': 'web'}})}\n",
        encoding="utf-8",
    )
    result = run("scan", "qa.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr == (
        "qa.jsonl:2: field 'answer': expected text, got an object with keys {score, source}\n"
        "  hint: point --prompt-field/--response-field at a text field\n"
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [("[\"你好\", \"世界\"]", "an array"), ("42", "a number"), ('"你好"', "a string"),
     ("null", "null"), ("true", "a boolean")],
)  # fmt: skip
def test_json_line_that_is_not_an_object(value: str, kind: str) -> None:
    Path("rec.jsonl").write_text(f"{line(GOOD[0])}\n{value}\n{line(GOOD[1])}\n", encoding="utf-8")
    result = run("scan", "rec.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr == (
        f"rec.jsonl:2: expected a JSON object (one record per line), got {kind}\n"
    )
    skipped = run("scan", "rec.jsonl", "-o", "out.jsonl", "--on-error=skip", "--bad-lines", "b.txt")
    assert skipped.exit_code == 0
    assert [r["index"] for r in read_rows(Path("out.jsonl"))] == [0, 2]
    assert Path("b.txt").read_text(encoding="utf-8") == value + "\n"


@pytest.mark.parametrize("limit", [64 * 1024 * 1024, 0], ids=["whole", "streamed"])
def test_json_array_element_that_is_not_an_object(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    monkeypatch.setattr(langaudit.io, "JSON_WHOLE_LIMIT", limit)
    Path("rec.json").write_text(
        json.dumps([GOOD[0], ["你好", "世界"], 3, GOOD[1]], ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    result = run("scan", "rec.json", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr == "rec.json[1]: expected a record (an object), got an array\n"
    skipped = run("scan", "rec.json", "-o", "out.jsonl", "--on-error=skip", "--bad-lines", "b.txt")
    assert skipped.exit_code == 0
    assert [r["index"] for r in read_rows(Path("out.jsonl"))] == [0, 3]
    assert Path("b.txt").read_text(encoding="utf-8") == '["你好","世界"]\n3\n'


# ---------------------------------------------------------------------------------------------
# Encodings and odd characters


def gb18030_files() -> list[tuple[str, bytes, int, str]]:
    """(name, bytes, line of the first non-UTF-8 byte, exact first line or prefix)."""
    zh = {"instruction": "你好世界", "output": "早上好"}
    return [
        (
            "gb.jsonl",
            (line(GOOD[1]) + "\n").encode() + (line(zh) + "\n").encode("gb18030"),
            2,
            "gb.jsonl:2: invalid UTF-8 (byte 0xc4 at column 18)",
        ),
        (
            "gb.json",
            b"[\n" + (line(GOOD[1]) + ",\n").encode() + (line(zh) + "\n]\n").encode("gb18030"),
            3,
            "gb.json:3: invalid UTF-8",
        ),
        (
            "gb.csv",
            b"question,answer\nWhat is rain?,Rain is water from clouds.\n"
            + "什么是雨？,雨是从云中落下的水。\n".encode("gb18030"),
            3,
            "gb.csv:3: invalid UTF-8",
        ),
        (
            "gb.tsv",
            b"question\tanswer\nWhat is rain?\tRain is water from clouds.\n"
            + "什么是雨？\t雨是从云中落下的水。\n".encode("gb18030"),
            3,
            "gb.tsv:3: invalid UTF-8",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "content", "lineno", "message"),
    gb18030_files(),
    ids=[f[0] for f in gb18030_files()],
)
def test_gb18030_file_names_file_line_and_iconv(
    name: str, content: bytes, lineno: int, message: str
) -> None:
    Path(name).write_bytes(content)
    result = run("scan", name, "-o", "out.jsonl")
    assert result.exit_code == 2
    first, *rest = result.stderr.splitlines()
    assert first.startswith(message), first
    assert first.startswith(f"{name}:{lineno}: ")
    assert rest == [UTF8_HINT]


def test_gb18030_line_is_skipped_and_written_out_byte_for_byte() -> None:
    name, content, _, _ = gb18030_files()[0]
    Path(name).write_bytes(content)
    result = run("scan", name, "-o", "out.jsonl", "--on-error=skip", "--bad-lines", "b.jsonl")
    assert result.exit_code == 0
    assert [r["index"] for r in read_rows(Path("out.jsonl"))] == [0]
    assert Path("b.jsonl").read_bytes() == content.split(b"\n", 1)[1]


def _alpaca_jsonl(newline: str = "\n") -> str:
    return "".join(line(r) + newline for r in GOOD)


def _alpaca_json(newline: str = "\n") -> str:
    return json.dumps(GOOD, ensure_ascii=False, indent=2).replace("\n", newline) + newline


def _qa_csv(delimiter: str = ",", newline: str = "\n") -> str:
    rows = [("question", "answer")] + [(r["instruction"], r["output"]) for r in GOOD]
    return "".join(
        delimiter.join(f'"{c}"' if "," in c else c for c in row) + newline for row in rows
    )


VARIANTS = [
    ("alpaca.jsonl", _alpaca_jsonl),
    ("alpaca.json", _alpaca_json),
    ("qa.csv", lambda nl="\n": _qa_csv(",", nl)),
    ("qa.tsv", lambda nl="\n": _qa_csv("\t", nl)),
]


BOM_CASES = [(name, make, 64 * 1024 * 1024) for name, make in VARIANTS] + [
    ("alpaca.json", _alpaca_json, 0)  # a large array, read as a stream
]


@pytest.mark.parametrize(
    ("name", "make", "limit"),
    BOM_CASES,
    ids=[n for n, _ in VARIANTS] + ["alpaca.json-streamed"],
)
def test_utf8_bom_is_ignored(
    monkeypatch: pytest.MonkeyPatch, name: str, make: Any, limit: int
) -> None:
    monkeypatch.setattr(langaudit.io, "JSON_WHOLE_LIMIT", limit)
    Path(name).write_text(make(), encoding="utf-8")
    Path("bom-" + name).write_bytes(b"\xef\xbb\xbf" + make().encode())
    plain = langaudit.scan(name).to_pylist()
    with_bom = langaudit.scan("bom-" + name).to_pylist()
    assert len(with_bom) == 3
    assert same_rows(plain, with_bom)
    assert with_bom[0]["prompt_counts"]["other"] == 0  # no stray U+FEFF in the first field


@pytest.mark.parametrize(("name", "make"), VARIANTS, ids=[n for n, _ in VARIANTS])
def test_crlf_line_endings_read_like_lf(name: str, make: Any) -> None:
    Path(name).write_text(make(), encoding="utf-8", newline="")
    Path("crlf-" + name).write_bytes(make("\r\n").encode())
    plain = langaudit.scan(name).to_pylist()
    crlf = langaudit.scan("crlf-" + name).to_pylist()
    assert len(crlf) == 3
    assert same_rows(plain, crlf)


def test_crlf_bad_line_is_located_and_written_without_the_cr() -> None:
    Path("crlf.jsonl").write_bytes(
        f'{line(GOOD[0])}\r\n{{"instruction": "x"\r\n{line(GOOD[1])}\r\n'.encode()
    )
    result = run("scan", "crlf.jsonl", "-o", "out.jsonl", "--on-error=skip", "--bad-lines", "b.txt")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1].endswith(
        "first: crlf.jsonl:2: invalid JSON: the record is cut off at the end of the line"
    )
    assert [r["index"] for r in read_rows(Path("out.jsonl"))] == [0, 2]
    assert Path("b.txt").read_bytes() == b'{"instruction": "x"\n'


def test_nul_and_zero_width_characters_inside_strings() -> None:
    Path("odd.jsonl").write_bytes(
        # a raw NUL byte inside a string (not strict JSON, but common), then escaped ones
        b'{"instruction": "\xe4\xbd\xa0\xe5\xa5\xbd\x00\xe4\xb8\x96\xe7\x95\x8c", '
        b'"output": "\\u0000\\u200b\\ufeff"}\n'
        b'{"instruction": "\\u4f60\\u597d\\u0000\\u4e16\\u754c\\u200b", '
        b'"output": "Hello\\u200bworld\\u0000, this is an answer in English."}\n'
    )
    result = run("scan", "odd.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 0
    rows = read_rows(Path("out.jsonl"))
    assert [r["index"] for r in rows] == [0, 1]
    assert [r["prompt_counts"]["han"] for r in rows] == [4, 4]
    assert [r["prompt_counts"]["other"] for r in rows] == [1, 2]
    assert [r["prompt_lang"] for r in rows] == ["zh", "zh"]
    # invisible-only text is an empty response
    assert rows[0]["response_counts"]["other"] == 3
    assert rows[0]["response_letters"] == 0
    assert rows[0]["flags"] == ["empty_response"]
    assert rows[1]["response_lang"] == "en"
    assert rows[1]["response_counts"]["other"] == 2


SURROGATES = [
    # (record, prompt_lang, response_lang, prompt Han characters); the English text goes to
    # the language model, the Chinese text is decided by its script
    (
        '{"instruction": "请解释这个字符：\\ud800", '
        '"output": "这是一个孤立的代理项\\udc00，不是有效的字符。"}',
        "zh",
        "zh",
        7,
    ),
    (
        '{"instruction": "Please explain what this character means: \\ud800", '
        '"output": "It is a lone surrogate \\udc00 and not a valid character on its own."}',
        "en",
        "en",
        0,
    ),
]


@pytest.mark.parametrize("kind", ["jsonl", "json"])
@pytest.mark.parametrize(
    ("record", "prompt_lang", "response_lang", "han"), SURROGATES, ids=["zh", "en"]
)
def test_lone_surrogate_escapes_are_read(
    kind: str, record: str, prompt_lang: str, response_lang: str, han: int
) -> None:
    content = f"{record}\n" if kind == "jsonl" else f"[\n{record}\n]\n"
    Path(f"sur.{kind}").write_text(content, encoding="utf-8")
    result = run("scan", f"sur.{kind}", "-o", "out.jsonl")
    assert result.exit_code == 0, result.stderr
    (row,) = read_rows(Path("out.jsonl"))
    assert (row["index"], row["prompt_lang"], row["response_lang"]) == (
        0,
        prompt_lang,
        response_lang,
    )
    assert row["prompt_counts"]["han"] == han


def test_valid_surrogate_pair_escape_is_an_emoji() -> None:
    Path("emoji.jsonl").write_text(
        '{"instruction": "发一个笑脸\\ud83d\\ude00", "output": "好的，给你一个笑脸。"}\n',
        encoding="utf-8",
    )
    (row,) = langaudit.scan("emoji.jsonl").to_pylist()
    assert row["prompt_counts"]["han"] == 5
    assert row["prompt_counts"]["other"] == 1


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_single_10_mb_record_is_scanned(kind: str) -> None:
    sentence = "这是一个很长的回答。"  # 9 Han characters and a full stop, 30 bytes
    answer = sentence * 350_000
    if kind == "jsonl":
        Path("big.jsonl").write_text(
            line({"instruction": "写一篇很长的文章。", "output": answer}) + "\n", encoding="utf-8"
        )
    else:
        Path("big.csv").write_text(f"question,answer\n写一篇很长的文章。,{answer}\n", "utf-8")
    assert Path(f"big.{kind}").stat().st_size > 10_000_000
    result = run("scan", f"big.{kind}", "-o", "out.jsonl")
    assert result.exit_code == 0, result.stderr
    (row,) = read_rows(Path("out.jsonl"))
    assert row["response_letters"] == 9 * 350_000
    assert row["response_counts"]["cjk_punct"] == 350_000
    assert row["response_lang"] == "zh"


# ---------------------------------------------------------------------------------------------
# Empty files and wrong file structure


EMPTY = [
    ("empty.jsonl", b""),
    ("blank.jsonl", b"  \n\n \t \r\n"),
    ("empty.json", b""),
    ("blank.json", b"\n  \n"),
    ("empty.csv", b""),
    ("empty.tsv", b""),
    ("empty.jsonl.gz", gzip.compress(b"")),
    ("bom-only.jsonl", b"\xef\xbb\xbf\n"),
]


@pytest.mark.parametrize(("name", "content"), EMPTY, ids=[n for n, _ in EMPTY])
def test_empty_and_blank_files_give_zero_rows_and_a_note(name: str, content: bytes) -> None:
    Path(name).write_bytes(content)
    result = run("scan", name, "-o", "out.jsonl")
    assert result.exit_code == 0
    assert Path("out.jsonl").read_bytes() == b""
    assert summary(result.stderr) == (
        f"{name}: 0 records (no records: the file is empty)\n"
        "scanned 0 records in Xs -> out.jsonl; flags: none\n"
    )


OBJECT_FILES = [
    (
        "wrapped.json",
        json.dumps({"data": GOOD}, ensure_ascii=False, indent=2),
        "wrapped.json: expected an array of records, found an object with keys {'data'}",
        "  hint: if the records sit under one key, extract them, e.g. jq '.data' FILE",
    ),
    (
        "dataset_info.json",
        json.dumps(
            {
                "alpaca_zh": {"file_name": "alpaca_zh.json"},
                "chat": {"file_name": "chat.jsonl", "formatting": "sharegpt"},
            },
            indent=2,
        ),
        "dataset_info.json: expected an array of records, found an object with keys "
        "{'alpaca_zh', 'chat'}",
        "  hint: this is a LLaMA-Factory dataset registry, not a dataset: read its datasets "
        "with --registry FILE [NAME...]",
    ),
    (
        # json.dump() without indent: the registry on one line
        "registry.json",
        json.dumps(
            {
                "alpaca_zh": {"file_name": "alpaca_zh.json"},
                "chat": {"file_name": "chat.jsonl", "formatting": "sharegpt"},
            }
        ),
        "registry.json: expected an array of records, found an object with keys "
        "{'alpaca_zh', 'chat'}",
        "  hint: this is a LLaMA-Factory dataset registry, not a dataset: read its datasets "
        "with --registry FILE [NAME...]",
    ),
]


@pytest.mark.parametrize("limit", [64 * 1024 * 1024, 0], ids=["whole", "streamed"])
@pytest.mark.parametrize(
    ("name", "content", "message", "hint"), OBJECT_FILES, ids=[o[0] for o in OBJECT_FILES]
)
def test_json_file_whose_top_level_is_an_object(
    monkeypatch: pytest.MonkeyPatch, name: str, content: str, message: str, hint: str, limit: int
) -> None:
    monkeypatch.setattr(langaudit.io, "JSON_WHOLE_LIMIT", limit)
    Path(name).write_text(content + "\n", encoding="utf-8")
    result = run("scan", name, "-o", "out.jsonl")
    assert result.exit_code == 2, result.stderr
    assert result.stderr == f"{message}\n{hint}\n"


def test_compressed_json_whose_top_level_is_an_object() -> None:
    Path("wrapped.json.gz").write_bytes(
        gzip.compress(json.dumps({"data": GOOD}, ensure_ascii=False, indent=2).encode())
    )
    result = run("scan", "wrapped.json.gz", "-o", "out.jsonl")
    assert result.exit_code == 2, result.stderr  # never 0 rows in silence
    assert result.stderr.startswith(
        "wrapped.json.gz: expected an array of records, found an object with keys {'data'}"
    )


def test_json_array_with_a_syntax_error_names_the_line() -> None:
    Path("broken.json").write_text(
        '[\n  {"instruction": "你好", "output": "你好！"},\n'
        '  {"instruction": "hi" "output": "yo"}\n]',
        encoding="utf-8",
    )
    result = run("scan", "broken.json", "-o", "out.jsonl", "--on-error=skip")
    assert result.exit_code == 2
    assert result.stderr == (
        f"broken.json:3: invalid JSON: Expecting ',' delimiter at column 24\n{ARRAY_HINT}\n"
    )


CSV_BAD = [
    (
        "qa.csv",
        ",",
        'question,answer\n你好吗？,我很好。\n"Rain, snow",falls,down\n早上好,早上好！\n',
    ),
    ("qa.tsv", "\t", "question\tanswer\n你好吗？\t我很好。\nRain\tfalls\tdown\n早上好\t早上好！\n"),
]


@pytest.mark.parametrize(("name", "delimiter", "content"), CSV_BAD, ids=["csv", "tsv"])
def test_csv_row_with_wrong_field_count(name: str, delimiter: str, content: str) -> None:
    Path(name).write_text(content, encoding="utf-8")
    result = run("scan", name, "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr == (
        f"{name}:3: expected 2 fields (as in the header), found 3\n"
        "  hint: quote fields that contain the delimiter or newlines\n"
    )
    skipped = run("scan", name, "-o", "out.jsonl", "--on-error=skip", "--bad-lines", "b.txt")
    assert skipped.exit_code == 0
    assert [r["index"] for r in read_rows(Path("out.jsonl"))] == [0, 2]
    assert Path("b.txt").read_text(encoding="utf-8") == content.splitlines()[2] + "\n"


def test_csv_error_line_counts_multiline_fields() -> None:
    Path("qa.csv").write_text(
        'question,answer\n什么是雨？,"雨是从云中\n落下的水。"\nWhat is snow?,Frozen,rain\n',
        encoding="utf-8",
    )
    result = run("scan", "qa.csv", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("qa.csv:4: expected 2 fields (as in the header), found 3\n")


# ---------------------------------------------------------------------------------------------
# Paths and options


def test_nonexistent_path() -> None:
    Path("good.jsonl").write_text(line(GOOD[0]) + "\n", encoding="utf-8")
    result = run("scan", "good.jsonl", "missing.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr == "langaudit: missing.jsonl: no such file or directory\n"
    assert not Path("out.jsonl").exists()


def test_unknown_input_suffix() -> None:
    Path("notes.docx").write_bytes(b"PK\x03\x04")
    result = run("scan", "notes.docx", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("langaudit: notes.docx: cannot read .docx files\n  hint: ")


@pytest.mark.parametrize(
    ("inputs", "output"),
    [(["in.jsonl"], "in.jsonl"), (["in.jsonl"], "./in.jsonl"), (["data"], "data/in.jsonl")],
    ids=["same", "dot-slash", "inside-directory-input"],
)
def test_output_equal_to_an_input_is_refused(inputs: list[str], output: str) -> None:
    Path("data").mkdir()
    content = (_alpaca_jsonl()).encode()
    target = Path("data/in.jsonl") if inputs == ["data"] else Path("in.jsonl")
    target.write_bytes(content)
    result = run("scan", *inputs, "-o", output)
    assert result.exit_code == 2
    assert result.stderr == (
        f"langaudit: {output}: the output would overwrite an input\n"
        "  hint: write the results to another file\n"
    )
    assert target.read_bytes() == content


def test_bad_lines_file_equal_to_an_input_is_refused() -> None:
    content = f"{line(GOOD[0])}\n{MALFORMED[0][0]}\n".encode()
    Path("in.jsonl").write_bytes(content)
    result = run(
        "scan", "in.jsonl", "-o", "out.jsonl", "--on-error=skip", "--bad-lines", "in.jsonl"
    )
    assert result.exit_code == 2
    assert Path("in.jsonl").read_bytes() == content


def test_bad_lines_file_equal_to_the_output_is_refused() -> None:
    Path("in.jsonl").write_text(f"{line(GOOD[0])}\n{MALFORMED[0][0]}\n", encoding="utf-8")
    result = run(
        "scan", "in.jsonl", "-o", "out.jsonl", "--on-error=skip", "--bad-lines", "out.jsonl"
    )
    assert result.exit_code == 2


@pytest.mark.parametrize("output", ["out.txt", "out.csv", "out.json", "out"])
def test_unknown_output_suffix(output: str) -> None:
    Path("in.jsonl").write_text(_alpaca_jsonl(), encoding="utf-8")
    result = run("scan", "in.jsonl", "-o", output)
    assert result.exit_code == 2
    assert result.stderr == (
        f"langaudit: cannot write scan results to '{output}'\n"
        "  hint: name the output .jsonl or .parquet, or '-' for JSON lines on stdout\n"
    )
    assert not Path(output).exists()


def test_output_into_a_missing_directory() -> None:
    Path("in.jsonl").write_text(_alpaca_jsonl(), encoding="utf-8")
    result = run("scan", "in.jsonl", "-o", "nowhere/out.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("langaudit: nowhere/out.jsonl: ")
