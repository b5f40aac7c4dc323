"""Point-to-mesh losses with PyTorch3D's semantics and weighting.

For a batch of N meshes and N point clouds, each direction is a weighted sum of squared
distances divided by N: every point's distance to the nearest face (or edge) of its mesh weighs
1 / (points in its cloud), every face's (or edge's) distance to the nearest point of its cloud
weighs 1 / (faces, or edges, of its mesh). The loss is the sum of the two directions.

Unlike PyTorch3D, which returns a huge finite value (a float's maximum, weighted) when one side
of a pair is empty, r3d raises InputError: the distance to an empty set is undefined. A pair
whose mesh has no faces and whose cloud has no points contributes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d._checks import check_float_points, check_same_device
from r3d.errors import InputError
from r3d.ops.point_mesh import DEFAULT_MIN_TRIANGLE_AREA, nearest_distance, nearest_distance_torch
from r3d.structures import Meshes, Pointclouds
from r3d.value_checks import checks_now, expect

Distance = Callable[..., torch.Tensor]  # nearest_distance or its twin


def point_mesh_face_distance(
    meshes: Meshes, pcls: Pointclouds, min_triangle_area: float = DEFAULT_MIN_TRIANGLE_AREA
) -> torch.Tensor:
    """Point-to-face plus face-to-point squared distance of N meshes and N point clouds.

    Args:
        meshes: N meshes (verts (V_i, 3), faces (F_i, 3)).
        pcls: N point clouds (points (P_i, 3)) of the dtype and device of the meshes.
        min_triangle_area: faces of smaller area count as their three edges (PyTorch3D's
            semantics: a point is only ever projected onto the plane of larger faces).
    Returns:
        () tensor, differentiable w.r.t. the vertices and the points.
    """
    return _loss(
        "point_mesh_face_distance", meshes, pcls, False, min_triangle_area, nearest_distance
    )


def point_mesh_edge_distance(meshes: Meshes, pcls: Pointclouds) -> torch.Tensor:
    """Point-to-edge plus edge-to-point squared distance of N meshes and N point clouds; the
    edges are ``meshes.edges_packed()`` (each undirected edge once).

    Args:
        meshes: N meshes; pcls: N point clouds of the same dtype and device.
    Returns:
        () tensor, differentiable w.r.t. the vertices and the points.
    """
    return _loss("point_mesh_edge_distance", meshes, pcls, True, 0.0, nearest_distance)


def point_mesh_face_distance_torch(
    meshes: Meshes, pcls: Pointclouds, min_triangle_area: float = DEFAULT_MIN_TRIANGLE_AREA
) -> torch.Tensor:
    """Pure-PyTorch :func:`point_mesh_face_distance` (any device; tests and benchmarks)."""
    return _loss(
        "point_mesh_face_distance", meshes, pcls, False, min_triangle_area,
        nearest_distance_torch,
    )


def point_mesh_edge_distance_torch(meshes: Meshes, pcls: Pointclouds) -> torch.Tensor:
    """Pure-PyTorch :func:`point_mesh_edge_distance` (any device; tests and benchmarks)."""
    return _loss("point_mesh_edge_distance", meshes, pcls, True, 0.0, nearest_distance_torch)


def _check_batch(op: str, meshes: Meshes, pcls: Pointclouds) -> None:
    """Raises InputError for arguments of the wrong type, unequal or empty batches, non-finite
    values, or mixed devices or dtypes."""
    if not isinstance(meshes, Meshes):
        raise InputError(f"{op}: meshes must be an r3d Meshes, got {type(meshes).__name__}")
    if not isinstance(pcls, Pointclouds):
        raise InputError(f"{op}: pcls must be an r3d Pointclouds, got {type(pcls).__name__}")
    if len(meshes) != len(pcls):
        raise InputError(
            f"{op}: meshes and pcls must be batches of equal size, got {len(meshes)} meshes and "
            f"{len(pcls)} point clouds"
        )
    if meshes.isempty():
        raise InputError(f"{op}: meshes is empty (no mesh has a face)")
    if pcls.isempty():
        raise InputError(f"{op}: pcls is empty (no cloud has a point)")
    verts, points = meshes.verts_packed(), pcls.points_packed()
    check_float_points(op, "meshes' verts", verts)
    check_float_points(op, "pcls' points", points)
    check_same_device(op, meshes=verts, pcls=points)
    if verts.dtype != points.dtype:
        raise InputError(
            f"{op}: meshes and pcls must have one dtype, got {verts.dtype} and {points.dtype}"
        )


def _check_pairs(op: str, num_points: torch.Tensor, counts: torch.Tensor, what: str) -> None:
    """Raises InputError naming the first pair with points and no primitives or the reverse
    (deferred, without the name, where values are not read at once)."""
    lonely = (num_points == 0) != (counts == 0)
    if not checks_now(lonely):
        expect(op, ~lonely.any(), f"a cloud with points is paired with a mesh without {what} "
               "or the reverse; the distance to an empty set is undefined")
        return
    lonely = lonely.nonzero()
    if lonely.numel():
        i = int(lonely[0])
        raise InputError(
            f"{op}: pcls[{i}] has {int(num_points[i])} points and meshes[{i}] has "
            f"{int(counts[i])} {what}; the distance to an empty set is undefined"
        )


def _loss(
    op: str, meshes: Meshes, pcls: Pointclouds, edges: bool, min_area: float, distance: Distance
) -> torch.Tensor:
    _check_batch(op, meshes, pcls)
    if edges:
        corners, prims_first = meshes.edges_packed(), meshes.mesh_to_edges_packed_first_idx()
        prim_to_mesh, counts = meshes.edges_packed_to_mesh_idx(), meshes.num_edges_per_mesh()
    else:
        corners, prims_first = meshes.faces_packed(), meshes.mesh_to_faces_packed_first_idx()
        prim_to_mesh, counts = meshes.faces_packed_to_mesh_idx(), meshes.num_faces_per_mesh()
    num_points = pcls.num_points_per_cloud()
    _check_pairs(op, num_points, counts, "edges" if edges else "faces")
    points, points_first = pcls.points_packed(), pcls.cloud_to_packed_first_idx()
    prims = meshes.verts_packed()[corners]
    to_prims = distance(points, points_first, prims, prims_first, True, min_area)
    to_points = distance(points, points_first, prims, prims_first, False, min_area)
    point_weights = 1.0 / num_points[pcls.packed_to_cloud_idx()].to(points.dtype)
    prim_weights = 1.0 / counts[prim_to_mesh].to(points.dtype)
    return ((to_prims * point_weights).sum() + (to_points * prim_weights).sum()) / len(meshes)
