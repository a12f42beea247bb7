"""The ``langaudit`` command line: each command parses options, calls the library, renders."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import click

from . import __version__
from .errors import InputError, LangauditError

FORMAT_CHOICES = ("alpaca", "sharegpt", "messages", "pairs", "preference")


def _fail(error: LangauditError) -> None:
    message = str(error) if isinstance(error, InputError) else f"langaudit: {error}"
    click.echo(message, err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="langaudit")
def cli() -> None:
    """Audit LLM fine-tuning datasets for language consistency."""


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="Where to write one row per record: .jsonl, .parquet, or - for stdout.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMAT_CHOICES),
    default=None,
    help="Record shape (default: detected from each file's first record).",
)
@click.option("--prompt-field", metavar="PATH", help="Dotted path of the prompt text.")
@click.option("--response-field", metavar="PATH", help="Dotted path of the response text.")
@click.option("--system-field", metavar="PATH", help="Dotted path of a system prompt.")
@click.option(
    "--expect",
    metavar="LANG",
    help="Language of responses unless a record says otherwise (zh, en, zh-Hans, zh-Hant, ...).",
)
@click.option(
    "--strictness",
    type=click.Choice(["lenient", "default", "strict"]),
    default="default",
    show_default=True,
    help="How much mixing counts as code-switching.",
)
@click.option(
    "--allow-terms",
    metavar="FILE",
    help="Glossary file: one term per line that is never code-switching.",
)
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="Stop at the first unreadable record, or skip and count such records.",
)
@click.option(
    "--bad-lines",
    metavar="FILE",
    help="With --on-error=skip: write the skipped lines/records to FILE.",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def scan(
    inputs: tuple[str, ...],
    output: str,
    format_: str | None,
    prompt_field: str | None,
    response_field: str | None,
    system_field: str | None,
    expect: str | None,
    strictness: str,
    allow_terms: str | None,
    on_error: str,
    bad_lines: str | None,
    quiet: bool,
) -> None:
    """Annotate every record of INPUTS: languages, script ratios, expectation, flags.

    INPUTS are JSONL/JSON/CSV/TSV/Parquet/Arrow files (optionally .gz/.zst) or Hugging Face
    save_to_disk folders. Writes exactly one row per record, in input order.
    """
    from .api import scan_batches
    from .config import read_terms
    from .engine import ScanLog
    from .errors import UsageError
    from .output import BadLineWriter, refuse_overwriting_inputs, result_kind, write_results

    started = time.perf_counter()
    sink = None
    try:
        result_kind(output)
        refuse_overwriting_inputs(output, inputs)
        if bad_lines:
            if on_error != "skip":
                raise UsageError("--bad-lines needs --on-error=skip")
            refuse_overwriting_inputs(bad_lines, [*inputs, output], what="--bad-lines file")
        sink = BadLineWriter(bad_lines) if bad_lines else None
        log = ScanLog(sink=sink)
        tally = _Tally()
        batches = scan_batches(
            list(inputs),
            log=log,
            format=format_,
            prompt_field=prompt_field,
            response_field=response_field,
            system_field=system_field,
            expect=expect,
            strictness=strictness,
            allow_terms=read_terms(allow_terms) if allow_terms else None,
            on_error=on_error,
        )
        rows = write_results(tally.watch(batches), output, sys.stdout.buffer)
    except LangauditError as error:
        if sink is not None:
            sink.close(ok=False)
        _fail(error)
    if sink is not None:
        sink.close()
    if not quiet:
        tally.report(rows, output, log, bad_lines, time.perf_counter() - started)


class _Tally:
    """Counts the flags passing through to the output, for the closing summary."""

    def __init__(self) -> None:
        self.flags: Counter[str] = Counter()

    def watch(self, batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            for flags in batch.column("flags").to_pylist():
                self.flags.update(flags)
            yield batch

    def report(
        self, rows: int, output: str, log: Any, bad_lines: str | None, seconds: float
    ) -> None:
        for source, count in log.records.items():
            skipped = log.skipped_by_source.get(source, 0)
            note = f" ({skipped} skipped)" if skipped else ""
            if count == 0 and not skipped:
                note = " (no records: the file is empty)"
            click.echo(f"{source}: {_plural(count, 'record')}{note}", err=True)
        flags = ", ".join(f"{name} {count}" for name, count in self.flags.most_common()) or "none"
        where = "stdout" if output == "-" else output
        click.echo(
            f"scanned {_plural(rows, 'record')} in {seconds:.1f}s -> {where}; flags: {flags}",
            err=True,
        )
        if log.skipped:
            saved = f", written to {bad_lines}" if bad_lines else ""
            click.echo(
                f"skipped {_plural(log.skipped, 'unreadable record')}{saved}; first: "
                f"{log.first_errors[0]}",
                err=True,
            )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    try:
        cli.main(args=argv, prog_name="langaudit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
