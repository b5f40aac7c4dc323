"""Procedural shapes: seeded families of objects built from primitives, rendered to a dataset.

Modules, each importing only those before it:

- :mod:`~r3d.datasets.procedural.primitives`: closed primitive surfaces (box, cylinder,
  superquadric, torus).
- :mod:`~r3d.datasets.procedural.families`: the shape families (:data:`FAMILIES`), their
  seeded proportions and colours, and :func:`make_shape`.
- :mod:`~r3d.datasets.procedural.rendering`: :func:`render_views`, with the dataset's fixed
  camera and light settings.
- :mod:`~r3d.datasets.procedural.dataset`: the on-disk format (documented there),
  :func:`make_dataset`, :func:`make_splits` and :class:`ProceduralShapes`.
"""

from r3d.datasets.procedural.dataset import SPLITS, ProceduralShapes, make_dataset, make_splits
from r3d.datasets.procedural.families import FAMILIES, SHAPE_RADIUS, make_shape
from r3d.datasets.procedural.primitives import box, cylinder, superquadric
from r3d.datasets.procedural.rendering import render_views

__all__ = [
    "FAMILIES",
    "SHAPE_RADIUS",
    "SPLITS",
    "ProceduralShapes",
    "box",
    "cylinder",
    "make_dataset",
    "make_shape",
    "make_splits",
    "render_views",
    "superquadric",
]
