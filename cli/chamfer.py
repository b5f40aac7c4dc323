"""``r3d chamfer``: chamfer distance, normal consistency and F-score between pairs of files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.table import Table

from r3d.errors import InputError

from .app import command, console, titled

# r3d.runs.surface's SAMPLES and SEED, spelt out so that `r3d --help` does not import torch
# (tests/test_cli_help.py keeps them equal)
SAMPLES = 10000
SEED = 0


@command
def chamfer(
    files: list[Path] = typer.Argument(
        ..., help="Files compared in pairs: A B [C D ...]. Meshes are sampled, point clouds "
        "(PLY/OBJ/OFF without faces) used as they are."
    ),
    samples: int = typer.Option(
        SAMPLES, "--samples", min=1, help="Points sampled on each mesh's surface."
    ),
    seed: int = typer.Option(
        SEED, "--seed", help="Seed of the sampling (each mesh is sampled with a generator seeded "
        "with it, so identical meshes give identical points)."
    ),
    normals: bool = typer.Option(
        False, "--normals", help="Also report normal consistency (point clouds need normals)."
    ),
    tau: float = typer.Option(
        None, "--tau", help="Also report the F-score at this distance threshold."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout instead of tables."),
    device: str = typer.Option("cpu", "--device", help="Where to compute: cpu or cuda."),
) -> None:
    """Compare files in pairs: chamfer distance both ways, optionally normal consistency and
    F-score.

    chamfer A->B is the mean over A's points of the squared distance to the nearest point of B
    (PyTorch3D's chamfer_distance terms); "mean distance" is the mean of the plain distances.
    """
    from r3d.runs.devices import resolve_device
    from r3d.runs.surface import compare, load_points

    if len(files) % 2:
        raise InputError(
            f"chamfer: files are compared in pairs (A B [C D ...]), got {len(files)} files; "
            f"'{files[-1]}' has no partner"
        )
    if tau is not None and not (math.isfinite(tau) and tau > 0):
        raise InputError(f"--tau must be a positive distance, got {tau}")
    dev = resolve_device(device)
    results = []
    for a, b in zip(files[::2], files[1::2]):
        cloud_a = load_points(a, samples, seed, normals, dev)
        cloud_b = load_points(b, samples, seed, normals, dev)
        results.append({"a": str(a), "b": str(b), **compare(cloud_a, cloud_b, normals, tau)})
    if as_json:
        typer.echo(json.dumps(results, indent=2))
        return
    for result in results:
        console.print(titled(f"A = {result['a']}\nB = {result['b']}", _table(result)))


_LABELS = {
    "points_a": "points A",
    "points_b": "points B",
    "chamfer_a_to_b": "chamfer A→B (mean sq. dist.)",
    "chamfer_b_to_a": "chamfer B→A (mean sq. dist.)",
    "chamfer": "chamfer (sum)",
    "mean_distance_a_to_b": "mean distance A→B",
    "mean_distance_b_to_a": "mean distance B→A",
    "normal_consistency": "normal consistency",
    "tau": "tau",
    "precision": "precision (A within tau of B)",
    "recall": "recall (B within tau of A)",
    "fscore": "F-score",
}


def _table(result: dict) -> Table:
    table = Table(show_header=False)
    table.add_column(style="bold cyan")
    table.add_column(justify="right")
    for key, label in _LABELS.items():
        if key in result:
            value = result[key]
            table.add_row(label, str(value) if isinstance(value, int) else f"{value:.6g}")
    return table
