"""Hugging Face Hub inputs (``hf:OWNER/NAME[:CONFIG][@SPLIT]``): the spec, the one load_dataset
call (tested on local files and folders: there is no network here), streaming in batches,
--limit on streams, and clear errors, fast, when the Hub cannot be reached."""

from __future__ import annotations

import http.server
import inspect
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import langaudit
from cli_helpers import run
from langaudit import hub
from langaudit.errors import InputError, UsageError
from langaudit.sampling import limited
from langaudit.settings import for_inputs

datasets = pytest.importorskip("datasets")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

TRAIN = [
    {"instruction": "用一句话介绍北京。", "input": "", "output": "北京是中国的首都，历史悠久。"},
    {
        "instruction": "Describe Paris in one sentence.",
        "input": "",
        "output": "巴黎是法国的首都，以博物馆和咖啡馆闻名。",
    },
    {
        "instruction": "推荐一本机器学习的入门书。",
        "input": "",
        "output": "可以先读《机器学习》，然后evaluate一下自己的understanding。",
    },
    {"instruction": "How do I boil an egg?", "input": "", "output": "Boil it for nine minutes."},
]
TEST = [
    {"instruction": "什么是光合作用？", "input": "", "output": "光合作用是植物制造养分的过程。"},
    {"instruction": "Name a use of Python.", "input": "", "output": "Data analysis."},
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A local copy of a Hub dataset repository: data/{split}-*.jsonl, as the Hub lays it out."""
    folder = tmp_path / "my-set"
    write_jsonl(folder / "data" / "train-00000-of-00001.jsonl", TRAIN)
    write_jsonl(folder / "data" / "test-00000-of-00001.jsonl", TEST)
    (folder / "README.md").write_text("# my set\n", encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------------------------
# The spec


@pytest.mark.parametrize(
    ("text", "path", "config", "split"),
    [
        ("hf:tatsu-lab/alpaca", "tatsu-lab/alpaca", None, None),
        ("hf:tatsu-lab/alpaca@train", "tatsu-lab/alpaca", None, "train"),
        ("hf:BAAI/COIG-PC:default@train", "BAAI/COIG-PC", "default", "train"),
        ("hf:wikimedia/wikipedia:20231101.zh", "wikimedia/wikipedia", "20231101.zh", None),
        ("hf:a_b/c.d-e:zh-CN@validation", "a_b/c.d-e", "zh-CN", "validation"),
    ],
)
def test_hub_ids(text: str, path: str, config: str | None, split: str | None) -> None:
    spec = hub.parse_spec(text)
    assert (spec.path, spec.config, spec.split, spec.local) == (path, config, split, False)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hf:alpaca", "not a dataset id: expected hf:OWNER/NAME[:CONFIG][@SPLIT]"),
        ("hf:", "not a dataset id"),
        ("hf:a/b/c", "not a dataset id"),
        ("hf:a/b@", "not a dataset id"),
        ("hf:a/b:@train", "not a dataset id"),
        ("hf:a/b@train:cfg", "not a dataset id"),
        ("hf:-a/b", "not a dataset id"),
        ("hf:a/b.", "not a dataset id"),
        ("hf:a b/c", "not a dataset id"),
        ("hf:a/b@train[:10%]", "split slices are not read here"),
    ],
)
def test_bad_specs(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem.replace("[", r"\[")) as caught:
        hub.parse_spec(text)
    assert caught.value.hint  # an example, or what to do instead


def test_bad_spec_on_the_command_line() -> None:
    result = run("audit", "hf:alpaca")
    assert result.exit_code == 2
    assert result.output == (
        "langaudit: hf:alpaca: not a dataset id: expected hf:OWNER/NAME[:CONFIG][@SPLIT]\n"
        "  hint: e.g. hf:tatsu-lab/alpaca, hf:OWNER/NAME:default@train, or hf:./DIR for a "
        "local copy\n"
    )


def test_local_folders(repo: Path) -> None:
    spec = hub.parse_spec(f"hf:{repo}:default@test")
    assert (spec.path, spec.config, spec.split, spec.local) == (str(repo), "default", "test", True)
    with pytest.raises(UsageError, match="no such folder"):
        hub.parse_spec(f"hf:{repo}/missing")
    with pytest.raises(UsageError, match="no such folder"):
        hub.parse_spec(f"hf:{repo}/data/train-00000-of-00001.jsonl")


def test_save_to_disk_folders_are_read_without_hf(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    datasets.Dataset.from_list(TRAIN).save_to_disk(str(folder))
    with pytest.raises(UsageError, match="a save_to_disk folder") as caught:
        hub.parse_spec(f"hf:{folder}")
    assert caught.value.hint == f"pass it without hf: ({folder})"


def test_source_names() -> None:
    assert hub.parse_spec("hf:o/n").source_name("train") == "hf:o/n@train"
    assert hub.parse_spec("hf:o/n:cfg").source_name("test") == "hf:o/n:cfg@test"
    assert hub.HubSpec("hf:./d", "./d", local=True).source_name("test") == "hf:./d@test"


# ---------------------------------------------------------------------------------------------
# The one load_dataset call, on local files and folders


def test_load_stream_of_a_file_streams(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", TRAIN)
    stream = hub.load_stream("json", None, "train", data_files=str(path))
    assert isinstance(stream, datasets.IterableDataset)  # not materialised
    items = hub.stream_items(stream, "data")
    assert inspect.isgenerator(items)
    got = [(item.index, item.line, item.value) for item in items]
    assert got == [(i, None, record) for i, record in enumerate(TRAIN)]


@pytest.mark.parametrize(
    "name", ["alpaca_zh_en.json", "messages.jsonl", "sharegpt_chat.jsonl", "preference.jsonl"]
)
def test_audit_of_a_stream_equals_the_audit_of_the_file(name: str) -> None:
    """The same records and the same report, whichever way the file is read (messages.jsonl
    has contents that are strings or lists of parts: datasets stores them as Json)."""
    path = str(EXAMPLES / name)
    stream = hub.load_stream("json", None, "train", data_files=path)
    streamed = langaudit.audit(hub.stream_source(path, stream)).summary
    direct = langaudit.audit(path).summary
    assert streamed["records"] > 0
    assert {**streamed, "inputs": []} == {**direct, "inputs": []}


def test_a_folder_through_hf_is_one_source_per_split(repo: Path) -> None:
    sources = langaudit.io.open_path(f"hf:{repo}")
    assert sorted(src.name for src in sources) == [f"hf:{repo}@test", f"hf:{repo}@train"]
    by_name = {src.name: [(item.index, item.value) for item in src] for src in sources}
    assert by_name[f"hf:{repo}@train"] == list(enumerate(TRAIN))
    assert by_name[f"hf:{repo}@test"] == list(enumerate(TEST))
    (test,) = langaudit.io.open_path(f"hf:{repo}@test")
    assert test.name == f"hf:{repo}@test" and test.kind == "hub"


def test_cli_audit_of_a_folder_offline(repo: Path, tmp_path: Path) -> None:
    """A local copy needs no network: read with HF_HUB_OFFLINE=1, in a real process."""
    report = tmp_path / "report.json"
    proc = _langaudit(
        ["audit", "hf:./my-set", "--json", str(report), "-q"], cwd=repo.parent, HF_HUB_OFFLINE="1"
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(report.read_text(encoding="utf-8"))
    assert summary["inputs"] == ["hf:./my-set"]
    sources = {s["source"]: s["records"] for s in summary["sources"]}
    assert sources == {"hf:./my-set@test": 2, "hf:./my-set@train": 4}
    assert summary["flags"]["code_switch"]["count"] == 1


def test_check_names_records_of_a_split(repo: Path) -> None:
    result = run("check", f"hf:{repo}@train")
    assert result.exit_code == 1
    assert f"hf:{repo}@train:2: lang_mismatch: " in result.output
    assert f"hf:{repo}@train:3: code_switch: " in result.output


def test_wrong_config_or_split(repo: Path) -> None:
    result = run("audit", f"hf:{repo}@validation")
    assert result.exit_code == 2
    assert result.output.startswith(
        f"langaudit: hf:{repo}@validation: Bad split: validation. Available splits: "
    )
    assert "hint: name one of its splits, or none to read every split" in result.output
    result = run("audit", f"hf:{repo}:nope")
    assert result.exit_code == 2
    assert "BuilderConfig 'nope' not found" in result.output
    assert "hint: name one of its configs: hf:OWNER/NAME[:CONFIG][@SPLIT]" in result.output


def test_folder_without_data(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("audit", f"hf:{tmp_path / 'empty'}")
    assert result.exit_code == 2
    assert result.output.startswith(f"hf:{tmp_path / 'empty'}: no data files: ")


def test_hub_ids_make_the_same_call(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    """A Hub id goes through the same load_dataset call, after the Hub has answered."""
    calls: list[tuple[Any, ...]] = []
    real = datasets.load_dataset

    def load_dataset(path: str, name: str | None = None, **kwargs: Any) -> Any:
        calls.append((path, name, kwargs))
        return real(str(repo), split=kwargs["split"], streaming=True)

    monkeypatch.setattr(hub, "check_reachable", lambda spec: calls.append(("checked", spec.path)))
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    (source,) = langaudit.io.open_path("hf:owner/name:cfg@test")
    assert calls == [
        ("checked", "owner/name"),
        ("owner/name", "cfg", {"split": "test", "data_files": None, "streaming": True}),
    ]
    assert source.name == "hf:owner/name:cfg@test"
    assert [item.value for item in source] == TEST


def test_settings_of_hub_ids_are_the_current_directorys(
    monkeypatch: pytest.MonkeyPatch, repo: Path, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub, "check_reachable", lambda spec: None)
    monkeypatch.setattr(hub, "load_stream", lambda *args, **kwargs: _local(repo))
    here = tmp_path / "project"
    here.mkdir()
    (here / "langaudit.toml").write_text('expect = "en"\n', encoding="utf-8")
    (repo / "langaudit.toml").write_text('expect = "zh"\n', encoding="utf-8")
    monkeypatch.chdir(here)
    resolved = for_inputs(["hf:owner/name", f"hf:{repo}@test"], {})
    expects = {src.name: (src.config.expect, settings.path) for src, _, settings in resolved}
    assert expects == {
        "hf:owner/name@train": ("en", here / "langaudit.toml"),
        "hf:owner/name@test": ("en", here / "langaudit.toml"),
        f"hf:{repo}@test": ("zh", repo / "langaudit.toml"),  # a local copy: above the folder
    }


def _local(repo: Path) -> Any:
    return datasets.load_dataset(str(repo), streaming=True)


# ---------------------------------------------------------------------------------------------
# Streams: batches, --limit, a stream that breaks off


def _counting(n: int, pulled: list[int], fail_at: int | None = None) -> Iterator[dict[str, Any]]:
    for i in range(n):
        if i == fail_at:
            raise ConnectionResetError("[Errno 104] Connection reset by peer")
        pulled.append(i)
        yield {**TRAIN[i % len(TRAIN)], "id": i}


def _generated(pulled: list[int], n: int = 20_000, fail_at: int | None = None) -> Any:
    kwargs = {"n": n, "pulled": pulled, "fail_at": fail_at}
    return datasets.IterableDataset.from_generator(_counting, gen_kwargs=kwargs)


def test_first_n_of_a_stream_reads_one_batch() -> None:
    pulled: list[int] = []
    source = limited(hub.stream_source("hf:o/n@train", _generated(pulled)), 10)
    assert [item.index for item in source] == list(range(10))
    assert len(pulled) <= 10 + hub.BATCH_RECORDS  # the stream is read in batches, not whole


def test_sample_of_a_stream_is_seeded_and_in_order() -> None:
    def sampled(seed: int) -> list[tuple[int, int]]:
        stream = _generated([], n=5000)
        source = limited(hub.stream_source("hf:o/n@train", stream), 30, seed)
        return [(item.index, item.value["id"]) for item in source]

    picked = sampled(1)
    assert len(picked) == 30
    assert all(index == record_id for index, record_id in picked)  # original indices
    assert [i for i, _ in picked] == sorted(i for i, _ in picked)
    assert sampled(1) == picked
    assert sampled(2) != picked


def test_a_stream_that_breaks_off() -> None:
    source = hub.stream_source("hf:o/n@train", _generated([], n=5000, fail_at=2500))
    with pytest.raises(InputError) as caught:
        langaudit.scan(source)
    assert str(caught.value).startswith(
        "hf:o/n@train: the stream broke off after 2,048 records: "
        "[Errno 104] Connection reset by peer\n  hint: check the network"
    )


def test_json_features_are_decoded_wherever_they_are(tmp_path: Path) -> None:
    """datasets stores fields of mixed types as Json strings, which Arrow batches hold as is."""
    records = [
        {"id": 1, "meta": {"extra": {"k": 1}, "tag": "x"}, "turns": ["hi", {"a": 1}]},
        {"id": 2, "meta": {"extra": "plain", "tag": "y"}, "turns": [{"b": [1, 2]}]},
    ]
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    stream = hub.load_stream("json", None, "train", data_files=str(path))
    if "Json" not in repr(stream.features):
        pytest.skip("a datasets without Json features")
    assert [item.value for item in hub.stream_items(stream, "x")] == records


def test_datasets_without_arrow_streams_are_iterated() -> None:
    records = [{"instruction": "你好", "output": "你好！"}]
    assert [item.value for item in hub.stream_items(iter(records), "x")] == records


# ---------------------------------------------------------------------------------------------
# No network: a clear error, fast, exit code 2, no traceback


def _langaudit(
    args: list[str], cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "langaudit", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=environ,
        timeout=120,
    )


def _no_hub(proc: subprocess.CompletedProcess[str], problem: str) -> None:
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"hf:owner/name: {problem}"), proc.stderr


def test_offline_mode() -> None:
    started = time.monotonic()
    proc = _langaudit(["audit", "hf:owner/name"], HF_HUB_OFFLINE="1")
    _no_hub(proc, "HF_HUB_OFFLINE is set (offline mode)\n  hint: a Hub dataset is streamed")
    assert time.monotonic() - started < 20


def test_connection_refused() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    proc = _langaudit(["check", "hf:owner/name"], HF_ENDPOINT=f"http://127.0.0.1:{port}")
    _no_hub(proc, "cannot reach the Hub: [Errno 111] Connection refused\n  hint: check the network")
    assert time.monotonic() - started < 20


def test_a_hub_that_never_answers() -> None:
    """A port that accepts connections and never answers (a dead proxy): the error comes
    within the timeout (HF_HUB_ETAG_TIMEOUT), not after load_dataset's minutes of retries."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:  # closed: the test is over
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        started = time.monotonic()
        proc = _langaudit(
            ["audit", "hf:owner/name"],
            HF_ENDPOINT=f"http://127.0.0.1:{server.getsockname()[1]}",
            HF_HUB_ETAG_TIMEOUT="2",
        )
        elapsed = time.monotonic() - started
    finally:
        server.close()
        for connection in held:
            connection.close()
    _no_hub(proc, "cannot reach the Hub: no answer within 2 s (HF_HUB_ETAG_TIMEOUT)\n")
    assert held  # it did connect
    assert elapsed < 30


@pytest.mark.parametrize("value", ["", "2.5", "ten"])
def test_bad_timeout_variables(value: str) -> None:
    """huggingface_hub would fail on its import with a traceback."""
    proc = _langaudit(["audit", "hf:owner/name"], HF_HUB_ETAG_TIMEOUT=value)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr == (
        f"langaudit: HF_HUB_ETAG_TIMEOUT={value!r}: expected whole seconds\n"
        "  hint: e.g. HF_HUB_ETAG_TIMEOUT=10\n"
    )


class _NotFound(http.server.BaseHTTPRequestHandler):
    """The Hub's answer for a dataset that does not exist (or is private)."""

    def do_GET(self) -> None:
        body = b'{"error": "Repository not found"}'
        self.send_response(404)
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args: Any) -> None:
        pass


