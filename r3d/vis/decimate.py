"""Lighter geometry for display: vertex clustering of large meshes, subsampling of large clouds.

A browser draws a few hundred thousand triangles or points at interactive rates on any GPU (and
on a software rasteriser); the viewer shows larger inputs through these reductions, with a note
on the page giving the file's own counts.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cluster_mesh", "subsample"]


def _cluster_once(verts: np.ndarray, faces: np.ndarray, cells: int):
    """Vertex clustering on a grid of ``cells`` cells along the longest side of the box.

    Returns (cluster of each vertex (V,), number of clusters, faces (F', 3) into clusters
    with degenerate and repeated faces removed, first-kept order)."""
    lo = verts.min(axis=0)
    size = float((verts.max(axis=0) - lo).max()) or 1.0
    keys = np.floor((verts - lo) * (cells / size)).clip(0, cells).astype(np.int64)
    key = (keys[:, 0] * (cells + 1) + keys[:, 1]) * (cells + 1) + keys[:, 2]
    _, cluster = np.unique(key, return_inverse=True)
    cluster = cluster.reshape(-1)
    mapped = cluster[faces]
    keep = ((mapped[:, 0] != mapped[:, 1]) & (mapped[:, 1] != mapped[:, 2])
            & (mapped[:, 0] != mapped[:, 2]))
    mapped = mapped[keep]
    _, first = np.unique(np.sort(mapped, axis=1), axis=0, return_index=True)
    return cluster, int(cluster.max()) + 1, mapped[np.sort(first)]


def cluster_mesh(verts: np.ndarray, faces: np.ndarray, attributes: np.ndarray | None,
                 max_faces: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A mesh of at most ``max_faces`` faces by vertex clustering (cells merged into their mean
    vertex), the grid refined or coarsened until the count fits and is not zero (a grid so
    coarse that every face collapses is refined again; when no grid between an empty one and
    one over the limit is left, the latter's first ``max_faces`` faces are kept).

    Args:
        verts: (V, 3) float positions; faces: (F, 3) int indices, F > max_faces.
        attributes: (V, C) float per-vertex values averaged with the positions (colours), or
            None.
        max_faces: the most faces of the result (at least 1).
    Returns:
        (verts (V', 3), faces (F', 3) with F' <= max_faces, attributes (V', C) or None).
    """
    cells = max(int(np.sqrt(max_faces / 2.0)), 2)
    empty, over, over_result = 0, None, None  # the finest empty grid, the coarsest over-limit one
    for _ in range(12):
        result = _cluster_once(verts, faces, cells)
        n = result[2].shape[0]
        if 0 < n <= max_faces:
            break
        if n == 0:
            empty, cells = cells, cells + 1
        else:
            over, over_result = cells, result
            cells = max(int(cells * 0.95 * np.sqrt(max_faces / n)), empty + 1)
        if over is not None and over - empty <= 1:
            result = over_result
            break
        if over is not None:
            cells = min(cells, over - 1)
    cluster, count, reduced = result
    weights = np.bincount(cluster, minlength=count).astype(np.float64)[:, None]

    def mean(values: np.ndarray) -> np.ndarray:
        sums = np.zeros((count, values.shape[1]))
        np.add.at(sums, cluster, values)
        return sums / np.maximum(weights, 1)

    new_attributes = None if attributes is None else mean(attributes)
    return mean(verts), reduced[:max_faces], new_attributes


def subsample(count: int, max_count: int, seed: int = 0) -> np.ndarray:
    """Indices (max_count,) of a uniform random subset of ``range(count)``, in increasing order
    (the same for the same seed)."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=max_count, replace=False))
