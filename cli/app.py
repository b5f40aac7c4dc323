"""The Typer application object, global options and the error policy shared by all commands."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

import r3d
from r3d.errors import R3DError, R3DWarning

from .warning_report import reported_warnings

app = typer.Typer(
    name="r3d",
    help="3D reconstruction and rendering: inspect, render and fit meshes and point clouds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
_state = {"debug": False, "quiet": False, "strict": False}

EXIT_FAILURE = 1  # something went wrong inside r3d
EXIT_BAD_INPUT = 2  # the user's input (arguments, files) was bad
EXIT_INTERRUPTED = 130  # Ctrl-C


PREPARING = "preparing inputs…"


class RateColumn(ProgressColumn):
    """A task's throughput in iterations per second (blank until rich has measured it)."""

    def render(self, task: Task) -> Text:
        return Text("" if task.speed is None else f"{task.speed:.1f} it/s")


class LossProgress(Progress):
    """Progress bars with one line below them: the ``losses`` field of the last task that has
    one, or :data:`PREPARING` while no task has started (the inputs are loaded, rendered or
    made before the first iteration)."""

    def get_renderables(self):
        yield self.make_tasks_table(self.tasks)
        status = self.status_line()
        if status:
            yield Text(status, style="dim")

    def status_line(self) -> str:
        """The losses of the last task that reported some, else :data:`PREPARING` before any
        task has started, else ""."""
        losses = [task.fields.get("losses") for task in self.tasks if task.fields.get("losses")]
        if losses:
            return losses[-1]
        return "" if any(task.completed for task in self.tasks) else PREPARING


def loss_progress(console: Console | None = None) -> LossProgress:
    """The transient display of long runs (fits, trainings) on ``console`` (default stderr):
    per task a line of description, bar (as wide as the terminal allows), done / total,
    iterations per second, elapsed and remaining time; below, the ``losses`` field of the
    running task (tasks are added with ``losses=""``)."""
    return LossProgress(
        TextColumn("{task.description}"), BarColumn(bar_width=None), MofNCompleteColumn(),
        RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console or err_console, transient=True, expand=True,
    )


def loss_text(losses: dict[str, float]) -> str:
    """``name=value`` pairs of the losses (4 significant digits), two spaces apart."""
    return "  ".join(f"{k}={v:.4g}" for k, v in losses.items())


def loss_updater(bar: Progress, task) -> Callable[[int, int, dict[str, float]], None]:
    """The ``progress(done, total, losses)`` callback of a run that moves ``task``."""

    def update(done: int, total: int, losses: dict[str, float]) -> None:
        bar.update(task, completed=done, total=total, losses=loss_text(losses))

    return update


def overwrite_option(where: str = "the output folder") -> Any:
    """The ``--overwrite`` option of the commands that write a run's files into a folder (see
    :mod:`r3d.runs.outdir`); ``where`` names that folder in the help."""
    return typer.Option(False, "--overwrite", help=f"Replace an earlier run's outputs in {where} "
                        "(only files r3d runs wrote: a folder holding others is refused).")


def titled(title: str, table: Table) -> Group:
    """``table`` under its ``title`` (file names, settings): a line of its own that wraps at
    the terminal's width, never at the table's, so names stay whole when they fit."""
    return Group(Text(title, style="italic"), table)


def exit_interrupted(bar: Progress, exc: R3DError) -> NoReturn:
    """Stops the display, prints where a Ctrl-C'd run can resume and exits with 130."""
    bar.stop()
    err_console.print(Text(str(exc), style="yellow"), soft_wrap=True)
    raise typer.Exit(EXIT_INTERRUPTED)


def quiet_option() -> Any:
    """The ``--quiet`` option (of the app, and of every command)."""
    return typer.Option(False, "--quiet", "-q", help="Hide warnings.")


def strict_option() -> Any:
    """The ``--strict`` option (of the app, and of every command)."""
    return typer.Option(False, "--strict", help="Treat r3d's warnings (a skipped face, a missing "
                        "material or texture) as errors: exit with 2.")


def _version(value: bool) -> None:
    if value:
        console.print(f"r3d {r3d.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    quiet: bool = quiet_option(),
    strict: bool = strict_option(),
) -> None:
    """r3d: batched meshes and point clouds, differentiable operators and rendering."""
    _state.update(debug=debug, quiet=quiet, strict=strict)


def command(fn: Callable[..., Any] | None = None, *, name: str | None = None,
            group: typer.Typer | None = None) -> Callable[..., Any]:
    """Registers ``fn`` (as ``name``, default its own; in ``group``, default the app) as a
    command that reports errors as one line and a meaningful exit code (:func:`guarded`).
    Use as ``@command`` or ``@command(name=..., group=...)``."""

    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        return (group or app).command(name=name)(guarded(f))

    return register if fn is None else register(fn)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with the CLI's error policy: bad input (any r3d error, a missing file) exits with
    2, any other failure with 1, Ctrl-C with 130; with ``--debug`` the traceback is shown too.
    Warnings are one line each (:mod:`.warning_report`); ``fn`` also takes the app's
    ``--quiet`` and ``--strict`` (after the command's name, as before it).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, quiet: bool = False, strict: bool = False, **kwargs: Any) -> Any:
        try:
            with reported_warnings(err_console, quiet or _state["quiet"],
                                   strict or _state["strict"]):
                return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (R3DError, R3DWarning, FileNotFoundError, IsADirectoryError, NotADirectoryError,
                PermissionError) as exc:
            _report(exc, EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/yellow]")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            _report(exc, EXIT_FAILURE)

    signature = inspect.signature(fn, eval_str=True)
    wrapper.__signature__ = signature.replace(parameters=[
        *signature.parameters.values(),
        inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=quiet_option(),
                          annotation=bool),
        inspect.Parameter("strict", inspect.Parameter.KEYWORD_ONLY, default=strict_option(),
                          annotation=bool),
    ])
    return wrapper


def error_message(exc: BaseException) -> str:
    """The one-line message of ``exc``: ``path: reason`` for an OSError naming a file (a
    missing file, a directory given for a file), else ``str(exc)``."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _report(exc: BaseException, code: int) -> None:
    if _state["debug"]:
        err_console.print_exception()
    kind = "error" if code == EXIT_BAD_INPUT else f"internal error ({type(exc).__name__})"
    # a Text, not markup: messages hold values such as [nan, 0.0, 0.0] that markup would eat
    err_console.print(Text.assemble((f"{kind}:", "bold red"), " ", error_message(exc)),
                      highlight=False, soft_wrap=True)
    if code == EXIT_FAILURE and not _state["debug"]:
        err_console.print("run with --debug for the traceback", style="dim")
    sys.stderr.flush()
    raise typer.Exit(code)
