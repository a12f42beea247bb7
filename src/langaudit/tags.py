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
    system: bool = True,
    declared: Any = None,
) -> dict[str, Any]:
    """A copy of the record ``value`` (read as ``turns``, of shape ``fmt``) with ``tags``:
    the user turns of ``turn_langs`` (position -> (language of the answer, language of the
    prompt)) get an instruction and/or ``prefix``; ``lang`` goes to the ``lang`` column and,
    when ``system``, to the system prompt (where ``declared``, a registry dataset's
    :class:`langaudit.registry.Declared`, reads it). The record itself comes back when nothing
    changed."""
    record = copy.deepcopy(value)
    names = language_names()
    for position, (answer, prompt_lang) in sorted(turn_langs.items()):
        turn = turns[position]
        text = turn.text
        if "instruction" in tags:
            # in the prompt's language; in English for a language Chinese has no name for here
            words = "zh" if prompt_lang == "zh" and answer in names["zh"] else "en"
            name = names[words].get(answer)
            if name is not None:
                text = _append(text, INSTRUCTION_TEMPLATES[words].format(name=name))
        start = prefix.format(lang=answer)
        if "prefix" in tags and not text.startswith(start):  # not twice on a second run
            text = start + text
        if text != turn.text:
            _set_text(record, turn.field, turn.text, text)
            _same_in_rejected(record, fmt, turn.field, turn.text, text)
    if "column" in tags and lang is not None:
        record[LANG_COLUMN] = lang
    if "system" in tags and lang is not None and system:
        _system(record, turns, fmt, lang, names, declared)
    return record if record != value else value


def _same_in_rejected(record: dict[str, Any], fmt: str, field: str, old: str, new: str) -> None:
    """Preference pairs kept as two message lists repeat the prompt in both: the rejected
    list's copy gets the same change, so that the pair still shares its prompt."""
    if fmt != "preference" or not field.startswith("chosen."):
        return
    twin = "rejected." + field.removeprefix("chosen.")
    try:
        if _get_text(record, twin) == old:
            _set_text(record, twin, old, new)
    except (KeyError, IndexError, TypeError, ValueError):
        pass


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
    declared: Any = None,
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
        _set_text(record, existing.field, existing.text, _append(existing.text, instruction))
        return
    if declared is not None:
        declared.add_system(record, instruction)
        return
    messages = record.get("messages") if fmt == "messages" else None
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        # a system message like the others: the same keys, content as text or as parts
        first = messages[0]
        role_key = "role" if "role" in first else "from"
        content_key = next((k for k in ("content", "value") if k in first), "content")
        content: Any = instruction
        if isinstance(first.get(content_key), list):
            content = [{"type": "text", "text": instruction}]
        messages.insert(0, {role_key: "system", content_key: content})
    else:
        record["system"] = instruction


def _looks_chinese(text: str) -> bool:
    han = sum("\u4e00" <= c <= "\u9fff" for c in text)
    return han >= max(1, len(text.strip()) // 10)


def _get_text(record: Any, path: str) -> str:
    from .formats import as_text, get_path

    return as_text(get_path(record, path), path)


def _set_text(record: Any, path: str, old: str, text: str) -> None:
    """Change the text at a dotted path from ``old`` to ``text`` (``old`` with something before
    and/or after it); in a list of content parts (``{"type": "text", "text"|"value"|"content":
    ...}`` or strings) what comes before goes into the first text part, what comes after into
    the last."""
    parts = path.split(".")
    parent: Any = record
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    key: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
    current = parent[key]
    if not isinstance(current, list):
        parent[key] = text
        return
    slots = [(i, k) for i, p in enumerate(current) if (k := _text_key(p)) is not None]
    at = text.find(old)
    if not slots or at < 0:
        current.append({"type": "text", "text": text})
        return
    # what came before the old text goes into the first text part, what came after into the last
    first, last = slots[0], slots[-1]
    _put(current, *first, text[:at] + _read(current, *first))
    _put(current, *last, _read(current, *last) + text[at + len(old) :])


def _text_key(part: Any) -> str | None:
    """Where a content part keeps its text ("" for a bare string), None for other parts."""
    if isinstance(part, str):
        return ""
    if isinstance(part, dict) and part.get("type", "text") == "text":
        return next((k for k in ("text", "value", "content") if isinstance(part.get(k), str)), None)
    return None


def _read(parts: list[Any], i: int, key: str) -> str:
    return parts[i] if key == "" else parts[i][key]


def _put(parts: list[Any], i: int, key: str, text: str) -> None:
    if key == "":
        parts[i] = text
    else:
        parts[i][key] = text
