"""Language tags for a record: an instruction or a prefix in user turns, a ``lang`` column, a
system prompt, each written into the record's own shape (dotted field paths from
:mod:`langaudit.formats`; content-part lists keep their parts)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

#: Where the language tag goes for ``tag="column"``.
LANG_COLUMN = "lang"
#: Instructions to answer in a language, in the prompt's language (Chinese, or else English).
INSTRUCTION_TEMPLATES = {"zh": "请用{name}回答。", "en": "Please answer in {name}."}


@lru_cache(maxsize=1)
def language_names() -> dict[str, dict[str, str]]:
    """For each instruction language (``zh``, ``en``), the name of every language code."""
    from .instructions import _EN_NAMES, _ZH_NAMES

    zh: dict[str, str] = {}
    en: dict[str, str] = {"zh": "Chinese"}  # not the first name the table has for it (Mandarin)
    for name, code in _ZH_NAMES.items():
        zh.setdefault(code, name)
    for name, code in _EN_NAMES.items():
        en.setdefault(code, name.title())
    return {"zh": zh, "en": en}


def tag_record(
    value: dict[str, Any],
    turns: Sequence[Any],
    fmt: str,
    tags: Sequence[str],
    prefix: str,
    turn_langs: Mapping[int, tuple[str, str | None]],
    lang: str | None,
) -> dict[str, Any]:
    """A copy of the record ``value`` (read as ``turns``, of shape ``fmt``) with ``tags``:
    the user turns of ``turn_langs`` (position -> (language of the answer, language of the
    prompt)) get an instruction and/or ``prefix``; ``lang`` goes to the ``lang`` column and
    the system prompt."""
    record = copy.deepcopy(value)
    names = language_names()
    for position, (answer, prompt_lang) in sorted(turn_langs.items()):
        turn = turns[position]
        if "instruction" in tags:
            # in the prompt's language; in English for a language Chinese has no name for here
            words = "zh" if prompt_lang == "zh" and answer in names["zh"] else "en"
            name = names[words].get(answer)
            if name is not None:
                _set_text(
                    record,
                    turn.field,
                    _append(turn.text, INSTRUCTION_TEMPLATES[words].format(name=name)),
                )
                turn = turn._replace(text=_get_text(record, turn.field))
        if "prefix" in tags:
            _set_text(record, turn.field, prefix.format(lang=answer) + turn.text)
    if "column" in tags and lang is not None:
        record[LANG_COLUMN] = lang
    if "system" in tags and lang is not None:
        _system(record, turns, fmt, lang, names)
    return record if record != value else value  # the same object: nothing to tag


def _append(text: str, instruction: str) -> str:
    stripped = text.rstrip()
    if not stripped:
        return instruction
    last = stripped[-1]
    wide = "\u3000" <= last <= "\u9fff" or "\uff00" <= last <= "\uffef"
    glue = "" if wide and instruction[0] >= "\u3000" else ("\n" if "\n" in stripped else " ")
    return stripped + glue + instruction


def _system(
    record: dict[str, Any],
    turns: Sequence[Any],
    fmt: str,
    lang: str,
    names: dict[str, dict[str, str]],
) -> None:
    prompt = next((t for t in turns if t.role == "user"), None)
    chinese = prompt is not None and _looks_chinese(prompt.text) and lang in names["zh"]
    words = "zh" if chinese else "en"
    name = names[words].get(lang)
    if name is None:
        return
    instruction = INSTRUCTION_TEMPLATES[words].format(name=name)
    existing = next((t for t in turns if t.role == "system"), None)
    if existing is not None:
        _set_text(record, existing.field, _append(existing.text, instruction))
    elif fmt == "messages" and isinstance(record.get("messages"), list):
        record["messages"].insert(0, {"role": "system", "content": instruction})
    else:
        record["system"] = instruction


def _looks_chinese(text: str) -> bool:
    han = sum("\u4e00" <= c <= "\u9fff" for c in text)
    return han >= max(1, len(text.strip()) // 10)


def _get_text(record: Any, path: str) -> str:
    from .formats import as_text, get_path

    return as_text(get_path(record, path), path)


def _set_text(record: Any, path: str, text: str) -> None:
    """Put ``text`` at a dotted path; a list of content parts gets it in its last text part."""
    parts = path.split(".")
    parent: Any = record
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    key: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
    current = parent[key]
    if isinstance(current, list):  # content parts: the change goes into a text part
        texts = [p for p in current if isinstance(p, dict) and p.get("type", "text") == "text"]
        texts = [p for p in texts if isinstance(p.get("text"), str)]
        joined = "\n".join(p["text"] for p in texts)
        if texts and text.startswith(joined):
            texts[-1]["text"] += text[len(joined) :]
        elif texts and text.endswith(joined):
            texts[0]["text"] = text[: len(text) - len(joined)] + texts[0]["text"]
        else:
            current.append({"type": "text", "text": text})
        return
    parent[key] = text
