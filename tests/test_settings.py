"""Settings files: discovery, keys and values, overrides by glob, the command line on top."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import langaudit
from cli_helpers import run
from langaudit import settings as st
from langaudit.config import ShareRange
from langaudit.errors import UsageError


def alpaca(instruction: str, output: str) -> dict[str, str]:
    return {"instruction": instruction, "input": "", "output": output}


ZH_ANSWER = alpaca("Describe the Great Wall.", "长城是中国古代的军事防御工程，全长两万多公里。")
EN_ANSWER = alpaca(
    "Name three primary colors.", "The three primary colors are red, blue and yellow."
)
TUNING = alpaca(
    "什么是微调？", "微调就是在预训练模型上继续训练，训练以后要evaluate一下模型的效果。"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, *records: dict[str, str]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


# ---------------------------------------------------------------------------------------------
# Finding the file


def test_nearest_file_above_each_input(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.langaudit]\nexpect = "zh"\n')
    write(tmp_path / "data" / "pyproject.toml", '[project]\nname = "x"\n')  # no table: passed over
    write(tmp_path / "data" / "en" / "langaudit.toml", 'expect = "en"\n')
    write(tmp_path / "data" / "en" / "pyproject.toml", '[tool.langaudit]\nexpect = "ja"\n')
    seen: dict[Path, st.Settings] = {}
    assert st.find(tmp_path / "data" / "a.jsonl", seen).options == {"expect": "zh"}
    assert st.find(tmp_path / "data" / "en" / "b.jsonl", seen).options == {"expect": "en"}
    assert st.find(tmp_path / "data" / "en" / "c" / "d.jsonl", seen).path == (
        tmp_path / "data" / "en" / "langaudit.toml"
    )


def test_no_file_means_no_settings(tmp_path: Path) -> None:
    jsonl(tmp_path / "x.jsonl", EN_ANSWER)
    ((source, options, _),) = st.for_inputs([tmp_path / "x.jsonl"], {"expect": "en"}, False)
    assert options == {"expect": "en"} and source.name == str(tmp_path / "x.jsonl")


# ---------------------------------------------------------------------------------------------
# Keys and values


def test_every_key_parses(tmp_path: Path) -> None:
    write(tmp_path / "glossary.txt", "SwanLab\n# a comment\nadapter\n")
    path = write(
        tmp_path / "langaudit.toml",
        """