def test_no_such_dataset() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        proc = _langaudit(["scan", "hf:owner/name", "-o", "-"], HF_ENDPOINT=endpoint)
    finally:
        server.shutdown()
        server.server_close()
    _no_hub(proc, "no such dataset on the Hub (or it is private)\n  hint: check OWNER/NAME")
    assert "HF_TOKEN" in proc.stderr


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (TimeoutError("timed out"), "hf:o/n: cannot reach the Hub: no answer within"),
        (ConnectionRefusedError(111, "Connection refused"), "hf:o/n: cannot reach the Hub: "),
        (ValueError("Bad split: x. Available splits: ['train']"), "langaudit: hf:o/n: Bad split"),
        (ValueError("Expected object or value"), "hf:o/n: cannot load the dataset: Expected"),
        (RuntimeError("something else"), "hf:o/n: cannot load the dataset: something else"),
    ],
)
def test_load_errors(error: Exception, message: str) -> None:
    converted = hub.load_error("hf:o/n", error)
    shown = str(converted) if isinstance(converted, InputError) else f"langaudit: {converted}"
    assert shown.startswith(message)
    assert converted.hint


def test_dataset_not_found_error() -> None:
    from datasets.exceptions import DatasetNotFoundError

    error = hub.load_error("hf:o/n", DatasetNotFoundError("Dataset 'o/n' doesn't exist"))
    assert str(error).startswith("hf:o/n: no such dataset on the Hub (or it is private)")


