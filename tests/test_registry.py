"""LLaMA-Factory registries (``--registry dataset_info.json``): every local dataset is read with
the columns and tags it declares, as LLaMA-Factory's converters read it; Hub and script entries
are listed as skipped; the report groups by dataset; scan, check and rewrite take it too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from cli_helpers import run
from langaudit.formats import FieldError
from langaudit.registry import Declared, read_registry

ZH = "这个问题的答案是先把数据清洗干净，然后再开始训练模型，最后仔细评估它的效果。"
EN = "The answer is to clean the data first, then train the model, and evaluate it carefully."
EN_Q = "How should I prepare a dataset before fine-tuning a language model?"
ZH_Q = "在微调语言模型之前，我应该如何准备数据集？"

REGISTRY: dict[str, Any] = {
    # Alpaca with custom columns; its "sys" column is declared, "system" is not
    "qa_custom": {
        "file_name": "qa_custom.jsonl",
        "columns": {
            "prompt": "question",
            "query": "material",
            "response": "reply",
            "system": "sys",
            "history": "earlier",
        },
    },
    # Alpaca preference data: chosen and rejected are strings
    "prefs_alpaca": {
        "file_name": "prefs_alpaca.json",
        "ranking": True,
        "columns": {"prompt": "instruction", "chosen": "good", "rejected": "bad"},
    },
    # ShareGPT with custom tags, a system tag, and a system column that it overrides
    "chat_tags": {
        "file_name": "chat_tags.jsonl",
        "formatting": "sharegpt",
        "columns": {"messages": "dialog", "system": "sys"},
        "tags": {
            "role_tag": "speaker",
            "content_tag": "text",
            "user_tag": "usr",
            "assistant_tag": "bot",
            "observation_tag": "tool",
            "function_tag": "call",
            "system_tag": "sys",
        },
    },
    # ShareGPT preference data: chosen and rejected are single messages
    "prefs_sharegpt": {
        "file_name": "prefs_sharegpt.json",
        "formatting": "sharegpt",
        "ranking": True,
        "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
    },
    # a folder of two files, default Alpaca columns
    "folder_alpaca": {"file_name": "parts"},
    "hub_entry": {"hf_hub_url": "someone/dataset", "columns": {"prompt": "q"}},
    "script_entry": {"script_url": "my_script"},
    "pretrain": {"file_name": "corpus.jsonl", "columns": {"prompt": "text"}},
    "gone": {"file_name": "gone.json"},
}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """A registry folder with one file per kind of entry (see REGISTRY)."""
    folder = tmp_path / "data"
    folder.mkdir()
    write_jsonl(
        folder / "qa_custom.jsonl",
        [
            {"question": ZH_Q, "material": "", "reply": ZH, "sys": "", "earlier": None},
            # English question, Chinese answer: a mismatch...
            {"question": EN_Q, "material": "", "reply": ZH, "sys": "", "earlier": None},
            # ...unless the declared system column asks for Chinese
            {"question": EN_Q, "material": "", "reply": ZH, "sys": "请用中文回答。"},
            # an undeclared "system" column is not read by training, nor here
            {"question": EN_Q, "material": "", "reply": ZH, "sys": "", "system": "请用中文回答。"},
            {"question": ZH_Q, "material": "", "reply": ZH, "earlier": [[EN_Q, ZH]]},
        ],
    )
    (folder / "prefs_alpaca.json").write_text(
        json.dumps(
            [
                {"instruction": ZH_Q, "good": ZH, "bad": EN},
                {"instruction": EN_Q, "good": EN, "bad": EN},
            ],
            ensure_ascii=False,
        ),
        "utf-8",
    )
    write_jsonl(
        folder / "chat_tags.jsonl",
        [
            {
                "dialog": [
                    {"speaker": "sys", "text": "You are a helpful assistant."},
                    {"speaker": "usr", "text": ZH_Q},
                    {"speaker": "call", "text": '{"name": "search"}'},
                    {"speaker": "tool", "text": '{"result": 1}'},
                    {"speaker": "bot", "text": ZH},
                ],
                "sys": "ignored: the system message comes first",
            },
            {
                "dialog": [{"speaker": "usr", "text": EN_Q}, {"speaker": "bot", "text": EN}],
                "sys": "Be concise and precise in every answer.",
            },
            # two user messages in a row: LLaMA-Factory skips the record
            {
                "dialog": [
                    {"speaker": "usr", "text": EN_Q},
                    {"speaker": "usr", "text": EN_Q},
                    {"speaker": "bot", "text": EN},
                ],
                "sys": "",
            },
        ],
    )
    (folder / "prefs_sharegpt.json").write_text(
        json.dumps(
            [
                {
                    "conversations": [{"from": "human", "value": EN_Q}],
                    "chosen": {"from": "gpt", "value": EN},
                    "rejected": {"from": "gpt", "value": ZH},
                }
            ],
            ensure_ascii=False,
        ),
        "utf-8",
    )
    (folder / "parts").mkdir()
    write_jsonl(folder / "parts" / "a.jsonl", [{"instruction": ZH_Q, "input": "", "output": ZH}])
    write_jsonl(folder / "parts" / "b.jsonl", [{"instruction": EN_Q, "input": "", "output": EN}])
    write_jsonl(folder / "corpus.jsonl", [{"text": EN}])
    (folder / "dataset_info.json").write_text(json.dumps(REGISTRY), "utf-8")
    return folder / "dataset_info.json"


def audit_json(registry: Path, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "report.json"
    result = run("audit", "--registry", str(registry), *args, "--json", str(out), "-q")
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text("utf-8"))


def flagged_indices(report: dict[str, Any], source: str, flag: str) -> list[int]:
    return sorted(e["index"] for e in report["examples"][flag] if e["source"] == source)


# ---------------------------------------------------------------------------------------------
# Reading the registry


def test_the_registry_lists_local_datasets_and_why_others_are_skipped(registry: Path) -> None:
    reg = read_registry(registry)
    status = {d.name: (d.skipped_kind, d.files) for d in reg.datasets}
    folder = str(registry.parent)
    assert status["qa_custom"] == (None, [f"{folder}/qa_custom.jsonl"])
    assert status["folder_alpaca"] == (None, [f"{folder}/parts/a.jsonl", f"{folder}/parts/b.jsonl"])
    assert status["hub_entry"][0] == "remote"
    assert status["script_entry"][0] == "remote"
    assert status["pretrain"][0] == "pretraining"
    assert status["gone"][0] == "missing"
    hub = next(d for d in reg.datasets if d.name == "hub_entry")
    assert hub.skipped == "loads from the Hugging Face Hub (hf_hub_url: someone/dataset)"
    assert [d.name for d in read_registry(registry, ["chat_tags", "qa_custom"]).datasets] == [
        "chat_tags",
        "qa_custom",
    ]


def test_columns_leave_out_what_they_do_not_name(registry: Path) -> None:
    """As in LLaMA-Factory: with ``columns``, an unnamed column is unused (no ``input``); with
    ``tags``, an unnamed tag is unused; without either, the defaults."""
    reg = {d.name: d.declared for d in read_registry(registry).datasets}
    assert reg["prefs_alpaca"] == Declared(
        ranking=True,
        prompt="instruction",
        query=None,
        response=None,
        messages=None,
        chosen="good",
        rejected="bad",
    )
    assert reg["folder_alpaca"] == Declared()
    kto = {"formatting": "sharegpt", "tags": {"role_tag": "role", "content_tag": "content"}}
    (registry.parent / "k.json").write_text("[]")
    registry.write_text(json.dumps({"k": {"file_name": "k.json", **kto}}))
    (declared,) = [d.declared for d in read_registry(registry).datasets]
    assert declared.user_tag is None and declared.system_tag is None
    assert declared.messages == "conversations"


def test_alpaca_reads_the_declared_columns() -> None:
    declared = Declared(prompt="q", query="m", response="r", system="s", history="h")
    turns = declared.turns({"q": "Q", "m": "M", "r": "R", "s": "S", "h": [["q0", "r0"]]})
    assert [(t.role, t.text, t.field) for t in turns] == [
        ("system", "S", "s"),
        ("user", "q0", "h.0.0"),
        ("assistant", "r0", "h.0.1"),
        ("user", "Q", "q"),
        ("context", "M", "m"),
        ("assistant", "R", "r"),
    ]
    # the input alone is the user's message; a missing answer is no answer (not an error)
    turns = declared.turns({"q": "", "m": "M"})
    assert [(t.role, t.text) for t in turns] == [("user", "M")]


def test_sharegpt_roles_follow_the_tags_and_broken_records_are_named() -> None:
    declared = Declared(formatting="sharegpt", messages="c")
    turns = declared.turns(
        {
            "c": [
                {"from": "system", "value": "S"},
                {"from": "human", "value": "U"},
                {"from": "function_call", "value": "{}"},
                {"from": "observation", "value": "{}"},
                {"from": "gpt", "value": "A"},
            ]
        }
    )
    assert [t.role for t in turns] == ["system", "user", "tool_call", "tool_result", "assistant"]
    with pytest.raises(FieldError) as err:
        declared.turns({"c": [{"from": "gpt", "value": "A"}, {"from": "human", "value": "U"}]})
    assert err.value.field == "c.0.from" and "Invalid role tag" in err.value.problem
    with pytest.raises(FieldError) as err:
        declared.turns({"c": [{"from": "human", "value": "U"}]})
    assert err.value.field == "c" and "Invalid message count" in err.value.problem
    # ranking: the prompt ends with the user; chosen and rejected are single messages
    ranked = Declared(formatting="sharegpt", ranking=True, chosen="y", rejected="n")
    record = {
        "conversations": [{"from": "human", "value": "U"}],
        "y": {"from": "gpt", "value": "good"},
        "n": {"from": "gpt", "value": "bad"},
    }
    turns = ranked.turns(record)
    assert [(t.role, t.text, t.field) for t in turns] == [
        ("user", "U", "conversations.0.value"),
        ("assistant", "good", "y.value"),
        ("assistant", "bad", "n.value"),
    ]
    with pytest.raises(FieldError) as err:
        ranked.turns({**record, "n": {"from": "human", "value": "bad"}})
    assert err.value.field == "n.from"


# ---------------------------------------------------------------------------------------------
# The CLI


def test_audit_groups_by_dataset_and_reads_as_declared(registry: Path, tmp_path: Path) -> None:
    report = audit_json(registry, tmp_path, "--on-error", "skip")
    datasets = {d["name"]: d for d in report["registry"]["datasets"]}
    assert report["registry"]["path"] == str(registry)
    assert list(datasets) == list(REGISTRY)
    assert {n: d["status"] for n, d in datasets.items() if d["status"] == "skipped"} == {
        "hub_entry": "skipped",
        "script_entry": "skipped",
        "pretrain": "skipped",
        "gone": "skipped",
    }
    counts = {n: (d["records"], d["skipped_records"]) for n, d in datasets.items()}
    assert counts["qa_custom"] == (5, 0)
    assert counts["chat_tags"] == (2, 1)  # the record with two user turns in a row
    assert counts["folder_alpaca"] == (2, 0)
    assert counts["prefs_alpaca"] == (2, 0) and counts["prefs_sharegpt"] == (1, 0)
    assert report["records"] == 12 and report["skipped"] == 1
    qa = str(registry.parent / "qa_custom.jsonl")
    # record 2's declared system column asks for Chinese; record 3's "system" is not declared;
    # record 4's history (declared) has an English question answered in Chinese
    assert flagged_indices(report, qa, "lang_mismatch") == [1, 3, 4]
    sources = {s["source"]: s["dataset"] for s in report["sources"]}
    assert sources[qa] == "qa_custom"
    assert sources[str(registry.parent / "parts" / "b.jsonl")] == "folder_alpaca"
    # the rejected answer of a ShareGPT preference pair is judged too
    prefs = str(registry.parent / "prefs_sharegpt.json")
    assert flagged_indices(report, prefs, "lang_mismatch") == [0]
    # the fixes are rewrite commands by registry and dataset name
    tag = next(r for r in report["recommendations"] if r["id"] == "tag_mismatches")
    assert f"langaudit rewrite --registry {registry} qa_custom -o " in tag["commands"][0]


def test_an_unreadable_record_names_the_file_line_and_field(registry: Path) -> None:
    result = run("audit", "--registry", str(registry), "chat_tags", "-q")
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    where = f"{registry.parent / 'chat_tags.jsonl'}:3: field 'dialog.1.speaker': "
    assert first.startswith(where + "role 'usr' at message 2, where LLaMA-Factory takes 'bot'")
    assert "Invalid role tag" in first


def test_the_terminal_and_html_reports_show_the_datasets(registry: Path, tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    result = run("audit", "--registry", str(registry), "--on-error", "skip", "--html", str(html))
    assert result.exit_code == 0, result.output
    assert f"Datasets of {registry}" in result.stdout
    assert "2 skipped" in result.stdout and "not local (Hub, script or cloud)" in result.stdout
    assert "1 unreadable skipped" in result.stdout
    page = html.read_text("utf-8")
    assert '<h2 id="datasets">Datasets</h2>' in page
    assert "skipped: loads from the Hugging Face Hub (hf_hub_url: someone/dataset)" in page


def test_dataset_names_are_escaped_in_html(registry: Path, tmp_path: Path) -> None:
    info = json.loads(registry.read_text())
    registry.write_text(json.dumps({"<script>alert(1)</script>": info["folder_alpaca"]}))
    html = tmp_path / "r.html"
    assert run("audit", "--registry", str(registry), "--html", str(html), "-q").exit_code == 0
    page = html.read_text("utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_scan_and_check_take_dataset_names(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    result = run("scan", "--registry", str(registry), "qa_custom", "chat_tags", "-o", str(out),
                 "--on-error", "skip")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [(Path(r["source"]).name, r["format"]) for r in rows] == [
        *[("qa_custom.jsonl", "alpaca")] * 5,
        *[("chat_tags.jsonl", "sharegpt")] * 2,
    ]
    chat = rows[5]
    assert [(t["role"], t["field"]) for t in chat["turns"]] == [
        ("system", "dialog.0.text"),
        ("user", "dialog.1.text"),
        ("tool_call", "dialog.2.text"),
        ("tool_result", "dialog.3.text"),
        ("assistant", "dialog.4.text"),
    ]
    assert rows[6]["system_lang"] == "en"  # the system column, no system message
    ok = run("check", "--registry", str(registry), "folder_alpaca", "--max-count",
             "lang_mismatch=0")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    bad = run("check", "--registry", str(registry), "qa_custom", "--max-count", "lang_mismatch=0")
    assert bad.exit_code == 1
    assert f"{registry.parent / 'qa_custom.jsonl'}:2: lang_mismatch" in bad.stdout
    everything = run("check", "--registry", str(registry), "--on-error", "skip")
    assert "skipped 2 not local (Hub, script or cloud): hub_entry, script_entry" in (
        everything.stderr
    )


def test_rewrite_writes_where_training_reads(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixed.jsonl"
    result = run(
        "rewrite", "--registry", str(registry), "qa_custom", "-o", str(out), "--tag",
        "instruction", "--tag-when", "mismatch", "-q",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["question"].endswith("Please answer in Chinese.") for r in records] == [
        False,
        True,
        False,
        True,
        False,
    ]
    # a system prompt goes into the system message, with the dataset's own tags
    out = tmp_path / "chat.jsonl"
    result = run(
        "rewrite", "--registry", str(registry), "chat_tags", "-o", str(out), "--tag", "system",
        "--tag-when", "always", "--on-error", "skip", "-q",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    first = json.loads(out.read_text("utf-8").splitlines()[0])
    assert first["dialog"][0] == {
        "speaker": "sys",
        "text": "You are a helpful assistant. 请用中文回答。",
    }
    second = json.loads(out.read_text("utf-8").splitlines()[1])
    assert second["sys"] == "Be concise and precise in every answer. Please answer in English."
    # Alpaca without a declared system column: a system prompt would not be trained on
    result = run(
        "rewrite", "--registry", str(registry), "folder_alpaca", "-o", str(tmp_path / "x.jsonl"),
    )  # fmt: skip
    assert result.exit_code == 2 and "is a folder of 2 files" in result.stderr
    result = run(
        "rewrite", "--registry", str(registry), "prefs_alpaca", "-o", str(tmp_path / "p.json"),
        "--tag", "system", "--tag-when", "always",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "dataset 'prefs_alpaca' declares no system column" in result.stderr
    assert '"system": "system" to its columns' in result.stderr
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("not json", "not valid JSON"),
        ([1, 2], "expected an object of datasets by name"),
        ({"a": {"file_name": "x.json", "formatting": "openai"}}, "formatting 'openai'"),
        ({"a": {"file_name": "x.json", "columns": ["q"]}}, "columns must map names"),
        ({"a": {"file_name": "x.json", "columns": {"question": "q"}}}, "unknown columns"),
        ({"a": {"file_name": "x.json", "tags": {"role": "r"}}}, "unknown tags 'role'"),
        ({"a": {"file_name": "x.json", "ranking": "yes"}}, "ranking must be true or false"),
        ({"a": {"columns": {}}}, "no file_name"),
        ({"a": {"hf_hub_url": "x/y"}}, "no local dataset to read (a: loads from"),
    ],
)
def test_a_bad_registry_is_a_clear_error(tmp_path: Path, change: Any, message: str) -> None:
    registry = tmp_path / "dataset_info.json"
    registry.write_text(change if isinstance(change, str) else json.dumps(change))
    (tmp_path / "x.json").write_text("[]")
    result = run("audit", "--registry", str(registry))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"langaudit: {registry}")
    assert message in result.stderr


def test_names_and_options_are_checked(registry: Path) -> None:
    result = run("audit", "--registry", str(registry), "qa_custon")
    assert result.exit_code == 2
    assert "no dataset named 'qa_custon'" in result.stderr and "qa_custom" in result.stderr
    result = run("audit", "--registry", str(registry), "gone")
    assert result.exit_code == 2 and "gone.json: no such file or directory" in result.stderr
    result = run("audit", "--registry", str(registry), "--format", "alpaca")
    assert result.exit_code == 2 and "--format cannot be used with --registry" in result.stderr
    result = run("audit")
    assert result.exit_code == 2 and "no INPUT given" in result.stderr
    # the registry's folder (LLaMA-Factory's dataset_dir) names it too
    assert run("audit", "--registry", str(registry.parent), "qa_custom", "-q").exit_code == 0


def test_workers_read_registry_datasets_as_one_process_does(tmp_path: Path) -> None:
    """The declared reader travels to worker processes with the batches."""
    records = [
        {"dialog": [{"speaker": "usr", "text": q}, {"speaker": "bot", "text": a}]}
        for q, a in [(EN_Q, ZH), (ZH_Q, ZH), (EN_Q, EN)] * 1500
    ]
    write_jsonl(tmp_path / "chat.jsonl", records)
    entry = {**REGISTRY["chat_tags"], "file_name": "chat.jsonl"}
    (tmp_path / "dataset_info.json").write_text(json.dumps({"chat": entry}))
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.json"
        result = run("audit", "--registry", str(tmp_path / "dataset_info.json"), "--jobs", jobs,
                     "--json", str(out), "-q")  # fmt: skip
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text("utf-8"))
        outputs.append({k: v for k, v in report.items() if k != "langaudit_version"})
    assert outputs[0] == outputs[1]
    assert outputs[0]["flags"]["lang_mismatch"]["count"] == 1500


def test_a_file_two_datasets_read_is_read_once(registry: Path, tmp_path: Path) -> None:
    info = json.loads(registry.read_text())
    info["qa_again"] = {**info["qa_custom"], "columns": {"prompt": "question", "response": "reply"}}
    registry.write_text(json.dumps(info))
    report = audit_json(registry, tmp_path, "--on-error", "skip")
    again = next(d for d in report["registry"]["datasets"] if d["name"] == "qa_again")
    assert again["skipped_kind"] == "shared" and "as 'qa_custom' does" in again["reason"]
    qa = str(registry.parent / "qa_custom.jsonl")
    assert [s["dataset"] for s in report["sources"] if s["source"] == qa] == ["qa_custom"]
    result = run("audit", "--registry", str(registry), "qa_custom", "qa_again")
    assert result.exit_code == 2 and "both read" in result.stderr
    assert run("audit", "--registry", str(registry), "qa_again", "-q").exit_code == 0


def test_a_folder_llamafactory_cannot_load_is_named(registry: Path) -> None:
    (registry.parent / "parts" / ".DS_Store").write_bytes(b"\0\0")
    result = run("audit", "--registry", str(registry), "folder_alpaca")
    assert result.exit_code == 2
    assert "LLaMA-Factory cannot load '.DS_Store'" in result.stderr
    result = run("check", "--registry", str(registry), "qa_custom", "--on-error", "skip")
    assert result.exit_code in (0, 1)  # not asked for: not read, no error
    everything = run("check", "--registry", str(registry), "--on-error", "skip")
    assert "that LLaMA-Factory cannot load: folder_alpaca" in everything.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "--json", "{registry}"],
        ["audit", "--json", "{data}/gone.json"],  # declared, even if missing
        ["audit", "--html", "{data}/parts/new.html"],  # inside a dataset's folder
        ["scan", "-o", "{data}/chat_tags.jsonl"],  # another dataset's file
        ["check", "--on-error", "skip", "--bad-lines", "{data}/chat_tags.jsonl"],
    ],
)
def test_outputs_never_overwrite_the_registry_or_its_files(
    registry: Path, command: list[str]
) -> None:
    before = {p: p.read_bytes() for p in registry.parent.rglob("*") if p.is_file()}
    args = [a.format(registry=registry, data=registry.parent) for a in command]
    result = run(*args[:1], "--registry", str(registry), "qa_custom", *args[1:])
    assert result.exit_code == 2, result.output
    assert "would overwrite an input" in result.stderr or "inside the input" in result.stderr
    assert {p: p.read_bytes() for p in registry.parent.rglob("*") if p.is_file()} == before


def test_rewrite_protects_the_registry_and_takes_a_folders_file(
    registry: Path, tmp_path: Path
) -> None:
    data = registry.parent
    for output in (str(registry), str(data / "prefs_sharegpt.json")):
        result = run("rewrite", "--registry", str(registry), "prefs_alpaca", "-o", output)
        assert result.exit_code == 2 and "would overwrite an input" in result.stderr
    result = run("rewrite", "--registry", str(registry), "prefs_alpaca", "-o",
                 str(tmp_path / "p.json"), "--rejects", str(data / "corpus.jsonl"))  # fmt: skip
    assert result.exit_code == 2 and "rejects file would overwrite" in result.stderr
    # a folder's file, named by its path, is read as its dataset declares; outputs stay out of
    # the folder (training reads all of it)
    part = str(data / "parts" / "b.jsonl")
    inside = run(
        "rewrite", "--registry", str(registry), part, "-o", str(data / "parts" / "x.jsonl")
    )
    assert inside.exit_code == 2 and "inside the input directory" in inside.stderr
    out = data / "parts.b.fixed.jsonl"
    result = run("rewrite", "--registry", str(registry), part, "-o", str(out), "--tag", "column",
                 "--tag-when", "always", "-q")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert json.loads(out.read_text("utf-8"))["lang"] == "en"
    # and that is the command the audit recommends for it
    report = audit_json(registry, tmp_path, "folder_alpaca", "--expect", "zh")
    commands = [c for r in report["recommendations"] for c in r["commands"]]
    assert any(
        c.startswith(
            f"langaudit rewrite --registry {registry} {part} -o {data}/parts.b.fixed.jsonl"
        )
        for c in commands
    ), commands


def test_the_python_api_reads_a_registry_as_the_cli_does(registry: Path, tmp_path: Path) -> None:
    import langaudit

    reg = langaudit.read_registry(registry, ["qa_custom", "folder_alpaca"])
    report = langaudit.audit(reg, expect="zh", keep_table=False)
    cli = audit_json(registry, tmp_path, "qa_custom", "folder_alpaca", "--expect", "zh")
    summary = json.loads(report.to_json())
    for key in ("registry", "sources", "flags", "inputs", "options"):
        assert summary[key] == cli[key], key
    assert summary["registry"]["datasets"][1]["flags"]["lang_mismatch"] == 1  # expect applied
    table = langaudit.scan(reg)
    assert table.num_rows == 7 and set(table.column("format").to_pylist()) == {"alpaca"}


def test_rewrite_edge_cases_of_registry_datasets(registry: Path, tmp_path: Path) -> None:
    data = registry.parent
    info = json.loads(registry.read_text())
    info["qa_again"] = {**info["qa_custom"], "columns": {"prompt": "question", "response": "reply"}}
    (data / "empty").mkdir()
    info["empty"] = {"file_name": "empty"}
    registry.write_text(json.dumps(info))
    # a dataset whose file an earlier one reads is rewritten by its name, as it declares
    result = run("rewrite", "--registry", str(registry), "qa_again", "--dry-run", "--tag",
                 "instruction", "--tag-when", "always")  # fmt: skip
    assert result.exit_code == 1, result.output
    # the declared prompt column gets the instruction, in all 5 records (its columns declare no
    # system prompt, so record 2's, which asks for Chinese, is not read)
    assert result.stdout.count(": tagged: question ends ") == 5
    # in place, a folder's file would leave a backup and a manifest where training reads
    part = str(data / "parts" / "a.jsonl")
    result = run("rewrite", "--registry", str(registry), part, "--in-place", "--tag", "column",
                 "--tag-when", "always")  # fmt: skip
    assert result.exit_code == 2 and "folder training reads whole" in result.stderr
    assert sorted(p.name for p in (data / "parts").iterdir()) == ["a.jsonl", "b.jsonl"]
    # a single-file dataset is rewritten in place
    result = run("rewrite", "--registry", str(registry), "prefs_alpaca", "--in-place", "--tag",
                 "column", "--tag-when", "always", "-q")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert all("lang" in r for r in json.loads((data / "prefs_alpaca.json").read_text("utf-8")))
    # an empty folder is one LLaMA-Factory cannot load
    result = run("check", "--registry", str(registry), "empty")
    assert result.exit_code == 2 and "cannot load an empty folder" in result.stderr
