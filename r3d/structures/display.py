"""The notebook view of the data types: Jupyter calls ``_repr_html_`` on ``Meshes``,
``Pointclouds`` and ``Volumes``, which hand over to the viewer of :mod:`r3d.vis`.

The viewer sits layers above the data types (it writes GLB through :mod:`r3d.io`), so it is
imported when a notebook asks for the view, never when the structures load: the one listed
upward import of tests/test_layers.py.
"""

from __future__ import annotations


class NotebookView:
    """Mixin: the interactive 3D viewer as the object's notebook (HTML) view."""

    def _repr_html_(self) -> str:
        from r3d.vis.notebook import repr_html

        return repr_html(self)
