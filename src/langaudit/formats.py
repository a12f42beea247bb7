"""Record shapes: Alpaca, ShareGPT, messages, column pairs and preference records as turns.

A shape is detected once per source from its first record and then applied to every record; a
record that does not fit raises :class:`FieldError`, which the reader turns into an error naming
the file, the line or row and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from .errors import UsageError

FORMATS = ("alpaca", "sharegpt", "messages", "pairs", "preference")

#: Roles a turn can have. Only ``user`` turns are prompt text and only ``assistant`` turns are
#: responses; tool calls and tool results are not natural language and are not judged.
#: ``context`` is material the user supplies with the request (Alpaca's ``input``): part of the
#: prompt's measurements, not of the user's own words that set the expected language.
ROLES = ("system", "user", "context", "assistant", "reasoning", "tool_call", "tool_result")

_ROLE_ALIASES = {
    "system": "system",
    "developer": "system",
    "human": "user",
    "user": "user",
    "prompter": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "claude": "assistant",
    "function_call": "tool_call",
    "tool_call": "tool_call",
    "tool_calls": "tool_call",
    "observation": "tool_result",
    "tool": "tool_result",
    "function": "tool_result",
    "ipython": "tool_result",
    "tool_response": "tool_result",
}

#: (prompt, response) column pairs recognised without flags, in order of preference.
COLUMN_PAIRS = (
    ("prompt", "response"),
    ("prompt", "completion"),
    ("prompt", "output"),
    ("prompt", "answer"),
    ("query", "response"),
    ("query", "answer"),
    ("question", "answer"),
    ("question", "response"),
    ("instruction", "response"),
    ("instruction", "answer"),
    ("input", "output"),
    ("input", "target"),
    ("source", "target"),
    ("human", "assistant"),
    ("user", "assistant"),
    ("context", "response"),
    ("problem", "solution"),
    ("instruction", "output"),  # Alpaca without input; only when --format pairs is forced
)
_PREFERENCE_PROMPTS = ("prompt", "question", "query", "instruction", "input")
_SYSTEM_KEYS = ("system", "system_prompt")
_NON_TEXT_PARTS = frozenset(
    {
        "image",
        "image_url",
        "input_image",
        "audio",
        "input_audio",
        "video",
        "video_url",
        "file",
        "input_file",
    }
)
_REASONING_PARTS = frozenset({"reasoning", "thinking", "reasoning_content"})


class FieldError(Exception):
    """A record that does not fit its shape: the field (dotted path) and what is wrong."""

    def __init__(self, field: str | None, problem: str, hint: str | None = None) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem
        self.hint = hint


class Turn(NamedTuple):
    """One piece of text in a record: its role, the text, and where it came from."""

    role: str
    text: str
    field: str


def get_path(record: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path (``a.b.0.c``); list positions are numbers. Missing -> KeyError."""
    value: Any = record
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            raise KeyError(path)
    return value


