"""See the result: r3d's interactive 3D viewer and run reports as self-contained HTML.

- :func:`show` draws meshes, point clouds, volumes or files (inline in notebooks, else in
  the browser); ``Meshes``, ``Pointclouds`` and ``Volumes`` show it as their notebook view.
- :func:`viewer_page` / :func:`write_html` make the page ``r3d view`` writes.
- :mod:`r3d.vis.report` builds the ``report.html`` of fits, renders, trainings and benchmarks.

Pages embed everything (three.js, vendored in ``assets/`` with its licence, the viewer script,
geometry as base64 GLB) and make no network request.
"""

from r3d.vis.items import MAX_FACES, MAX_POINTS, ViewItem, file_items, items_of
from r3d.vis.notebook import repr_html, show, view_items
from r3d.vis.page import viewer_page, write_html

__all__ = [
    "MAX_FACES",
    "MAX_POINTS",
    "ViewItem",
    "file_items",
    "items_of",
    "repr_html",
    "show",
    "view_items",
    "viewer_page",
    "write_html",
]
