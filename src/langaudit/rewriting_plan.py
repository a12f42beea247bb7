"""Pass 1 of ``rewrite``: what happens to each record.

:class:`Planner` scans the input (the same judgement as ``scan``) and decides per record:
rejected (a flag to drop, down-sampled, over ``max_rows``, unreadable under ``on_error="skip"``,
each with its reasons), tagged (which user turns get an instruction or prefix, the record's
language for the ``lang`` column and the system prompt) or repeated (up-sampled).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .config import ShareRange
from .errors import InputError, UsageError


def _first_answers(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The assistant turns that first answer a user turn (or the record's start): the second
    answer to one prompt is a preference pair's rejected one."""
    out = []
    answered = False
    for turn in turns:
        if turn["role"] == "user":
            answered = False
        elif turn["role"] == "assistant":
            if not answered:
                out.append(turn)
            answered = True
    return out


def _prompts(turns: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """For each assistant turn, the user turn before it."""
    out = {}
    user = None
    for turn in turns:
        if turn["role"] == "user":
            user = turn
        elif turn["role"] == "assistant" and user is not None:
            out[turn["turn"]] = user
    return out


#: Reasons a record goes to the rejects file besides its flags.
REBALANCE, MAX_ROWS, UNREADABLE = "rebalance", "max_rows", "unreadable"


@dataclass
class Edit:
    """What happens to one record: the user turns to tag (position -> answer language), the
    record's language, how many copies to add."""

    turns: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    lang: str | None = None
    copies: int = 0
    system: bool = True  # whether a system prompt may say ``lang`` for the whole record


class Planner:
    def __init__(self, tags: tuple[str, ...], when: str, drop: frozenset[str], prefix: str) -> None:
        self.tags, self.when, self.drop, self.prefix = tags, when, drop, prefix
        self.records = 0
        self.rejected: dict[int, dict[str, Any]] = {}  # index -> {"flags", "reasons"}
        self.edits: dict[int, Edit] = {}
        self.langs: dict[int, str | None] = {}  # response language of kept records
        self.unreadable: dict[int, str] = {}
        self.input_zh = self.input_other = 0  # response languages of all readable records

    def scan(self, source: Any, cfg: Any) -> None:
        from .engine import ScanLog, scan_source_with_turns
        from .reasons import RECORD_COLUMNS, explain

        def skipped(item: Any, error: InputError) -> None:
            self.unreadable[item.index] = str(error).split("\n")[0]

        log = ScanLog(sink=skipped)
        for entries, batch in scan_source_with_turns(source, cfg, log):
            self.records += batch.num_rows
            flags = batch.column("flags").to_pylist()
            langs = batch.column("response_lang").to_pylist()
            turns = batch.column("turns").to_pylist()
            indices = batch.column("index").to_pylist()
            for row, index in enumerate(indices):
                # the record's flags and response language, as scan and audit count them (a
                # preference pair's rejected answer included); only tagging looks at the
                # first answer to each prompt alone
                answers = _first_answers(turns[row])
                record_flags, lang = flags[row], langs[row]
                self.input_zh += lang == "zh"
                self.input_other += lang not in (None, "und", "zh")
                hit = [f for f in record_flags if f in self.drop]
                if hit:
                    record = {n: batch.column(n)[row].as_py() for n in RECORD_COLUMNS}
                    record_turns = entries[row][1]
                    reasons = {f: explain(f, record, record_turns).reason for f in hit}
                    self.rejected[index] = {"flags": record_flags, "reasons": reasons}
                    continue
                self.langs[index] = lang
                edit = self._edit(turns[row], answers, lang)
                if edit is not None:
                    self.edits[index] = edit
        self.records += len(self.unreadable)

    def _edit(
        self, turns: list[dict[str, Any]], answers: list[dict[str, Any]], lang: str | None
    ) -> Edit | None:
        if not self.tags:
            return None
        edit = Edit()
        prompts = _prompts(turns)
        carried: str | None = None  # the language of the last instruction added
        explicit_seen = False
        for answer in answers:
            user = prompts.get(answer["turn"])
            # a prompt that already asks for a language keeps its own words
            explicit = answer["expected_source"] in ("instruction", "translation")
            explicit_seen = explicit_seen or explicit
            wanted = self._wanted(answer)
            # an added instruction holds for the turns after it: a later answer in another
            # language needs its own
            follows = carried is not None and answer["lang"] not in (None, "und", carried)
            if not (wanted or follows):
                continue
            turn_tags = "instruction" in self.tags or "prefix" in self.tags
            if user is not None and turn_tags and not explicit:
                edit.turns[user["turn"]] = (answer["lang"], user["lang"])
                carried = answer["lang"] if "instruction" in self.tags else carried
            edit.lang = edit.lang or answer["lang"]
        if edit.lang is None:
            return None
        if "column" in self.tags or "system" in self.tags:
            edit.lang = lang if lang not in (None, "und") else edit.lang
        # one system prompt for a conversation answered in several languages would contradict
        # some of its answers
        known = {a["lang"] for a in answers if a["lang"] not in (None, "und")}
        edit.system = len(known) == 1 and not explicit_seen
        return edit

    def _wanted(self, turn: dict[str, Any]) -> bool:
        if turn["lang"] in (None, "und"):
            return False
        if self.when == "always":
            return True
        implicit = turn["expected_source"] == "prompt"
        return implicit and (self.when == "implicit" or "lang_mismatch" in (turn["flags"] or []))

    def rebalance(
        self,
        target: ShareRange | None,
        mode: str,
        max_rows: int | None,
        seed: int,
    ) -> tuple[float | None, float | None]:
        """Reach ``target`` (see :meth:`_move`), then ``max_rows``; the Chinese share of the
        input's responses and of the output's."""
        rng = random.Random(seed)
        zh = sorted(i for i, lang in self.langs.items() if lang == "zh")
        other = sorted(i for i, lang in self.langs.items() if lang not in (None, "und", "zh"))
        before = share_of(self.input_zh, self.input_other)
        if target is not None and (zh or other):
            share = len(zh) / (len(zh) + len(other))
            goal = target.fix(share)
            if goal is not None:
                self._move(zh, other, goal, mode, rng)
        if max_rows is not None:
            self._cap(max_rows, rng)
        kept_zh = sum(1 + self._copies(i) for i in zh if i in self.langs)
        kept_other = sum(1 + self._copies(i) for i in other if i in self.langs)
        return before, share_of(kept_zh, kept_other)

    def _copies(self, index: int) -> int:
        edit = self.edits.get(index)
        return edit.copies if edit is not None else 0

    def _move(
        self, zh: list[int], other: list[int], goal: float, mode: str, rng: random.Random
    ) -> None:
        """Drop or repeat records so that the share of ``zh`` is ``goal`` (to one record)."""
        z, o = len(zh), len(other)
        if mode == "down" and (z == 0 < goal or (o == 0 and goal < 1)):
            missing = "Chinese" if z == 0 else "other-language"
            raise UsageError(
                f"cannot reach a Chinese share of {goal:g} by dropping records: there are no "
                f"{missing} records",
                "leave out --zh-share, or add data in the missing language",
            )
        if mode == "down":
            if z / (z + o) > goal:  # fewer Chinese records
                keep = round(goal * o / (1 - goal)) if goal < 1 else z
                self._reject(rng.sample(zh, z - keep), REBALANCE)
            else:
                keep = round((1 - goal) * z / goal) if goal > 0 else o
                self._reject(rng.sample(other, o - keep), REBALANCE)
            return
        if z / (z + o) < goal:  # more Chinese records
            if goal >= 1 or not zh:
                raise UsageError(
                    f"cannot reach a Chinese share of {goal:g} by repeating records",
                    "there are no Chinese records to repeat" if not zh else "use --mode down",
                )
            self._repeat(zh, round(goal * o / (1 - goal)) - z, rng)
        else:
            if goal <= 0 or not other:
                raise UsageError(
                    f"cannot reach a Chinese share of {goal:g} by repeating records",
                    "there are no other records to repeat" if not other else "use --mode down",
                )
            self._repeat(other, round((1 - goal) * z / goal) - o, rng)

    def _repeat(self, pool: list[int], count: int, rng: random.Random) -> None:
        for index in (rng.choice(pool) for _ in range(max(count, 0))):
            self.edits.setdefault(index, Edit()).copies += 1

    def _reject(self, indices: Iterable[int], reason: str) -> None:
        for index in indices:
            self.langs.pop(index, None)
            self.edits.pop(index, None)
            self.rejected[index] = {"flags": [], "reasons": {reason: _REASON_TEXT[reason]}}

    def _cap(self, max_rows: int, rng: random.Random) -> None:
        """At most ``max_rows`` records out, copies included: each language (Chinese, other,
        unknown) keeps its proportion, losing its copies first, then records."""
        groups: dict[str, list[int]] = {}
        for index, lang in sorted(self.langs.items()):
            key = "zh" if lang == "zh" else ("unknown" if lang in (None, "und") else "other")
            groups.setdefault(key, []).extend([index] * (1 + self._copies(index)))
        total = sum(len(g) for g in groups.values())
        if total <= max_rows:
            return
        quotas = {k: len(g) * max_rows / total for k, g in groups.items()}
        keep = {k: int(q) for k, q in quotas.items()}
        for k in sorted(quotas, key=lambda k: quotas[k] - keep[k], reverse=True):
            if sum(keep.values()) < max_rows:
                keep[k] += 1
        for key, slots in sorted(groups.items()):
            self._shrink(slots, len(slots) - keep[key], rng)

    def _shrink(self, slots: list[int], excess: int, rng: random.Random) -> None:
        copies = [i for i in dict.fromkeys(slots) for _ in range(self._copies(i))]
        for index in rng.sample(copies, min(excess, len(copies))):
            self.edits[index].copies -= 1
        excess -= min(excess, len(copies))
        if excess > 0:
            self._reject(rng.sample(sorted(set(slots)), excess), MAX_ROWS)


_REASON_TEXT = {
    REBALANCE: "down-sampled to reach the Chinese share asked for",
    MAX_ROWS: "over --max-rows",
}


def share_of(zh: int, other: int) -> float | None:
    return zh / (zh + other) if zh + other else None