def as_text(value: Any, field: str) -> str:
    """A field's text. None is empty; numbers become text; lists of strings or parts are joined."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN: a missing value from pandas
        return ""
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list):
        text, _ = _parts_text(value, field)
        return text
    if isinstance(value, Mapping):
        for key in ("text", "value", "content"):
            if key in value:
                return as_text(value[key], f"{field}.{key}")
    raise FieldError(
        field,
        f"expected text, got {_describe(value)}",
        "point --prompt-field/--response-field at a text field",
    )


def _parts_text(parts: list[Any], field: str) -> tuple[str, str]:
    """(text, reasoning) of a content-part list such as ``[{"type": "text", "text": ...}]``."""
    texts: list[str] = []
    reasoning: list[str] = []
    for i, part in enumerate(parts):
        where = f"{field}.{i}"
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping):
            kind = str(part.get("type", "text"))
            if kind in _NON_TEXT_PARTS:
                continue
            body = next((part[k] for k in ("text", "value", "content", kind) if k in part), None)
            target = reasoning if kind in _REASONING_PARTS else texts
            target.append(as_text(body, where))
        elif part is not None:
            raise FieldError(where, f"expected a text part, got {_describe(part)}")
    return "\n".join(texts), "\n".join(reasoning)


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(map(str, list(value)[:8]))
        return f"an object with keys {{{keys}}}"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return f"{type(value).__name__} {value!r:.40}"


@dataclass(frozen=True)
class Shape:
    """How to read one source's records. ``fields`` are dotted paths for the ``pairs`` format;
    ``declared`` is a reader that a dataset's declaration fixes (a LLaMA-Factory registry entry,
    see :mod:`langaudit.registry`), which reads every record as training will."""

    format: str
    prompt_field: str | None = None
    response_field: str | None = None
    system_field: str | None = None
    declared: Any = None

    def turns(self, record: Any) -> list[Turn]:
        if not isinstance(record, Mapping):
            raise FieldError(None, f"expected a record (an object), got {_describe(record)}")
        if self.declared is not None:
            return cast(list[Turn], self.declared.turns(record))
        turns = _READERS[self.format](self, record)
        system = self.system_field or next((k for k in _SYSTEM_KEYS if k in record), None)
        if system and not any(t.role == "system" for t in turns):
            text = as_text(field_value(record, system), system)
            if text:
                turns.insert(0, Turn("system", text, system))
        return turns


def field_value(record: Mapping[str, Any], path: str) -> Any:
    try:
        return get_path(record, path)
    except KeyError:
        raise FieldError(
            path,
            f"missing (the record has {_describe(dict(record))})",
            "records of one file must share a shape; fix the record or use --on-error=skip",
        ) from None


def _read_alpaca(shape: Shape, record: Mapping[str, Any]) -> list[Turn]:
    turns = history_turns(record.get("history"), "history")
    instruction = as_text(field_value(record, "instruction"), "instruction")
    extra = as_text(record.get("input"), "input")
    if instruction and extra.strip():
        # the user's own words are the instruction; the input is material to work on
        turns.append(Turn("user", instruction, "instruction"))
        turns.append(Turn("context", extra, "input"))
    else:
        turns.append(Turn("user", instruction or extra, "instruction" if instruction else "input"))
    output = field_value(record, "output")
    if isinstance(output, list) and all(isinstance(o, str) for o in output):
        # LLaMA-Factory ranking data: output = [chosen, rejected]
        turns.extend(Turn("assistant", o, f"output.{i}") for i, o in enumerate(output))
    else:
        turns.append(Turn("assistant", as_text(output, "output"), "output"))
    return turns + _rejected_response(record)


def history_turns(history: Any, field: str) -> list[Turn]:
    """The turns of a ``history`` of earlier ``[prompt, response]`` pairs (Alpaca, ms-swift)."""
    if not history:  # none, or empty (a CSV cell)
        return []
    if not isinstance(history, list):
        raise FieldError(
            field, f"expected a list of [prompt, response] pairs, got {_describe(history)}"
        )
    turns: list[Turn] = []
    for i, pair in enumerate(history):
        where = f"{field}.{i}"
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise FieldError(where, "expected a [prompt, response] pair")
        turns.append(Turn("user", as_text(pair[0], f"{where}.0"), f"{where}.0"))
        turns.append(Turn("assistant", as_text(pair[1], f"{where}.1"), f"{where}.1"))
    return turns


def _role(value: Any, field: str) -> str:
    role = _ROLE_ALIASES.get(value) or _ROLE_ALIASES.get(str(value).strip().lower())
    if role is None:
        known = ", ".join(sorted(_ROLE_ALIASES))
        raise FieldError(field, f"unknown role {value!r}", f"known roles: {known}")
    return role


def _message_turns(messages: Any, field: str) -> list[Turn]:
    """Turns of a ShareGPT ``{from, value}`` or OpenAI ``{role, content}`` list."""
    if isinstance(messages, Mapping):
        messages = [messages]
    if not isinstance(messages, list):
        raise FieldError(field, f"expected a list of messages, got {_describe(messages)}")
    turns: list[Turn] = []
    for i, message in enumerate(messages):
        if type(message) is dict and len(message) == 2:  # {from, value} / {role, content}: fast
            key = "value" if "from" in message else "content"
            role = _ROLE_ALIASES.get(message.get("from") or message.get("role"))  # type: ignore[arg-type]
            content = message.get(key)
            if role is not None and type(content) is str:
                turns.append(Turn(role, content, f"{field}.{i}.{key}"))
                continue
        where = f"{field}.{i}"
        if isinstance(message, str):  # a bare string in a message list is a response
            turns.append(Turn("assistant", message, where))
            continue
        if not isinstance(message, Mapping):
            raise FieldError(where, f"expected a message object, got {_describe(message)}")
        role_key = "from" if "from" in message else "role"
        if role_key not in message:
            raise FieldError(where, f"message has no 'from' or 'role' ({_describe(message)})")
        role = _role(message[role_key], f"{where}.{role_key}")
        turns.extend(_message_content(message, role, where))
    return turns


def _message_content(message: Mapping[str, Any], role: str, where: str) -> list[Turn]:
    key = "value" if "value" in message else "content"
    content = message.get(key)
    turns: list[Turn] = []
    for reasoning_key in ("reasoning_content", "reasoning"):
        reasoning = message.get(reasoning_key)
        if isinstance(reasoning, str) and reasoning:
            turns.append(Turn("reasoning", reasoning, f"{where}.{reasoning_key}"))
            break
    if isinstance(content, list):
        text, part_reasoning = _parts_text(content, f"{where}.{key}")
        if part_reasoning:
            turns.append(Turn("reasoning", part_reasoning, f"{where}.{key}"))
    else:
        text = as_text(content, f"{where}.{key}")
    calls = message.get("tool_calls") or message.get("function_call")
    if role == "assistant" and calls and not text.strip():
        turns.append(Turn("tool_call", "", f"{where}.tool_calls"))
    else:
        turns.append(Turn(role, text, f"{where}.{key}"))
    return turns


def _read_sharegpt(shape: Shape, record: Mapping[str, Any]) -> list[Turn]:
    if "conversations" not in record and isinstance(record.get("conversation"), list):
        return _round_turns(record["conversation"], "conversation")
    return _message_turns(field_value(record, "conversations"), "conversations")


def _round_turns(rounds: list[Any], field: str) -> list[Turn]:
    """ms-swift's ShareGPT: ``conversation: [{"human": ..., "assistant": ...}, ...]``."""
    turns: list[Turn] = []
    for i, pair in enumerate(rounds):
        where = f"{field}.{i}"
        if not isinstance(pair, Mapping):
            raise FieldError(
                where, f"expected a {{human, assistant}} object, got {_describe(pair)}"
            )
        if not {"human", "assistant"} & set(pair):
            raise FieldError(where, f"expected 'human' and 'assistant' keys ({_describe(pair)})")
        for key, role in (("human", "user"), ("assistant", "assistant")):
            if key in pair:
                turns.append(Turn(role, as_text(pair[key], f"{where}.{key}"), f"{where}.{key}"))
    return turns


