"""``python -m r3d.cli``: the r3d command line (what torchrun launches for ``r3d train``)."""

from .main import app

app(prog_name="r3d")