# ---------------------------------------------------------------------------------------------
# rewrite, imports


def test_rewrite_refuses_hub_ids() -> None:
    result = run("rewrite", "hf:owner/name", "-o", "out.jsonl")
    assert result.exit_code == 2
    assert result.output.startswith(
        "langaudit: hf:owner/name: rewrite cannot write a Hub dataset: it writes a file in its "
        "input's format, and a stream has none\n  hint: download the dataset (hf download "
    )


def test_datasets_is_imported_only_for_hf_inputs(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", TRAIN)
    code = (
        "import sys; from langaudit.cli import main; "
        f"main(['check', {str(path)!r}, '--limit', '2', '--max-rate', 'code_switch=1']); "
        "print('datasets' in sys.modules, 'huggingface_hub' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.stdout.splitlines()[-1] == "False False", proc.stderr


def test_outputs_never_go_into_a_local_folder_read_through_hf(repo: Path) -> None:
    train = repo / "data" / "train-00000-of-00001.jsonl"
    before = train.read_bytes()
    for command in (["scan", "-o", str(train)], ["audit", "--json", str(repo / "r.json")]):
        result = run(command[0], f"hf:{repo}", *command[1:])
        assert result.exit_code == 2, result.output
        assert "input" in result.stderr and "Traceback" not in result.stderr
    assert train.read_bytes() == before and not (repo / "r.json").exists()
