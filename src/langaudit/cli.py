"""The ``langaudit`` command line: each command parses options, calls the library, renders."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import InputError, LangauditError

FORMAT_CHOICES = ("alpaca", "sharegpt", "messages", "pairs", "preference")


def _fail(error: LangauditError, bad_lines: Any = None) -> None:
    """Report ``error`` and exit 2, first discarding a half-written --bad-lines file."""
    if bad_lines is not None:
        bad_lines.close(ok=False)
    message = str(error) if isinstance(error, InputError) else f"langaudit: {error}"
    click.echo(message, err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="langaudit")
def cli() -> None:
    """Audit LLM fine-tuning datasets for language consistency."""


def _reading_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that reads and judges records (scan, audit)."""
    options = [
        click.option(
            "--format",
            "format_",
            type=click.Choice(FORMAT_CHOICES),
            default=None,
            help="Record shape (default: detected from each file's first record).",
        ),
        click.option("--prompt-field", metavar="PATH", help="Dotted path of the prompt text."),
        click.option("--response-field", metavar="PATH", help="Dotted path of the response text."),
        click.option("--system-field", metavar="PATH", help="Dotted path of a system prompt."),
        click.option(
            "--expect",
            metavar="LANG",
            help="Language of responses unless a record says otherwise "
            "(zh, en, zh-Hans, zh-Hant, ...).",
        ),
        click.option(
            "--strictness",
            type=click.Choice(["lenient", "default", "strict"]),
            default="default",
            show_default=True,
            help="How much mixing counts as code-switching.",
        ),
        click.option(
            "--allow-terms",
            metavar="FILE",
            help="Glossary file: one term per line that is never code-switching.",
        ),
        click.option(
            "--on-error",
            type=click.Choice(["raise", "skip"]),
            default="raise",
            show_default=True,
            help="Stop at the first unreadable record, or skip and count such records.",
        ),
        click.option(
            "--bad-lines",
            metavar="FILE",
            help="With --on-error=skip: write the skipped lines/records to FILE.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _config_options(reading: dict[str, Any]) -> dict[str, Any]:
    """AuditConfig options from the values of :func:`_reading_options` (but --bad-lines)."""
    from .config import read_terms

    terms = reading["allow_terms"]
    return {
        "format": reading["format_"],
        "prompt_field": reading["prompt_field"],
        "response_field": reading["response_field"],
        "system_field": reading["system_field"],
        "expect": reading["expect"],
        "strictness": reading["strictness"],
        "allow_terms": read_terms(terms) if terms else None,
        "on_error": reading["on_error"],
    }


def _bad_line_sink(
    bad_lines: str | None, on_error: str, inputs: Sequence[str], outputs: Sequence[str]
) -> Any:
    """The writer of --bad-lines (None without), refused where it would overwrite a file."""
    from .errors import UsageError
    from .output import BadLineWriter, refuse_overwriting_inputs

    if not bad_lines:
        return None
    if on_error != "skip":
        raise UsageError("--bad-lines needs --on-error=skip")
    refuse_overwriting_inputs(bad_lines, [*inputs, *outputs], what="--bad-lines file")
    return BadLineWriter(bad_lines)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="Where to write one row per record: .jsonl, .parquet, or - for stdout.",
)
@_reading_options
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def scan(
    inputs: tuple[str, ...], output: str, bad_lines: str | None, quiet: bool, **reading: Any
) -> None:
    """Annotate every record of INPUTS: languages, script ratios, expectation, flags.

    INPUTS are JSONL/JSON/CSV/TSV/Parquet/Arrow files (optionally .gz/.zst) or Hugging Face
    save_to_disk folders. Writes exactly one row per record, in input order.
    """
    from .api import scan_batches
    from .engine import ScanLog
    from .output import refuse_overwriting_inputs, result_kind, write_results

    started = time.perf_counter()
    sink = None
    try:
        result_kind(output)
        refuse_overwriting_inputs(output, inputs)
        sink = _bad_line_sink(bad_lines, reading["on_error"], inputs, [output])
        log = ScanLog(sink=sink)
        tally = _Tally()
        batches = scan_batches(list(inputs), log=log, **_config_options(reading))
        rows = write_results(tally.watch(batches), output, sys.stdout.buffer)
    except LangauditError as error:
        _fail(error, sink)
    if sink is not None:
        sink.close()
    if not quiet:
        tally.report(rows, output, log, bad_lines, time.perf_counter() - started)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--html", metavar="FILE", help="Also write the report as one self-contained page.")
@click.option("--json", "json_", metavar="FILE", help="Also write the report as JSON.")
@click.option(
    "--examples",
    type=click.IntRange(0, 1000),
    default=5,
    show_default=True,
    help="Worst records kept per flag for the report.",
)
@click.option(
    "--zh-share",
    type=click.FloatRange(0, 1),
    metavar="SHARE",
    help="The Chinese share of responses you want (0-1), for the recommendations.",
)
@_reading_options
@click.option("-q", "--quiet", is_flag=True, help="No report in the terminal and no progress.")
def audit(
    inputs: tuple[str, ...],
    html: str | None,
    json_: str | None,
    examples: int,
    zh_share: float | None,
    bad_lines: str | None,
    quiet: bool,
    **reading: Any,
) -> None:
    """Report on INPUTS as a whole: languages, flags, worst examples, what to fix.

    The report goes to the terminal (stdout), and with --html / --json to files. INPUTS are
    read as by ``langaudit scan``; only statistics and a few examples are kept, so memory
    stays bounded at any size.
    """
    from .api import audit as run_audit
    from .api import sources_of
    from .engine import ScanLog
    from .errors import UsageError
    from .output import refuse_overwriting_inputs

    sink = None
    try:
        outputs = [path for path in (html, json_) if path]
        for path in outputs:
            refuse_overwriting_inputs(path, inputs, what="report")
        if html and json_ and Path(html).resolve() == Path(json_).resolve():
            raise UsageError("--html and --json name the same file")
        sink = _bad_line_sink(bad_lines, reading["on_error"], inputs, outputs)
        sources = sources_of(list(inputs))
        with _Progress(sources, enabled=not quiet) as progress:
            report = run_audit(
                sources,
                examples=examples,
                keep_table=False,
                zh_share=zh_share,
                log=ScanLog(sink=sink),
                progress=progress.advance,
                **_config_options(reading),
            )
        report.inputs = list(inputs)
        if reading["allow_terms"]:
            report.options["allow_terms_file"] = reading["allow_terms"]
        if json_:
            report.to_json(json_)
        if html:
            report.to_html(html)
    except LangauditError as error:
        _fail(error, sink)
    if sink is not None:
        sink.close()
    if not quiet:
        from .report_text import console_for

        report.print(console_for(sys.stdout))
        written = [
            f"{kind} report written to {path}"
            for kind, path in (("JSON", json_), ("HTML", html))
            if path
        ]
        for line in written:
            click.echo(line, err=True)


class _Progress:
    """A progress bar on stderr (rate and time left), shown only on a terminal."""

    def __init__(self, sources: list[Any], enabled: bool = True) -> None:
        sizes = [src.size for src in sources]
        self.total = sum(sizes) if all(size is not None for size in sizes) else None
        # bytes of the sources before each one (read by the time it starts)
        self.done_before = {
            id(src): sum(size or 0 for size in sizes[:k]) for k, src in enumerate(sources)
        }
        self.records = 0
        self.bar: Any = None
        self.enabled = enabled and sys.stderr.isatty()

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]auditing"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[records]:,} records, {task.fields[rate]}/s"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("audit", total=self.total, records=0, rate="-")
            self.started = time.perf_counter()
        return self

    def advance(self, source: Any, records: int) -> None:
        self.records += records
        if self.bar is None:
            return
        position = source.position() if source.position is not None else 0
        rate = self.records / max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(
            self.task,
            completed=self.done_before.get(id(source), 0) + position,
            records=self.records,
            rate=f"{rate:,.0f}",
        )

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


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