format = "alpaca"
prompt-field = "q"
response-field = "a"
system-field = "sys"
expect = "zh_TW"
strictness = "strict"
allow-terms = ["LoRA"]
allow-terms-file = "glossary.txt"
on-error = "skip"
max-rate = { code_switch = 0.01, punct_mismatch = "5%" }
max-count = { lang_mismatch = 0 }
zh-share = [0.6, 0.9]
max-lines = 10
examples = 3
""",
    )
    assert st.load(path).options == {
        "format": "alpaca",
        "prompt_field": "q",
        "response_field": "a",
        "system_field": "sys",
        "expect": "zh-Hant",
        "strictness": "strict",
        "allow_terms": ("LoRA", "SwanLab", "adapter"),
        "on_error": "skip",
        "max_rate": {"code_switch": 0.01, "punct_mismatch": 0.05},
        "max_count": {"lang_mismatch": 0},
        "zh_share": ShareRange(0.6, 0.9),
        "max_lines": 10,
        "examples": 3,
    }


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('expct = "zh"', "unknown key 'expct' (did you mean 'expect'?)"),
        ("max_rate = { code_switch = 0.1 }", "unknown key 'max_rate' (did you mean 'max-rate'?)"),
        (
            "max-rate = { code_swich = 0.1 }",
            "unknown flag 'code_swich' (did you mean 'code_switch'?)",
        ),
        ("max-rate = { code_switch = 1.5 }", "code_switch: expected a rate between 0 and 1"),
        ("max-count = { empty_response = -1 }", "expected a whole number >= 0"),
        ("max-count = 3", "expected a table of flag = limit"),
        ('zh-share = "0.9:0.1"', "0.9 is above 0.1"),
        ('strictness = "harsh"', "expected one of lenient, default, strict"),
        ('expect = "klingon"', "unknown language 'klingon'"),
        ('allow-terms = "LoRA"', "expected a list of terms"),
        ("[[overrides]]\nexpect = 'en'", "override 1: needs files = [GLOB, ...]"),
        (
            "[[overrides]]\nfiles = ['*.jsonl']\nmax-lines = 3",
            "unknown key 'max-lines' (only at the top level)",
        ),
        ("expect = ", "invalid TOML"),
        ("files = ['*.jsonl']", "unknown key 'files' (only in [[overrides]]"),
        ("[tool.langaudit]\nexpect = 'zh'", "langaudit.toml takes the keys at its top level"),
        ("[[overrides]]\nfiles = ['[z-a].jsonl']", "files: bad glob '[z-a].jsonl'"),
    ],
)
def test_bad_settings_are_errors_naming_the_file_and_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = write(tmp_path / "langaudit.toml", toml + "\n")
    with pytest.raises(UsageError) as caught:
        st.load(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_pyproject_files_that_are_not_langaudit_s(tmp_path: Path) -> None:
    odd = write(tmp_path / "a" / "pyproject.toml", "tool = 1\n")
    assert st.find(odd).path is None  # passed over, like any pyproject.toml without the table
    other = write(tmp_path / "b" / "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    with pytest.raises(UsageError, match=r"no \[tool.langaudit\] table"):
        st.load(other)  # named with --config: an error, not silently nothing


def test_bad_settings_exit_2_from_every_command(tmp_path: Path) -> None:
    jsonl(tmp_path / "d.jsonl", EN_ANSWER)
    write(tmp_path / "pyproject.toml", '[tool.langaudit]\nstrictnes = "strict"\n')
    data = str(tmp_path / "d.jsonl")
    for args in (["check", data], ["audit", data, "-q"], ["scan", data, "-o", "-"]):
        result = run(*args)
        assert result.exit_code == 2, args
        assert "[tool.langaudit]: unknown key 'strictnes' (did you mean 'strictness'?)" in (
            result.stderr
        )
        assert result.stdout == ""


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("*_en.jsonl", "data/x/train_en.jsonl", True),  # no slash: a name in any folder
        ("*_en.jsonl", "train_zh.jsonl", False),
        ("data/en/**", "data/en/a/b.jsonl", True),
        ("data/en/**", "data/zh/b.jsonl", False),
        ("data/*.jsonl", "data/a.jsonl", True),
        ("data/*.jsonl", "data/sub/a.jsonl", False),
        ("data/**/*.jsonl", "data/a.jsonl", True),
        ("data/**/*.jsonl", "data/x/y/a.jsonl", True),
        ("data/en/", "data/en/a.jsonl", True),
        ("data/en", "data/en/a.jsonl", True),  # a folder matches what is in it
        ("data/[!z]*.csv", "data/a.csv", True),
        ("data/[!z]*.csv", "data/z.csv", False),
        ("./a?.json", "ab.json", True),
    ],
)
def test_globs(glob: str, path: str, matches: bool) -> None:
    assert st.Override((glob,), {}).matches(path) is matches


# ---------------------------------------------------------------------------------------------
# Overrides and the command line


def test_overrides_apply_to_their_files_in_order(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml",
        """
[tool.langaudit]
expect = "zh"
max-rate = { code_switch = 0.01, punct_mismatch = 0.1 }

[[tool.langaudit.overrides]]
files = ["data/en/**"]
expect = "en"
max-rate = { code_switch = 0.05 }

[[tool.langaudit.overrides]]
files = ["*_strict.jsonl"]
strictness = "strict"
""",
    )
    settings = st.load(path)
    assert settings.options_for(tmp_path / "data/en/a_strict.jsonl") == {
        "expect": "en",
        "max_rate": {"code_switch": 0.05, "punct_mismatch": 0.1},  # merged flag by flag
        "strictness": "strict",
    }
    assert settings.options_for(tmp_path / "data/zh/a.jsonl")["expect"] == "zh"


def test_a_limit_replaces_the_other_kind_of_limit_and_glossaries_add_up() -> None:
    base = {"max_count": {"code_switch": 0, "lang_mismatch": 0}, "allow_terms": ("LoRA",)}
    top = {"max_rate": {"code_switch": 0.5}, "allow_terms": ("vLLM", "LoRA")}
    assert st.merge_options(base, top) == {
        "max_count": {"lang_mismatch": 0},
        "max_rate": {"code_switch": 0.5},
        "allow_terms": ("LoRA", "vLLM"),
    }


def test_overrides_of_a_config_file_elsewhere(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ci" / "langaudit.toml",
        '[[overrides]]\nfiles = ["../data/*.jsonl"]\nexpect = "en"\n'
        '[[overrides]]\nfiles = ["*_zh.jsonl"]\nexpect = "zh"\n'
        '[[overrides]]\nfiles = ["/*.jsonl"]\nexpect = "ja"\n',
    )
    settings = st.load(path)
    assert settings.options_for(tmp_path / "data" / "a.jsonl") == {"expect": "en"}
    assert settings.options_for(tmp_path / "elsewhere" / "b_zh.jsonl") == {"expect": "zh"}
    assert settings.options_for(tmp_path / "ci" / "c.jsonl") == {"expect": "ja"}
    assert settings.options_for(tmp_path / "ci" / "sub" / "c.jsonl") == {}  # anchored


def test_config_drives_check_and_the_command_line_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "pyproject.toml",
        """
