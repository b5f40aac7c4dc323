"""``r3d view``: meshes, point clouds and voxel grids in an interactive 3D viewer (one
self-contained HTML page, opened in the default browser)."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import typer

from r3d.errors import InputError

from .app import command, console

# r3d.vis.items' MAX_FACES and MAX_POINTS, spelt out so that `r3d --help` does not import torch
# (tests/test_cli_help.py keeps them equal)
MAX_FACES = 400_000
MAX_POINTS = 600_000


@command
def view(
    files: list[Path] = typer.Argument(
        ..., help="Mesh, point-cloud or voxel-grid files (OBJ, PLY, OFF, STL, GLB/glTF, binvox, "
        "npz, ...), drawn in one viewer."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Where to write the page (default: r3d-view.html in the "
        "current folder)."
    ),
    layout: str = typer.Option(
        "overlay", "--layout", help="overlay: the files where they are, in one frame; side: side "
        "by side."
    ),
    azimuth: float = typer.Option(30.0, "--azimuth", help="First camera's azimuth in degrees "
                                  "(PyTorch3D's: 0 looks from +z, 90 from +x)."),
    elevation: float = typer.Option(20.0, "--elevation", help="First camera's elevation in "
                                    "degrees."),
    max_faces: int = typer.Option(
        MAX_FACES, "--max-faces", min=1, help="Larger meshes are shown decimated (vertex "
        "clustering), with a note on the page."
    ),
    max_points: int = typer.Option(
        MAX_POINTS, "--max-points", min=1, help="Larger clouds are shown subsampled, with a note."
    ),
    isolevel: float = typer.Option(
        None, "--isolevel", help="Voxel grids are shown as this isosurface (default: the mean of "
        "the grid's smallest and largest value)."
    ),
    no_open: bool = typer.Option(False, "--no-open", help="Write the page without opening it."),
) -> None:
    """Write an interactive 3D viewer of the files as one HTML page (no network needed: the
    viewer and the geometry are inside it) and open it in the browser: orbit (left drag), pan
    (right drag), zoom (wheel); wireframe, normals, bounding box, axes and point size toggles;
    vertex, face and point counts."""
    from r3d.vis import file_items, viewer_page, write_html

    if layout not in ("overlay", "side"):
        raise InputError(f"--layout must be 'overlay' or 'side', got {layout!r}")
    items = []
    for path in files:
        items += file_items(path, max_faces=max_faces, max_points=max_points,
                            isolevel=isolevel)
    title = ", ".join(path.name for path in files)
    page = viewer_page(items, title, layout, (azimuth, elevation))
    out = out or Path("r3d-view.html")
    write_html(out, page)
    console.print(f"wrote {out} ({len(page.encode()) / 1e6:.1f} MB)", markup=False)
    for item in items:
        if item.note:
            console.print(f"{item.name}: {item.note}", style="yellow", markup=False)
    if not no_open:
        webbrowser.open(out.resolve().as_uri())