def _rejected_response(record: Mapping[str, Any]) -> list[Turn]:
    """ms-swift's preference data: ``rejected_response`` answers the last prompt too."""
    rejected = record.get("rejected_response")
    if rejected is None:
        return []
    return [Turn("assistant", as_text(rejected, "rejected_response"), "rejected_response")]


def _read_messages(shape: Shape, record: Mapping[str, Any]) -> list[Turn]:
    turns = _message_turns(field_value(record, "messages"), "messages")
    return turns + _rejected_response(record)


def _read_pairs(shape: Shape, record: Mapping[str, Any]) -> list[Turn]:
    assert shape.prompt_field and shape.response_field
    p, r = shape.prompt_field, shape.response_field
    # query/response records (ms-swift, ChatGLM) carry the earlier rounds in a history list
    return [
        *history_turns(record.get("history"), "history"),
        Turn("user", as_text(field_value(record, p), p), p),
        Turn("assistant", as_text(field_value(record, r), r), r),
        *_rejected_response(record),
    ]


def _read_preference(shape: Shape, record: Mapping[str, Any]) -> list[Turn]:
    turns: list[Turn] = []
    if shape.prompt_field:
        prompt = field_value(record, shape.prompt_field)
        if isinstance(prompt, list):
            turns = _message_turns(prompt, shape.prompt_field)
        else:
            turns = [Turn("user", as_text(prompt, shape.prompt_field), shape.prompt_field)]
    answers = {
        name: _answer_turns(field_value(record, name), name) for name in ("chosen", "rejected")
    }
    if not shape.prompt_field:
        # conversational preference data repeats the prompt inside chosen and rejected: the
        # shared leading turns are the prompt, what follows are the two answers
        shared = 0
        chosen, rejected = answers["chosen"], answers["rejected"]
        while (
            shared < min(len(chosen), len(rejected)) - 1
            and chosen[shared][:2] == rejected[shared][:2]
        ):
            shared += 1
        turns.extend(chosen[:shared])
        answers = {"chosen": chosen[shared:], "rejected": rejected[shared:]}
    for answer in answers.values():
        turns.extend(t for t in answer if t.role not in ("system", "user"))
    return turns


