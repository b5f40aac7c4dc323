"""``r3d info``: what is in mesh, point-cloud and voxel-grid files."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .app import command, console, titled


@command
def info(
    files: list[Path] = typer.Argument(
        ..., help="Mesh or point-cloud files (OBJ, PLY, OFF, STL, GLB/glTF; 3MF, COLLADA, zip, "
                  "XYZ through trimesh) or voxel grids (binvox, npz)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout instead of a table."),
) -> None:
    """Print vertices, faces, bounds, textures and watertightness of each mesh or cloud; dims,
    occupancy, bounds and value range of each voxel grid."""
    from r3d.io.summary import summarize_file

    summaries = [summarize_file(path) for path in files]
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    for summary in summaries:
        console.print(titled(summary["path"], _table(summary)))


def _table(summary: dict) -> Table:
    table = Table(show_header=False)
    table.add_column(style="bold cyan")
    table.add_column()
    for key, value in summary.items():
        if key == "path":
            continue
        if key == "bounds":
            value = "  ".join(
                f"{axis} [{lo:.4g}, {hi:.4g}]"
                for axis, lo, hi in zip("xyz", value["min"], value["max"])
            )
        elif key == "values":
            value = f"[{value[0]:.4g}, {value[1]:.4g}]"
        elif key == "dims":
            value = " x ".join(str(n) for n in value) + " (x, y, z)"
        elif isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        table.add_row(key.replace("_", " "), str(value))
    return table
