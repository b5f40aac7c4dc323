"""Comparing surfaces given as files: the points of a mesh or point cloud file, Chamfer terms
both ways, normal consistency and F-scores. ``r3d chamfer`` and the surface scores of
``r3d fit`` (:func:`r3d.runs.metrics.surface_scores`) are this one computation, so that a fit's
``metrics.json`` is what ``r3d chamfer GT fit.obj`` gives on the files it wrote."""

from __future__ import annotations

import os

import torch

from r3d.errors import InputError
from r3d.io import IO
from r3d.loss import chamfer_distance
from r3d.ops import sample_points_from_meshes

__all__ = ["SAMPLES", "SEED", "compare", "load_points"]

SAMPLES = 10000  # points sampled on each mesh's surface
SEED = 0  # seed of each mesh's sampling

Cloud = tuple[torch.Tensor, torch.Tensor | None]  # points (P, 3), normals (P, 3) or None


def load_points(path: str | os.PathLike, samples: int = SAMPLES, seed: int = SEED,
                with_normals: bool = False, device: torch.device | str = "cpu") -> Cloud:
    """Points (P, 3) of a file, and their normals (P, 3) when ``with_normals`` (else None).

    Meshes are sampled (``samples`` points, a generator seeded with ``seed``, so identical
    meshes give identical points); point clouds are used as they are. InputError names the
    file when normals are asked of a cloud without them.
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


def compare(a: Cloud, b: Cloud, with_normals: bool = False, tau: float | None = None) -> dict:
    """Chamfer terms both ways between clouds a and b, each (points (P, 3), normals or None).

    Returns:
        A JSON-ready dict: points_a, points_b, chamfer_a_to_b, chamfer_b_to_a (mean squared
        nearest-neighbour distances), chamfer (their sum, PyTorch3D's ``chamfer_distance``),
        mean_distance_a_to_b, mean_distance_b_to_a; normal_consistency (mean |cos| of the
        angle between a point's normal and its nearest neighbour's, both ways averaged) with
        normals; tau, precision (share of a's points within tau of b), recall (the converse)
        and fscore with tau.
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
