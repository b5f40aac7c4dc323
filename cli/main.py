"""Entry point of the ``r3d`` console script: the app with every command registered."""

# importing a module registers its commands
from . import bench, chamfer, dataset, doctor, fit, info, render, train, view  # noqa: F401
from .app import app

__all__ = ["app"]
