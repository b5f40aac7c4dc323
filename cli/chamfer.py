"""``r3d chamfer``: chamfer distance, normal consistency and F-score between pairs of files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch
import typer
from rich.table import Table

from r3d.errors import InputError
from r3d.io import IO
from r3d.loss import chamfer_distance
from r3d.ops import sample_points_from_meshes
from r3d.runs.devices import resolve_device

from .app import command, console


@command
def chamfer(
    files: list[Path] = typer.Argument(
        ..., help="Files compared in pairs: A B [C D ...]. Meshes are sampled, point clouds "
        "(PLY/OBJ/OFF without faces) used as they are."
    ),
    samples: int = typer.Option(
        10000, "--samples", min=1, help="Points sampled on each mesh's surface."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the sampling (each mesh is sampled with a generator seeded "
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
        console.print(_table(result))


def load_points(
    path: str | os.PathLike, samples: int, seed: int, with_normals: bool, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Points (P, 3) of a file, and their normals (P, 3) when ``with_normals`` (else None).

    Meshes are sampled (``samples`` points, a generator seeded with ``seed``); point clouds are
    used as they are. InputError names the file when normals are asked of a cloud without them.
    """
    io = IO()
    if io.file_has_faces(path):
        mesh = io.load_mesh(path, include_textures=False, device=device)
        generator = torch.Generator(device=device).manual_seed(seed)
        points, normals = sample_points_from_meshes(
            mesh, samples, return_normals=True, generator=generator
        )
        return points[0], (normals[0] if with_normals else None)
    cloud = io.load_pointcloud(path, device=device)
    if with_normals and cloud.normals_packed() is None:
        raise InputError(f"{os.fspath(path)}: --normals needs normals, and this point cloud "
                         "has none")
    return cloud.points_packed(), (cloud.normals_packed() if with_normals else None)


def compare(
    a: tuple[torch.Tensor, torch.Tensor | None],
    b: tuple[torch.Tensor, torch.Tensor | None],
    with_normals: bool,
    tau: float | None,
) -> dict:
    """Chamfer terms both ways between clouds a and b, each (points (P, 3), normals or None).

    Returns:
        A JSON-ready dict: points_a, points_b, chamfer_a_to_b, chamfer_b_to_a (mean squared
        nearest-neighbour distances), chamfer (their sum), mean_distance_a_to_b,
        mean_distance_b_to_a; normal_consistency (mean |cos| of the angle between a point's
        normal and its nearest neighbour's, both ways averaged) with normals; tau, precision
        (share of a's points within tau of b), recall (the converse) and fscore with tau.
    """
    (points_a, normals_a), (points_b, normals_b) = a, b
    (sq_ab, sq_ba), cos_terms = chamfer_distance(
        points_a[None], points_b[None],
        x_normals=None if normals_a is None else normals_a[None],
        y_normals=None if normals_b is None else normals_b[None],
        batch_reduction=None, point_reduction=None,
    )
    sq_ab, sq_ba = sq_ab[0], sq_ba[0]
    out = {
        "points_a": int(points_a.shape[0]),
        "points_b": int(points_b.shape[0]),
        "chamfer_a_to_b": _mean(sq_ab),
        "chamfer_b_to_a": _mean(sq_ba),
        "mean_distance_a_to_b": _mean(sq_ab.sqrt()),
        "mean_distance_b_to_a": _mean(sq_ba.sqrt()),
    }
    out["chamfer"] = out["chamfer_a_to_b"] + out["chamfer_b_to_a"]
    if with_normals:
        out["normal_consistency"] = 1 - (_mean(cos_terms[0][0]) + _mean(cos_terms[1][0])) / 2
    if tau is not None:
        precision = _mean((sq_ab <= tau * tau).double())
        recall = _mean((sq_ba <= tau * tau).double())
        total = precision + recall
        out.update(tau=tau, precision=precision, recall=recall,
                   fscore=2 * precision * recall / total if total else 0.0)
    return out


def _mean(t: torch.Tensor) -> float:
    """Mean of a 1-D tensor as a float (0 when empty)."""
    return float(t.double().mean()) if t.numel() else 0.0


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
    table = Table(title=f"A = {result['a']}\nB = {result['b']}", show_header=False,
                  title_justify="left")
    table.add_column(style="bold cyan")
    table.add_column(justify="right")
    for key, label in _LABELS.items():
        if key in result:
            value = result[key]
            table.add_row(label, str(value) if isinstance(value, int) else f"{value:.6g}")
    return table
