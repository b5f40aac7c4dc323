"""``r3d render``: a YAML scene, or a mesh, point cloud or voxel grid file as a turntable, to
PNGs, a GIF and maps."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from r3d.errors import InputError

from .app import command, console, err_console, overwrite_option

SCENE_SUFFIXES = (".yaml", ".yml")


@command
def render(
    source: Path = typer.Argument(
        ..., help="A scene (.yaml), or a mesh file (OBJ, PLY, OFF, STL, GLB/glTF), point "
        "cloud file (PLY, OBJ or OFF without faces) or voxel grid file (binvox, npz) to turn "
        "around."
    ),
    out: Path = typer.Option(
        None, "--out", help="Output folder (default: the scene's outputs.dir; for a mesh, "
        "point cloud or voxel grid, ./render_<name>/). It must be missing or empty, or see "
        "--overwrite."
    ),
    overwrite: bool = overwrite_option(),
    views: int = typer.Option(
        None, "--views", min=1, help="Views of the turntable (default: the scene's; 8 for a "
        "file)."
    ),
    size: int = typer.Option(
        None, "--size", min=1, help="Image size in pixels, square (default: the scene's; 256)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: the scene's; cpu)."),
    up: str = typer.Option(
        None, "--up", help="The file's up axis: +y, -y, +z, -z, +x, -x or auto (what the "
        "format says: +y for all of them). The geometry is turned so that this axis points up "
        "(+Y), e.g. --up +z for a Z-up STL. For a scene, it replaces every mesh's and point "
        "cloud's up (default: the scene's; auto). Not for voxel grids (read +Y up)."
    ),
) -> None:
    """Render a scene described in YAML, or a mesh, point cloud or voxel grid file as a
    turntable (PNGs and a GIF); a file without faces is drawn as a point cloud, a voxel grid
    is ray marched."""
    from r3d.io import IO
    from r3d.io.utils import require_file
    from r3d.scene import load_scene, scene_for_file, with_overrides
    from r3d.scene.run import render_scene

    require_file(source)
    io = IO()
    files = sorted({*io.mesh_extensions, *io.pointcloud_extensions, *io.voxel_extensions})
    if source.suffix.lower() in SCENE_SUFFIXES:
        scene = load_scene(source)
    elif source.suffix.lower() in files:
        scene = scene_for_file(source, out=Path(f"render_{source.stem}"))
    else:
        raise InputError(
            f"{source}: r3d render takes a scene (.yaml) or a mesh, point cloud or voxel grid "
            f"file ({', '.join(files)}), got '{source.suffix or 'no extension'}'"
        )
    scene = with_overrides(scene, out=out, views=views, size=size, device=device, up=up)
    with Progress(
        TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as bar:
        task = bar.add_task("render", total=scene.cameras.num_views())
        summary = render_scene(scene, lambda done, _: bar.update(task, completed=done),
                               overwrite=overwrite, source=source)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(
        f"rendered {summary['views']} view(s) at {summary['image_size'][1]}x"
        f"{summary['image_size'][0]} in {summary['seconds']:.1f} s; wrote "
        f"{len(summary['files'])} file(s) to {scene.outputs.dir}", markup=False,
    )

