"""``python -m r3d.cli``: the r3d command line (run from outside the source tree, whose
``r3d/`` folder would shadow the installed package)."""

from .main import app

app(prog_name="r3d")
