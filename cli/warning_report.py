"""How a command shows warnings: one line each on stderr, ``warning: FILE:LINE: message`` for
a file's (r3d's :class:`~r3d.errors.FileWarning` names the input file and its line, never r3d's
source), ``warning: message`` for any other (another library's warning, a warning r3d logs such
as a native kernel's fallback to its pure-PyTorch twin); no Python path, no category name; a
line printed once however often it is raised. ``--quiet`` hides them; ``--strict`` raises r3d's
warnings as errors instead (the command reports them as bad input), never other libraries'
(torch's, trimesh's) nor logged ones, which stay warnings."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.text import Text

from r3d.errors import R3DWarning


class _LoggedLines(logging.Handler):
    """Hands the text of each record (WARNING and above) to ``show``."""

    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        self.show(record.getMessage())


@contextlib.contextmanager
def reported_warnings(console: Console, quiet: bool, strict: bool) -> Iterator[None]:
    """Within the block, warnings (and what r3d's loggers say at WARNING or above) are printed
    on ``console`` as one ``warning: ...`` line each, each line once; hidden with ``quiet``;
    with ``strict`` an r3d warning is raised as the R3DWarning exception instead. Python's
    default filters still apply to other libraries' warnings (their deprecation warnings stay
    hidden)."""
    shown: set[str] = set()

    def show(text: str) -> None:
        if text not in shown:
            shown.add(text)
            # a Text, not markup: messages hold values such as [nan, 0.0] that markup would eat
            console.print(Text.assemble(("warning:", "bold yellow"), " ", text),
                          highlight=False, soft_wrap=True)

    logger = logging.getLogger("r3d")
    handler = logging.NullHandler() if quiet else _LoggedLines(show)
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = lambda message, *where, **kwargs: show(str(message))
            # every r3d warning reaches show(), which prints each text once (Python's "default"
            # would print a text once per line of code that raised it)
            warnings.filterwarnings("always", category=R3DWarning)
            if quiet:
                warnings.simplefilter("ignore")
            if strict:
                warnings.filterwarnings("error", category=R3DWarning)
            yield
    finally:
        logger.removeHandler(handler)
