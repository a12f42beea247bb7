"""LLaMA-Factory dataset registries: ``dataset_info.json`` read as LLaMA-Factory reads it.

Each entry names a dataset: where it loads from (``file_name``, relative to the registry's
folder, or a Hub or script id, which are listed as skipped), its ``formatting`` (``alpaca`` or
``sharegpt``), whether it is ``ranking`` (preference) data, and the ``columns`` and ``tags`` that
map its records to prompts and responses. :class:`Declared` reads records with exactly that
mapping, as LLaMA-Factory's converters do (``data/parser.py``, ``data/converter.py``):

- ``columns`` given: the columns it lists, and no others (a column it leaves out is unused by
  training, even one named ``system``); not given: ``instruction``, ``input``, ``output`` for
  Alpaca, ``conversations`` for ShareGPT. ``tags`` likewise (defaults ``from``, ``value``,
  ``human``, ``gpt``, ``observation``, ``function_call``, ``system``).
- Alpaca: the earlier rounds of ``history``, then ``prompt`` + ``query`` as the user turn (both
  are the user's message; the query is read as material the user supplies), then ``response``,
  or with ``ranking`` the ``chosen`` and ``rejected`` answers.
- ShareGPT: a first message with the system tag is the system prompt (else the ``system``
  column); then user or observation messages at odd positions and assistant or function-call
  messages at even ones, an even count of them (odd with ``ranking``, whose ``chosen`` and
  ``rejected`` are single messages). A record that breaks these rules is one LLaMA-Factory
  skips ("Invalid role tag", "Invalid message count"): langaudit reports it as unreadable,
  naming the field, so that it is not trained on unnoticed.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import UsageError
from .formats import FieldError, Shape, Turn, _describe, as_text, history_turns

#: Keys that load a dataset from elsewhere than a local file, in LLaMA-Factory's order.
REMOTE_KEYS = {
    "hf_hub_url": "the Hugging Face Hub",
    "ms_hub_url": "the ModelScope Hub",
    "om_hub_url": "the Modelers (OpenMind) Hub",
    "script_url": "a loading script",
    "cloud_file_name": "cloud storage",
}
FORMATTINGS = ("alpaca", "sharegpt")
_ALPACA_COLUMNS = ("prompt", "query", "response", "history")
_COMMON_COLUMNS = ("messages", "system", "tools", "images", "videos", "audios")
_RANKING_COLUMNS = ("chosen", "rejected", "kto_tag")
COLUMNS = (*_ALPACA_COLUMNS, *_COMMON_COLUMNS, *_RANKING_COLUMNS)
TAGS = (
    "role_tag",
    "content_tag",
    "user_tag",
    "assistant_tag",
    "observation_tag",
    "function_tag",
    "system_tag",
)
#: File types LLaMA-Factory loads, by suffix; ``txt`` is plain text (pre-training only).
_FILE_TYPES = {".arrow": "arrow", ".csv": "csv", ".json": "json", ".jsonl": "json"}
_FILE_TYPES.update({".parquet": "parquet", ".txt": "text"})
_REGISTRY_HINT = "see LLaMA-Factory's data/README.md for the format of dataset_info.json"


@dataclass(frozen=True)
class Declared:
    """The columns and tags of one registry entry: reads a record into turns as training will.

    Every column and tag is None when the entry's ``columns`` (or ``tags``) leaves it out."""

    formatting: str = "alpaca"
    ranking: bool = False
    prompt: str | None = "instruction"
    query: str | None = "input"
    response: str | None = "output"
    history: str | None = None
    messages: str | None = "conversations"
    system: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    kto_tag: str | None = None
    role_tag: str | None = "from"
    content_tag: str | None = "value"
    user_tag: str | None = "human"
    assistant_tag: str | None = "gpt"
    observation_tag: str | None = "observation"
    function_tag: str | None = "function_call"
    system_tag: str | None = "system"
    #: The dataset's name in its registry, for messages.
    name: str = field(default="", compare=False)

    @property
    def shape(self) -> Shape:
        return Shape(self.formatting, declared=self)

    @property
    def pretraining(self) -> bool:
        """Whether the entry has no answers at all: plain text for pre-training."""
        if self.formatting == "sharegpt":
            return False
        answers = self.chosen and self.rejected if self.ranking else self.response
        return not answers

    def turns(self, record: Mapping[str, Any]) -> list[Turn]:
        turns = self._alpaca(record) if self.formatting == "alpaca" else self._sharegpt(record)
        if self.system and not any(t.role == "system" for t in turns):
            text = as_text(record.get(self.system), self.system)
            if text:
                turns.insert(0, Turn("system", text, self.system))
        return turns

    def add_system(self, record: dict[str, Any], text: str) -> None:
        """Give ``record`` a system prompt where training reads one: the system column, or a
        first message with the system tag."""
        messages = record.get(self.messages) if self.messages else None
        if self.system:
            record[self.system] = text
        elif self.formatting == "sharegpt" and self.system_tag and isinstance(messages, list):
            messages.insert(0, {str(self.role_tag): self.system_tag, str(self.content_tag): text})
        else:
            where = "column" if self.formatting == "alpaca" else "column or system_tag"
            fix = '"system": "system" to its columns'
            if self.formatting == "sharegpt":
                fix += ' (or "system_tag": "system" to its tags)'
            raise UsageError(
                f"dataset {self.name!r} declares no system {where}: training would not read a "
                "system prompt",
                f"add {fix} in dataset_info.json, or use --tag instruction",
            )

    # -----------------------------------------------------------------------------------------
    # Alpaca

    def _alpaca(self, record: Mapping[str, Any]) -> list[Turn]:
        turns: list[Turn] = []
        if self.history and isinstance(record.get(self.history), list):
            turns = history_turns(record[self.history], self.history)
        prompt = _text(record, self.prompt)
        query = _text(record, self.query)
        if prompt and query:
            turns.append(Turn("user", prompt, str(self.prompt)))
            turns.append(Turn("context", query, str(self.query)))
        elif query:
            turns.append(Turn("user", query, str(self.query)))
        elif self.prompt or self.query:
            turns.append(Turn("user", prompt, str(self.prompt or self.query)))
        chosen, rejected = (record.get(c) if c else None for c in (self.chosen, self.rejected))
        if self.kto_tag and isinstance(record.get(self.kto_tag), bool):
            turns.append(self._answer(record, self.response))
        elif self.ranking and isinstance(chosen, str) and isinstance(rejected, str):
            turns.append(Turn("assistant", chosen, str(self.chosen)))
            turns.append(Turn("assistant", rejected, str(self.rejected)))
        elif self.response and isinstance(record.get(self.response), str):
            turns.append(Turn("assistant", record[self.response], self.response))
        elif self.ranking:
            raise FieldError(
                f"{self.chosen}/{self.rejected}",
                "ranking data needs a chosen and a rejected answer, both text",
                "LLaMA-Factory trains no preference on this record",
            )
        # else no answer: LLaMA-Factory drops the record from supervised training
        return turns

    def _answer(self, record: Mapping[str, Any], column: str | None) -> Turn:
        if column is None:
            raise FieldError(None, "the dataset declares no response column")
        return Turn("assistant", as_text(_column(record, column), column), column)

    # -----------------------------------------------------------------------------------------
    # ShareGPT

    def _sharegpt(self, record: Mapping[str, Any]) -> list[Turn]:
        column = self.messages
        if column is None:
            raise FieldError(None, "the dataset's columns name no messages column")
        messages = _column(record, column)
        if not isinstance(messages, list):
            raise FieldError(column, f"expected a list of messages, got {_describe(messages)}")
        turns: list[Turn] = []
        start = 0
        if (
            self.system_tag
            and messages
            and self._role(messages[0], f"{column}.0") == (self.system_tag)
        ):
            turns.append(self._message(messages[0], "system", f"{column}.0"))
            start = 1
        expected = ((self.user_tag, self.observation_tag), (self.assistant_tag, self.function_tag))
        roles = {
            self.user_tag: "user",
            self.observation_tag: "tool_result",
            self.assistant_tag: "assistant",
            self.function_tag: "tool_call",
        }
        for position, message in enumerate(messages[start:]):
            where = f"{column}.{start + position}"
            tag = self._role(message, where)
            accepted = expected[position % 2]
            if tag not in accepted:
                raise FieldError(
                    f"{where}.{self.role_tag}",
                    f"role {tag!r} at message {start + position + 1}, where LLaMA-Factory "
                    f"takes {' or '.join(repr(t) for t in accepted if t)}: training skips "
                    "this record (Invalid role tag)",
                    "user and observation messages alternate with assistant and function "
                    "calls; fix the record, or the dataset's tags in dataset_info.json"
                    + _SKIP_HINT,
                )
            turns.append(self._message(message, roles[tag], where))
        count = len(messages) - start
        if count % 2 != (1 if self.ranking else 0):
            need = (
                "the prompt to end with a user message (chosen and rejected answer it)"
                if self.ranking
                else "user messages answered in pairs"
            )
            raise FieldError(
                column,
                f"{count} messages after the system prompt, where LLaMA-Factory needs {need}: "
                "training skips this record (Invalid message count)",
                (
                    "end the conversation with the user's message"
                    if self.ranking
                    else "end the conversation with an assistant message"
                )
                + _SKIP_HINT,
            )
        if self.ranking:
            for name in (self.chosen, self.rejected):
                turns.append(self._ranked(record, name))
        return turns

    def _role(self, message: Any, where: str) -> Any:
        if not isinstance(message, Mapping):
            raise FieldError(where, f"expected a message object, got {_describe(message)}")
        if self.role_tag is None or self.role_tag not in message:
            raise FieldError(
                where,
                f"message has no {self.role_tag!r} key ({_describe(message)})",
                "set the dataset's tags (role_tag, content_tag, ...) in dataset_info.json",
            )
        return message[self.role_tag]

    def _message(self, message: Mapping[str, Any], role: str, where: str) -> Turn:
        key = self.content_tag
        if key is None or key not in message:
            raise FieldError(
                where,
                f"message has no {key!r} key ({_describe(message)})",
                "set the dataset's tags (role_tag, content_tag, ...) in dataset_info.json",
            )
        return Turn(role, as_text(message[key], f"{where}.{key}"), f"{where}.{key}")

    def _ranked(self, record: Mapping[str, Any], name: str | None) -> Turn:
        if name is None:
            raise FieldError(None, "ranking data needs chosen and rejected columns")
        message = _column(record, name)
        if not isinstance(message, Mapping):
            raise FieldError(name, f"expected one message object, got {_describe(message)}")
        tag = self._role(message, name)
        if tag not in (self.assistant_tag, self.function_tag):
            raise FieldError(
                f"{name}.{self.role_tag}",
                f"role {tag!r} for an answer, where LLaMA-Factory takes "
                f"{self.assistant_tag!r}: training skips this record (Invalid role tag)",
            )
        role = "assistant" if tag == self.assistant_tag else "tool_call"
        return self._message(message, role, name)


