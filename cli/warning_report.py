"""How a command shows warnings: one line each on stderr, ``warning: FILE:LINE: message`` for
a file's (r3d's :class:`~r3d.errors.FileWarning` names the input file and its line, never r3d's
source), ``warning: message`` for any other; no Python path, no category name; a line printed
once however often it is raised. ``--quiet`` hides them; ``--strict`` raises r3d's warnings as
errors instead (the command reports them as bad input), never other libraries' (torch's,
trimesh's), which stay warnings."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from rich.console import Console
from rich.text import Text

from r3d.errors import R3DWarning


@contextlib.contextmanager
def reported_warnings(console: Console, quiet: bool, strict: bool) -> Iterator[None]:
    """Within the block, warnings are printed on ``console`` as one ``warning: ...`` line each
    (each line once), hidden with ``quiet``; with ``strict`` an r3d warning is raised as the
    R3DWarning exception instead. Python's default filters still apply to other libraries'
    warnings (their deprecation warnings stay hidden)."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message)
        if text not in shown:
            shown.add(text)
            # a Text, not markup: messages hold values such as [nan, 0.0] that markup would eat
            console.print(Text.assemble(("warning:", "bold yellow"), " ", text),
                          highlight=False, soft_wrap=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        # every r3d warning reaches show(), which prints each text once (Python's "default"
        # would print a text once per line of code that raised it)
        warnings.filterwarnings("always", category=R3DWarning)
        if quiet:
            warnings.simplefilter("ignore")
        if strict:
            warnings.filterwarnings("error", category=R3DWarning)
        yield
