"""The viewer in notebooks and from Python: ``_repr_html_`` of the data types and
:func:`show` (3D data, files and rendered images).

A notebook cell's output is an ``<iframe srcdoc>`` holding a whole viewer page, so every
output is self-contained (no network, no script shared between cells) and survives being
saved with the notebook.
"""

from __future__ import annotations

import os
import tempfile
import webbrowser
from pathlib import Path

import numpy as np
import torch

from r3d.errors import InputError
from r3d.structures import Meshes, Pointclouds, Volumes
from r3d.vis.items import ViewItem, file_items, items_of
from r3d.vis.page import VIEW, text, viewer_page, write_html
from r3d.vis.report import Report

__all__ = ["iframe", "repr_html", "show", "view_items"]


def view_items(*data, names=None) -> list[ViewItem]:
    """The items of each argument: a Meshes, Pointclouds or Volumes batch (one item per
    member), or a file path (mesh, point cloud or voxel grid). ``names`` names the items of a
    single batch argument."""
    if not data:
        raise InputError("show: give at least one Meshes, Pointclouds, Volumes, file path or "
                         "image tensor")
    items = []
    for value in data:
        if isinstance(value, (str, os.PathLike)):
            items += file_items(value)
        elif isinstance(value, (Meshes, Pointclouds, Volumes)):
            items += items_of(value, names if len(data) == 1 else None)
        else:
            raise InputError(f"show: cannot show a {type(value).__name__}; give Meshes, "
                             f"Pointclouds, Volumes, a file path or an image tensor")
    return items


def iframe(page: str, height: int = 520) -> str:
    """An ``<iframe>`` whose document is ``page`` (for notebook outputs)."""
    return (f'<iframe srcdoc="{text(page)}" style="width:100%;height:{int(height)}px;'
            f'border:0" sandbox="allow-scripts"></iframe>')


def repr_html(data) -> str:
    """The notebook view of a Meshes, Pointclouds or Volumes (their ``_repr_html_``)."""
    return iframe(viewer_page(items_of(data), type(data).__name__))


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


def _image_list(images: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """(caption, (H, W, C) float array) of each image of an (N, H, W, C) or (H, W, C) render
    (C 1, 3 or 4: grey, RGB, RGBA)."""
    batch = images.detach().float().cpu()
    if batch.dim() == 3:
        batch = batch[None]
    if batch.dim() != 4 or batch.shape[-1] not in (1, 3, 4):
        raise InputError(f"show: images must be (N, H, W, C) or (H, W, C) with C 1, 3 or 4, "
                         f"got shape {tuple(images.shape)}")
    return [(f"image {i}", batch[i].numpy()) for i in range(batch.shape[0])]


def show(*data, names=None, layout: str = "overlay", view: tuple[float, float] = VIEW,
         out=None, open_browser: bool = True, title: str = "r3d view"):
    """Shows meshes, point clouds, volumes, files or rendered images.

    In a notebook the page is displayed inline; elsewhere it is written to ``out`` (default: a
    new file in the temporary folder) and opened in the default browser.

    Args:
        data: Meshes / Pointclouds / Volumes batches or file paths, drawn together in the 3D
            viewer; image tensors (a renderer's output, (N, H, W, C) or (H, W, C), values in
            [0, 1]) shown as a grid of images.
        names: names of the items of a single batch.
        layout: "overlay" (items where they are) or "side" (side by side).
        view: the first camera's (azimuth, elevation) in degrees (PyTorch3D's convention).
        out: where to write the page (outside notebooks).
        open_browser: open the written page.
    Returns:
        None in a notebook, else the Path of the written page.
    """
    if layout not in ("overlay", "side"):
        raise InputError(f"show: layout must be 'overlay' or 'side', got {layout!r}")
    images = [d for d in data if isinstance(d, torch.Tensor)]
    shapes = [d for d in data if not isinstance(d, torch.Tensor)]
    if images:
        report = Report(title)
        report.images([pair for batch in images for pair in _image_list(batch)])
        if shapes:
            report.viewer(view_items(*shapes, names=names), layout, view)
        page = report.html()
    else:
        page = viewer_page(view_items(*shapes, names=names), title, layout, view)
    if out is None and _in_notebook():
        from IPython.display import HTML, display

        display(HTML(iframe(page)))
        return None
    if out is None:
        handle, name = tempfile.mkstemp(prefix="r3d-view-", suffix=".html")
        os.close(handle)
        out = name
    path = Path(out)
    write_html(path, page)
    if open_browser:
        webbrowser.open(path.resolve().as_uri())
    return path