_SKIP_HINT = "; --on-error=skip counts such records instead"


def _column(record: Mapping[str, Any], column: str) -> Any:
    if column not in record:
        raise FieldError(
            column,
            f"missing (the record has {_describe(dict(record))})",
            "the column is named in dataset_info.json: fix the record or the declaration",
        )
    return record[column]


def _text(record: Mapping[str, Any], column: str | None) -> str:
    """A column's text, "" when the column is unused, missing or empty (LLaMA-Factory skips it;
    ``datasets`` reads a column that some records lack as None in those)."""
    value = record.get(column) if column is not None else None
    return as_text(value, str(column)) if value else ""


# ---------------------------------------------------------------------------------------------
# The registry file


@dataclass
class Dataset:
    """One registry entry: its local files, or why it is skipped."""

    name: str
    declared: Declared | None
    files: list[str] = field(default_factory=list)
    skipped: str | None = None
    #: Why in a word: a key of :data:`SKIPPED_KINDS`.
    skipped_kind: str | None = None
    #: The ``file_name`` it declares, as a path (a file or a folder); None for remote data.
    path: str | None = None
    #: LLaMA-Factory's ``num_samples``: training samples this many records of the dataset.
    num_samples: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = self.declared
        return {
            "name": self.name,
            "status": "skipped" if self.skipped else "audited",
            "reason": self.skipped,
            "skipped_kind": self.skipped_kind,
            "formatting": d.formatting if d else None,
            "ranking": d.ranking if d else None,
            "files": list(self.files),
            "num_samples": self.num_samples,
        }


