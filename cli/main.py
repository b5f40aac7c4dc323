"""Entry point of the ``r3d`` console script: the app with every command registered."""

from . import bench, chamfer, fit, info, render  # noqa: F401 - importing a module registers it
from .app import app

__all__ = ["app"]
