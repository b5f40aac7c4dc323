"""The Typer application object, global options and the error policy shared by all commands."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from rich.console import Console
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
from rich.text import Text

import r3d
from r3d.errors import R3DError

app = typer.Typer(
    name="r3d",
    help="3D reconstruction and rendering: inspect, render and fit meshes and point clouds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}

EXIT_FAILURE = 1  # something went wrong inside r3d
EXIT_BAD_INPUT = 2  # the user's input (arguments, files) was bad
EXIT_INTERRUPTED = 130  # Ctrl-C


class RateColumn(ProgressColumn):
    """A task's throughput in iterations per second (blank until rich has measured it)."""

    def render(self, task: Task) -> Text:
        return Text("" if task.speed is None else f"{task.speed:.1f} it/s")


def loss_progress() -> Progress:
    """The transient stderr display of long runs (fits, trainings): a task's description,
    bar, done / total, iterations per second, elapsed and remaining time, and its ``losses``
    field."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[losses]}"),
        console=err_console, transient=True,
    )


def loss_updater(bar: Progress, task) -> Callable[[int, int, dict[str, float]], None]:
    """The ``progress(done, total, losses)`` callback of a run that moves ``task``."""

    def update(done: int, total: int, losses: dict[str, float]) -> None:
        text = "  ".join(f"{k} {v:.4g}" for k, v in losses.items())
        bar.update(task, completed=done, total=total, losses=text)

    return update


def exit_interrupted(bar: Progress, exc: R3DError) -> NoReturn:
    """Stops the display, prints where a Ctrl-C'd run can resume and exits with 130."""
    bar.stop()
    err_console.print(f"[yellow]{exc}[/yellow]", soft_wrap=True)
    raise typer.Exit(EXIT_INTERRUPTED)


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
) -> None:
    """r3d: batched meshes and point clouds, differentiable operators and rendering."""
    _state["debug"] = debug


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
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (R3DError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            _report(exc, EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/yellow]")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            _report(exc, EXIT_FAILURE)

    return wrapper


def _report(exc: BaseException, code: int) -> None:
    if _state["debug"]:
        err_console.print_exception()
    kind = "error" if code == EXIT_BAD_INPUT else f"internal error ({type(exc).__name__})"
    err_console.print(f"[bold red]{kind}:[/bold red] {exc}", highlight=False, soft_wrap=True)
    if code == EXIT_FAILURE and not _state["debug"]:
        err_console.print("run with --debug for the traceback", style="dim")
    sys.stderr.flush()
    raise typer.Exit(code)
