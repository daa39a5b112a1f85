"""The technical log of one run, ``<warehouse>/logs/run-<run id>.log``.

The CLI prints one-line outcomes; when a run goes wrong the engineer needs the rest: what the
run's own code logged (``siheyuan.*`` at INFO: recovery, files planned, applied, rejected, dbt
summary), Dagster's event log (steps started and failed, asset checks, errors with their trace),
and dbt's output (dagster-dbt writes it to stdout). This module sends all three to one file, in
the order they happen, for every run that ``runner.run_job`` executes (the CLI's ``run`` and
``demo``) — a rejected one too, whose log was empty when only stdout was captured. Runs the
sensor or the Dagster UI launch keep their logs in Dagster's own event log instead.

Every line goes through ``mask_text`` on its way out, the same second line of defence as the
gate's messages: the run's messages never quote a sensitive value on purpose, but an error's
text (a parser's, a database's) may — dbt prints DuckDB's error for a failed model, and that
error quotes the value it could not convert.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TextIO

import dagster as dg

from siheyuan.quality.privacy import mask_text

LOGGER = "siheyuan"
LEVEL = logging.INFO
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record)) or ""


class _Relay(logging.Handler):
    """Holds the run's first records until its log file exists, then forwards to it.

    The lines before the job starts (a crashed run's recovery, the files planned) are the first
    thing an engineer reads in the log, but the file is named after the run id, and a run that
    finds nothing new gets no file at all.
    """

    def __init__(self) -> None:
        super().__init__(LEVEL)
        self.pending: list[logging.LogRecord] = []
        self.target: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.target is not None:
            self.target.handle(record)
        else:
            self.pending.append(record)


class MaskingStream(io.TextIOBase):
    """Stdout for the run: complete lines go to ``target`` through ``mask_text``.

    dagster-dbt re-emits every dbt line with ``sys.stdout.write``, which a logging formatter
    never sees. Text is held until its line ends, because a number split across two writes
    would match no pattern in either half; ``close`` writes out an unfinished last line.
    """

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self._target = target
        self._partial = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines, newline, rest = (self._partial + text).rpartition("\n")
        if newline:
            self._target.write((mask_text(lines) or "") + newline)
        self._partial = rest
        return len(text)

    def flush(self) -> None:
        self._target.flush()  # an unfinished line stays held: flushing it would split it

    def close(self) -> None:
        if self.closed:
            return
        if self._partial:
            self._target.write(mask_text(self._partial) or "")
            self._partial = ""
        self._target.flush()
        super().close()


class RunLog:
    """Capture the ``siheyuan`` loggers from ``__enter__``; ``writing`` names the file.

    While it is entered the ``siheyuan`` logger passes INFO even where nothing configured it
    (tests, a library caller); the CLI already sets INFO, so its terminal is unchanged.
    """

    def __init__(self, logs_dir: Path) -> None:
        self.logs_dir = logs_dir
        self._relay = _Relay()
        self._saved_level = logging.NOTSET

    def __enter__(self) -> RunLog:
        logger = logging.getLogger(LOGGER)
        self._saved_level = logger.level
        if logger.getEffectiveLevel() > LEVEL:
            logger.setLevel(LEVEL)
        logger.addHandler(self._relay)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        logger = logging.getLogger(LOGGER)
        logger.removeHandler(self._relay)
        logger.setLevel(self._saved_level)

    def path(self, run_id: str) -> Path:
        return self.logs_dir / f"run-{run_id}.log"

    @contextlib.contextmanager
    def writing(self, run_id: str) -> Iterator[dg.LoggerDefinition]:
        """Write the run's log while the block runs; yields the Dagster logger that feeds it.

        Give the logger to the job (``with_logger_defs`` and the run config's ``loggers``) and
        execute the job inside the block: stdout (dbt's output) is redirected to the file too,
        masked line by line like the log records.
        """
        path = self.path(run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # line-buffered: a run killed midway still leaves its log up to the kill
        with path.open("w", encoding="utf-8", buffering=1) as fh:
            handler = _file_handler(fh)
            for record in self._relay.pending:
                handler.handle(record)
            self._relay.pending.clear()
            self._relay.target = handler
            stdout = MaskingStream(fh)
            try:
                with contextlib.redirect_stdout(stdout):
                    yield _dagster_logger(handler)
            finally:
                stdout.close()
                self._relay.target = None
                handler.flush()


def _file_handler(stream: TextIO) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_MaskingFormatter(FORMAT))
    return handler


# Dagster logs its structural events at DEBUG. These tell the run's story (what ran, how long,
# what was built); the rest (every output handed over, every passed check: hundreds of lines
# per dbt build) does not, and is left to the Dagster UI.
_STORY_EVENTS = frozenset(
    t.value
    for t in (
        dg.DagsterEventType.RUN_START,
        dg.DagsterEventType.RUN_SUCCESS,
        dg.DagsterEventType.RUN_FAILURE,
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.STEP_SKIPPED,
        dg.DagsterEventType.ASSET_MATERIALIZATION,
    )
)
_CHECK_EVALUATION = dg.DagsterEventType.ASSET_CHECK_EVALUATION.value


def _tells_the_story(record: logging.LogRecord) -> bool:
    """Whether a Dagster record belongs in the run log: every message at INFO and up (the
    assets' own ``context.log`` lines, errors), the story events, and failed checks."""
    if record.levelno >= LEVEL:
        return True
    event = getattr(record, "dagster_event", None)
    kind = getattr(event, "event_type_value", None)
    if kind == _CHECK_EVALUATION:
        return not getattr(event.event_specific_data, "passed", True)  # type: ignore[union-attr]
    return kind in _STORY_EVENTS


def _dagster_logger(handler: logging.Handler) -> dg.LoggerDefinition:
    """A Dagster logger writing the run's event log lines to ``handler`` (see above)."""

    def build(_context: dg.InitLoggerContext) -> logging.Logger:
        # a logger of its own, not registered by name: nothing else writes to it
        logger = logging.Logger("dagster", level=logging.DEBUG)
        logger.addFilter(_tells_the_story)
        logger.addHandler(handler)
        return logger

    return dg.LoggerDefinition(build, description="The run's log file under <warehouse>/logs.")