[tool.langaudit]
expect = "en"
max-count = { lang_mismatch = 0 }

[[tool.langaudit.overrides]]
files = ["zh/**"]
expect = "zh"
""",
    )
    jsonl(tmp_path / "en" / "a.jsonl", ZH_ANSWER)
    jsonl(tmp_path / "zh" / "a.jsonl", ZH_ANSWER)
    result = run("check", "en/a.jsonl", "zh/a.jsonl")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "en/a.jsonl:1: lang_mismatch: answer in zh (1.00), expected en (--expect)"
    )
    assert "FAIL lang_mismatch (max count 0): en/a.jsonl 1 of 1 record (100%)" in result.stdout
    assert run("check", "en/a.jsonl", "--max-count", "lang_mismatch=1").exit_code == 0
    assert run("check", "en/a.jsonl", "--expect", "zh").exit_code == 0
    # --config names the file for every input; its globs are relative to its own folder
    write(tmp_path / "other" / "langaudit.toml", "max-rate = { lang_mismatch = 1 }\n")
    assert run("check", "en/a.jsonl", "--config", "other/langaudit.toml").exit_code == 0


def test_overrides_match_the_files_of_a_folder_given_as_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    chinese = alpaca("请介绍一下长城。", "长城是中国古代的军事防御工程，全长两万多公里。")
    jsonl(tmp_path / "data" / "train_en.jsonl", chinese)
    jsonl(tmp_path / "data" / "train_zh.jsonl", chinese)
    write(
        tmp_path / "langaudit.toml",
        '[[overrides]]\nfiles = ["*_en.jsonl"]\nexpect = "en"\n',
    )
    result = langaudit.check("data")
    assert [(Path(f.path).name, f.flag) for f in result.findings] == [
        ("train_en.jsonl", "lang_mismatch")
    ]


def test_glossary_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    jsonl(tmp_path / "d.jsonl", TUNING)
    assert langaudit.check("d.jsonl").failures[0].rule.name == "code_switch"
    write(tmp_path / "terms.txt", "evaluate\n")
    write(tmp_path / "langaudit.toml", 'allow-terms-file = "terms.txt"\n')
    assert langaudit.check("d.jsonl").ok
    write(tmp_path / "langaudit.toml", 'allow-terms = ["Evaluate"]\n')  # case-insensitive
    assert langaudit.check("d.jsonl").ok
    assert not langaudit.check("d.jsonl", config=False).ok


def test_config_serves_scan_and_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    jsonl(tmp_path / "d.jsonl", EN_ANSWER)
    write(tmp_path / "langaudit.toml", 'expect = "zh"\nexamples = 1\nzh-share = "0.5:"\n')
    assert run("scan", "d.jsonl", "-o", "out.parquet", "-q").exit_code == 0
    row = pq.read_table("out.parquet").to_pylist()[0]
    assert (row["expected_lang"], row["expected_source"], row["flags"]) == (
        "zh",
        "config",
        ["lang_mismatch"],
    )
    assert run("audit", "d.jsonl", "-q", "--json", "r.json").exit_code == 0
    report = json.loads(Path("r.json").read_text(encoding="utf-8"))
    assert report["flags"]["lang_mismatch"]["count"] == 1
    assert report["config_files"] == [str(tmp_path / "langaudit.toml")]
    assert report["options"] == {}  # given by the settings file, not repeated as options
    rebalance = [r for r in report["recommendations"] if r["id"] == "rebalance"]
    assert rebalance[0]["title"] == "Rebalance Chinese responses from 0% to 50%"
    # the command line wins: --expect en, and a share the data already has
    assert run("audit", "d.jsonl", "-q", "--json", "r.json", "--expect", "en",
               "--zh-share", ":0.2").exit_code == 0  # fmt: skip
    report = json.loads(Path("r.json").read_text(encoding="utf-8"))
    assert report["flags"]["lang_mismatch"]["count"] == 0
    assert not [r for r in report["recommendations"] if r["id"] == "rebalance"]


@pytest.mark.parametrize(
    ("text", "low", "high", "target"),
    [
        ("0.6:0.9", 0.6, 0.9, None),
        ("60%:90%", 0.6, 0.9, None),
        ("0.6:", 0.6, 1.0, None),
        (":0.1", 0.0, 0.1, None),
        ("0.7", 0.69, 0.71, 0.7),
    ],
)
def test_share_ranges(text: str, low: float, high: float, target: float | None) -> None:
    share = ShareRange.parse(text)
    assert (share.low, share.high, share.target) == pytest.approx((low, high, target))
    assert share.fix((low + high) / 2) is None
    assert share.fix(0.0 if low > 0 else 1.0) == (target if target is not None else
                                                  (low if low > 0 else high))  # fmt: skip
