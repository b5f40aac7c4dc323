"""``r3d dataset``: make datasets on disk (``r3d dataset make``: procedural shapes)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .app import app, command, console, err_console

# r3d.datasets.procedural.FAMILIES, spelt out so that `r3d --help` does not import torch
# (tests/test_cli_help.py keeps them equal)
FAMILIES = ("chair", "table", "lamp", "mug", "airplane")

dataset_app = typer.Typer(
    name="dataset", help="Make datasets of shapes with their rendered views.",
    no_args_is_help=True,
)
app.add_typer(dataset_app, name="dataset")


@command(name="make", group=dataset_app)
def make(
    out: Path = typer.Argument(..., help="The dataset folder (created when missing)."),
    families: str = typer.Option(
        ",".join(FAMILIES), "--families", help="Comma-separated families: "
        f"{', '.join(FAMILIES)}."
    ),
    shapes_per_family: int = typer.Option(
        20, "--shapes-per-family", min=1, help="Shapes of each family."
    ),
    views: int = typer.Option(8, "--views", min=1, help="Views rendered per shape."),
    size: int = typer.Option(64, "--size", min=8, help="Image size in pixels (square)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of every random draw."),
    force: bool = typer.Option(
        False, "--force", help="Regenerate every shape, also over a dataset made with other "
        "parameters or in a non-empty folder."
    ),
    device: str = typer.Option("cpu", "--device", help="Render on cpu or cuda."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Make a dataset of procedural shapes: chairs, tables, lamps, mugs, airplanes.

    For each shape a coloured mesh.obj and rendered views (RGBA, depth, cameras.json), with
    train/val/test splits by shape. Seeded, and cached: a rerun with the same parameters
    returns at once.
    """
    from r3d.datasets.procedural import make_dataset

    names = [name.strip() for name in families.split(",") if name.strip()]
    with Progress(
        TextColumn("shapes"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=err_console, transient=True,
    ) as bar:
        task = bar.add_task("shapes", total=None)
        summary = make_dataset(
            out, families=names, shapes_per_family=shapes_per_family, views=views,
            image_size=size, seed=seed, force=force, device=device,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    counts = summary["splits"]
    what = "already complete" if summary["cached"] else \
        f"made {summary['generated']} shape(s) in {summary['seconds']:.1f} s"
    console.print(
        f"{summary['out']}: {summary['shapes']} shapes of {', '.join(summary['families'])} "
        f"({summary['views']} views at {summary['image_size']} px), {what}; splits: "
        f"{counts['train']} train, {counts['val']} val, {counts['test']} test",
        soft_wrap=True, highlight=False, markup=False,
    )
