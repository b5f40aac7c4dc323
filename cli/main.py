"""Entry point of the ``r3d`` console script: the app with every command registered."""

from . import bench, chamfer, info  # noqa: F401 - importing a command module registers its command
from .app import app

__all__ = ["app"]