@dataclass
class Registry:
    """A ``dataset_info.json``: its path and the datasets asked for, in registry order."""

    path: str
    datasets: list[Dataset]
    #: Every local path of the registry's entries, asked for or not: never written to.
    declared: list[str] = field(default_factory=list)

    def protected(self) -> list[str]:
        """The paths no output may overwrite: the registry and what it declares."""
        return [self.path, *self.declared]

    @property
    def audited(self) -> list[Dataset]:
        return [d for d in self.datasets if d.skipped is None]

    def skipped_summary(self, shown: int = 4) -> list[str]:
        """One line per kind of skipped dataset, with the first ``shown`` names."""
        out = []
        for kind, why in SKIPPED_KINDS.items():
            names = [d.name for d in self.datasets if d.skipped_kind == kind]
            if names:
                out.append(f"{len(names)} {why}: {name_list(names, shown)}")
        return out


def name_list(names: Sequence[str], shown: int) -> str:
    """``a, b and 3 more``: the first ``shown`` names."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


#: The kinds of skipped datasets, and how to say it of a list of them.
SKIPPED_KINDS = {
    "remote": "not local (Hub, script or cloud)",
    "missing": "without their file",
    "pretraining": "pre-training text (no responses)",
    "shared": "reading a file another dataset reads",
    "unloadable": "that LLaMA-Factory cannot load",
}


def read_registry(path: str | os.PathLike[str], names: Sequence[str] = ()) -> Registry:
    """The datasets of the registry at ``path`` (all of them, or ``names``), each with its local
    files resolved as LLaMA-Factory does (relative to the registry's folder), or the reason it
    cannot be audited here. A name the registry does not have, a dataset asked for by name whose
    file is missing, and a malformed entry are errors."""
    import orjson

    name = os.fspath(path)
    p = Path(path)
    if p.is_dir():
        p = p / "dataset_info.json"
        name = os.path.join(name, "dataset_info.json")
    try:
        info = orjson.loads(p.read_bytes())
    except FileNotFoundError:
        raise UsageError(
            f"{name}: no such file", "pass the dataset_info.json to --registry"
        ) from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read the registry: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{name}: not valid JSON ({exc})", _REGISTRY_HINT) from None
    if not isinstance(info, dict):
        raise UsageError(f"{name}: expected an object of datasets by name", _REGISTRY_HINT)
    for wanted in names:
        if wanted not in info:
            close = difflib.get_close_matches(wanted, list(info), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"{len(info)} datasets in it"
            raise UsageError(f"{name}: no dataset named {wanted!r}", hint)
    folder = os.path.dirname(name)
    chosen = list(dict.fromkeys(names)) if names else list(info)
    datasets = [_dataset(name, folder, key, info[key], bool(names)) for key in chosen]
    _read_once(name, datasets, bool(names))
    return Registry(name, datasets, _declared_paths(folder, info))


def _read_once(registry: str, datasets: list[Dataset], named: bool) -> None:
    """A file that two datasets declare is read for the first only: the second is skipped
    (an error when both were asked for by name), so that every file is one source."""
    owner: dict[str, str] = {}
    for dataset in datasets:
        for f in dataset.files:
            first = owner.setdefault(os.path.realpath(f), dataset.name)
            if first == dataset.name:
                continue
            if named:
                raise UsageError(
                    f"{registry}: datasets {first!r} and {dataset.name!r} both read {f}",
                    "audit them one at a time",
                )
            dataset.skipped = f"reads {f}, as {first!r} does: audit it by name, on its own"
            dataset.skipped_kind = "shared"
            dataset.files = []
            break


def _declared_paths(folder: str, info: Mapping[str, Any]) -> list[str]:
    """Every local path the registry declares (files and folders), existing or not."""
    names = (e.get("file_name") for e in info.values() if isinstance(e, dict))
    return [os.path.join(folder, n) for n in names if isinstance(n, str) and n]


def _dataset(registry: str, folder: str, name: str, entry: Any, named: bool) -> Dataset:
    where = f"{registry}: dataset {name!r}"
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected an object, got {_describe(entry)}", _REGISTRY_HINT)
    declared = _declared(where, entry, name)
    samples = entry.get("num_samples")
    dataset = Dataset(name, declared, num_samples=samples if isinstance(samples, int) else None)
    remote = next((key for key in REMOTE_KEYS if key in entry), None)
    if remote is not None:
        dataset.skipped = f"loads from {REMOTE_KEYS[remote]} ({remote}: {entry[remote]})"
        dataset.skipped_kind = "remote"
        return dataset
    file_name = entry.get("file_name")
    if not isinstance(file_name, str) or not file_name:
        raise UsageError(
            f"{where}: no file_name (nor hf_hub_url, ms_hub_url or script_url)", _REGISTRY_HINT
        )
    path = dataset.path = os.path.join(folder, file_name)
    if not os.path.exists(path):
        if named:
            raise UsageError(
                f"{where}: {path}: no such file or directory",
                "file_name is relative to the folder of dataset_info.json",
            )
        dataset.skipped = f"file_name {file_name}: no such file or directory"
        dataset.skipped_kind = "missing"
        return dataset
    files = _files(path)
    # as LLaMA-Factory tells a file's type: by its suffix, as is (".JSON" is not JSON)
    kinds = {_FILE_TYPES.get(Path(f).suffix) for f in files}
    if not files or None in kinds or len(kinds) > 1:
        odd = [Path(f).name for f in files if _FILE_TYPES.get(Path(f).suffix) is None]
        problem = (
            f"LLaMA-Factory cannot load {', '.join(map(repr, odd[:3]))}"
            if odd
            else "LLaMA-Factory cannot load a folder of files of several types"
            if files
            else "LLaMA-Factory cannot load an empty folder"
        )
        if named:
            raise UsageError(
                f"{where}: {path}: {problem}",
                f"it loads {', '.join(sorted(_FILE_TYPES))} files, all of one type in a folder",
            )
        dataset.skipped = f"file_name {file_name}: {problem}"
        dataset.skipped_kind = "unloadable"
        return dataset
    if "text" in kinds:
        dataset.skipped = "plain text (.txt): pre-training data, no prompts or responses"
    elif declared.pretraining:
        dataset.skipped = "no response column: pre-training data, no prompts or responses"
    if dataset.skipped:
        dataset.skipped_kind = "pretraining"
    dataset.files = files
    return dataset


def _files(path: str) -> list[str]:
    """The data files of ``file_name``: the file, or everything in the folder, hidden files
    included (LLaMA-Factory loads all of it), in name order."""
    if not os.path.isdir(path):
        return [path]
    return sorted(os.path.join(path, f) for f in os.listdir(path))


def _declared(where: str, entry: Mapping[str, Any], name: str) -> Declared:
    formatting = entry.get("formatting", "alpaca")
    if formatting not in FORMATTINGS:
        raise UsageError(
            f"{where}: formatting {formatting!r} is not supported",
            f"LLaMA-Factory's formattings are {' and '.join(FORMATTINGS)}",
        )
    ranking = entry.get("ranking", False)
    if not isinstance(ranking, bool):
        raise UsageError(f"{where}: ranking must be true or false, not {ranking!r}")
    values: dict[str, Any] = {"formatting": formatting, "ranking": ranking, "name": name}
    for key, names in (("columns", COLUMNS), ("tags", TAGS)):
        if key not in entry:
            continue
        given = entry[key]
        if not isinstance(given, dict) or not all(
            isinstance(v, str) or v is None for v in given.values()
        ):
            raise UsageError(
                f"{where}: {key} must map names to column names (strings)", _REGISTRY_HINT
            )
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise UsageError(
                f"{where}: unknown {key} {', '.join(map(repr, unknown))}",
                f"LLaMA-Factory reads {', '.join(names)}",
            )
        # as LLaMA-Factory does: with the key, every name it leaves out is unused
        values.update({n: given.get(n) for n in names})
    known = {f.name for f in fields(Declared)}
    return Declared(**{k: v for k, v in values.items() if k in known})