def _answer_turns(value: Any, name: str) -> list[Turn]:
    """One side of a preference pair: a string, a message object or a message list."""
    if isinstance(value, list):
        return _message_turns(value, name)
    if isinstance(value, Mapping):
        key = next((k for k in ("value", "content", "text") if k in value), None)
        if key is not None:
            return [Turn("assistant", as_text(value[key], f"{name}.{key}"), f"{name}.{key}")]
    return [Turn("assistant", as_text(value, name), name)]


_READERS: dict[str, Callable[[Shape, Mapping[str, Any]], list[Turn]]] = {
    "alpaca": _read_alpaca,
    "sharegpt": _read_sharegpt,
    "messages": _read_messages,
    "pairs": _read_pairs,
    "preference": _read_preference,
}


def detect_shape(
    record: Any,
    format: str | None = None,
    prompt_field: str | None = None,
    response_field: str | None = None,
    system_field: str | None = None,
) -> Shape:
    """The shape of a source, from its first record and the user's overrides."""
    if format is not None and format not in FORMATS:
        raise UsageError(f"unknown format {format!r}", f"choose one of: {', '.join(FORMATS)}")
    if (prompt_field is None) != (response_field is None) and format in (None, "pairs"):
        raise UsageError("--prompt-field and --response-field go together")
    if not isinstance(record, Mapping):
        raise FieldError(None, f"expected a record (an object), got {_describe(record)}")
    if prompt_field and response_field and format in (None, "pairs"):
        return Shape("pairs", prompt_field, response_field, system_field)
    fmt = format or _guess_format(record)
    if fmt == "pairs":
        pair = next(((p, r) for p, r in COLUMN_PAIRS if p in record and r in record), None)
        if pair is None:
            raise _unknown_shape(record)
        return Shape("pairs", *pair, system_field)
    if fmt == "preference":
        prompt = prompt_field or next(
            (k for k in (*_PREFERENCE_PROMPTS, "conversations", "messages") if k in record), None
        )
        return Shape("preference", prompt, None, system_field)
    return Shape(fmt, None, None, system_field)


def _guess_format(record: Mapping[str, Any]) -> str:
    if "chosen" in record and "rejected" in record:
        return "preference"
    if isinstance(record.get("conversations") or record.get("conversation"), list):
        return "sharegpt"
    if isinstance(record.get("messages"), list):
        return "messages"
    if "instruction" in record and "output" in record:
        return "alpaca"
    if any(p in record and r in record for p, r in COLUMN_PAIRS):
        return "pairs"
    raise _unknown_shape(record)


def _unknown_shape(record: Mapping[str, Any]) -> FieldError:
    keys = ", ".join(repr(k) for k in list(record)[:20]) or "none"
    return FieldError(
        None,
        f"cannot tell the record shape from its keys ({keys})",
        "name the fields: --prompt-field FIELD --response-field FIELD (dotted paths for nested "
        f"fields), or --format {{{','.join(FORMATS)}}}",
    )
