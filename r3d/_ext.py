"""The only bridge between tensors and the native module ``r3d._C``.

Each function here checks every tensor it is given (dtype, device, contiguity, shape and, for
index tensors, the range of the values) before it passes raw pointers to a launcher, so no input
can make a kernel read or write out of bounds. Outputs are allocated here, never in C++.
Nothing else in r3d calls ``data_ptr()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r3d._checks import check_k_norm, segment_lengths
from r3d._checks import check_range as _check_range
from r3d.errors import InputError, NativeError

try:
    from r3d import _C
except ImportError as exc:  # pragma: no cover - only when the build is broken
    _C = None
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

FLOAT_DTYPES = (torch.float32, torch.float64)
_DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64"}


def has_native(device: torch.device, dtype: torch.dtype | None = None) -> bool:
    """Whether a native launcher exists for tensors on ``device`` (and of ``dtype``, if given)."""
    if _C is None or (dtype is not None and dtype not in FLOAT_DTYPES):
        return False
    if device.type == "cpu":
        return True
    return device.type == "cuda" and bool(_C.with_cuda)


def built_with_cuda() -> bool:
    """Whether the native module was compiled with its CUDA launchers."""
    return _C is not None and bool(_C.with_cuda)


def _module():
    if _C is None:
        raise NativeError(f"r3d's native module failed to import: {_IMPORT_ERROR}")
    return _C


def _check_device(op: str, name: str, t: torch.Tensor, device: torch.device) -> None:
    if t.device != device:
        raise InputError(f"{op}: {name} must be on {device} like the other inputs, got {t.device}")


def _check(
    op: str,
    name: str,
    t: torch.Tensor,
    dtype: torch.dtype,
    shape: Sequence[int | None],
    device: torch.device,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> None:
    """Checks type, dtype, device, contiguity (in ``memory_format``) and shape (None in ``shape``
    matches any size)."""
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype != dtype:
        raise InputError(f"{op}: {name} must have dtype {dtype}, got {t.dtype}")
    _check_device(op, name, t, device)
    if t.dim() != len(shape) or any(s not in (None, n) for s, n in zip(shape, t.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"{op}: {name} must have shape {want}, got {tuple(t.shape)}")
    if not t.is_contiguous(memory_format=memory_format):
        layout = "" if memory_format == torch.contiguous_format else f" in {memory_format}"
        raise InputError(f"{op}: {name} must be contiguous{layout} (call .contiguous() first)")


def _check_float(op: str, name: str, t: torch.Tensor, shape) -> None:
    """Like _check for the first float32/float64 input of a call, whose device and dtype the
    other inputs must share; also checks that a native launcher exists for that device."""
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in FLOAT_DTYPES:
        raise InputError(f"{op}: {name} must be float32 or float64, got {t.dtype}")
    if not has_native(t.device):
        raise NativeError(f"{op}: no native kernel for device {t.device}")
    _check(op, name, t, t.dtype, shape, t.device)


def _launch(name: str, device: torch.device, *args) -> None:
    """Calls ``<name>_cpu`` with the thread count or ``<name>_cuda`` with the current stream."""
    C = _module()
    if device.type == "cpu":
        getattr(C, name + "_cpu")(*args, torch.get_num_threads())
    elif device.type == "cuda" and C.with_cuda:
        C.cuda_set_device(device.index if device.index is not None else 0)
        getattr(C, name + "_cuda")(*args, torch.cuda.current_stream(device).cuda_stream)
    else:
        raise NativeError(f"{name}: no native launcher for device {device}")


def _ptr(t: torch.Tensor) -> int:
    return t.data_ptr()


def face_areas_normals_forward(
    verts: torch.Tensor, faces: torch.Tensor, eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native forward of mesh_face_areas_normals.

    Args:
        verts: (V, 3) float32/float64, contiguous.
        faces: (F, 3) int64 with values in [0, V), contiguous, same device.
    Returns:
        areas (F,) and normals (F, 3), both of verts' dtype.
    """
    op = "mesh_face_areas_normals"
    _check_float(op, "verts", verts, (None, 3))
    _check(op, "faces", faces, torch.int64, (None, 3), verts.device)
    _check_range(op, "faces", faces, 0, verts.shape[0])
    num_faces = faces.shape[0]
    areas = verts.new_empty((num_faces,))
    normals = verts.new_empty((num_faces, 3))
    _launch(
        "face_areas_normals_forward", verts.device, _DTYPE_NAMES[verts.dtype], _ptr(verts),
        _ptr(faces), num_faces, _ptr(areas), _ptr(normals), eps,
    )
    return areas, normals


def face_areas_normals_backward(
    verts: torch.Tensor,
    faces: torch.Tensor,
    grad_areas: torch.Tensor,
    grad_normals: torch.Tensor,
    eps: float,
) -> torch.Tensor:
    """Native backward of mesh_face_areas_normals.

    Args:
        verts: (V, 3), faces: (F, 3) as in the forward.
        grad_areas: (F,) and grad_normals: (F, 3), of verts' dtype.
    Returns:
        grad_corners (F, 3, 3): the gradient w.r.t. each face's three corner positions.
    """
    op = "mesh_face_areas_normals backward"
    _check_float(op, "verts", verts, (None, 3))
    _check(op, "faces", faces, torch.int64, (None, 3), verts.device)
    _check_range(op, "faces", faces, 0, verts.shape[0])
    num_faces = faces.shape[0]
    _check(op, "grad_areas", grad_areas, verts.dtype, (num_faces,), verts.device)
    _check(op, "grad_normals", grad_normals, verts.dtype, (num_faces, 3), verts.device)
    grad_corners = verts.new_empty((num_faces, 3, 3))
    _launch(
        "face_areas_normals_backward", verts.device, _DTYPE_NAMES[verts.dtype], _ptr(verts),
        _ptr(faces), num_faces, _ptr(grad_areas), _ptr(grad_normals), _ptr(grad_corners), eps,
    )
    return grad_corners


def _check_first_idxs(
    op: str, first_idxs: torch.Tensor, device: torch.device, num_packed: int, max_size: int
) -> None:
    _check(op, "first_idxs", first_idxs, torch.int64, (None,), device)
    segment_lengths(op, first_idxs, num_packed, max_size)


def packed_to_padded(
    inputs: torch.Tensor, first_idxs: torch.Tensor, max_size: int, fill: float = 0.0
) -> torch.Tensor:
    """Native packed -> padded copy.

    Args:
        inputs: (P, D) float32/float64, contiguous.
        first_idxs: (N,) int64, start of each segment in ``inputs``.
        max_size: padded length M, at least the longest segment.
        fill: value written past each segment's end.
    Returns:
        (N, M, D) tensor.
    """
    op = "packed_to_padded"
    _check_float(op, "inputs", inputs, (None, None))
    _check_first_idxs(op, first_idxs, inputs.device, inputs.shape[0], max_size)
    num_batches, dim = first_idxs.shape[0], inputs.shape[1]
    out = inputs.new_empty((num_batches, max_size, dim))
    _launch(
        "packed_padded", inputs.device, _DTYPE_NAMES[inputs.dtype], _ptr(inputs), _ptr(out),
        _ptr(first_idxs), num_batches, max_size, inputs.shape[0], dim, True, fill,
    )
    return out


def padded_to_packed(
    inputs: torch.Tensor, first_idxs: torch.Tensor, num_inputs: int
) -> torch.Tensor:
    """Native padded -> packed copy.

    Args:
        inputs: (N, M, D) float32/float64, contiguous.
        first_idxs: (N,) int64, start of each segment in the packed output.
        num_inputs: P, the number of packed rows.
    Returns:
        (P, D) tensor.
    """
    op = "padded_to_packed"
    _check_float(op, "inputs", inputs, (None, None, None))
    _check(op, "first_idxs", first_idxs, torch.int64, (inputs.shape[0],), inputs.device)
    _check_first_idxs(op, first_idxs, inputs.device, num_inputs, inputs.shape[1])
    num_batches, max_size, dim = inputs.shape
    out = inputs.new_empty((num_inputs, dim))
    _launch(
        "packed_padded", inputs.device, _DTYPE_NAMES[inputs.dtype], _ptr(inputs), _ptr(out),
        _ptr(first_idxs), num_batches, max_size, num_inputs, dim, False, 0.0,
    )
    return out


def _check_point_mesh(
    op: str, points: torch.Tensor, prims: torch.Tensor
) -> tuple[int, int, int]:
    """Checks points (P, 3) and prims (S, K, 3) with K in (2, 3); returns P, S and K."""
    _check_float(op, "points", points, (None, 3))
    _check(op, "prims", prims, points.dtype, (None, None, 3), points.device)
    if prims.shape[1] not in (2, 3):
        raise InputError(
            f"{op}: prims must have shape (S, 3, 3) (triangles) or (S, 2, 3) (segments), "
            f"got {tuple(prims.shape)}"
        )
    return points.shape[0], prims.shape[0], prims.shape[1]


def point_mesh_forward(
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    prims: torch.Tensor,
    prims_first_idx: torch.Tensor,
    min_area: float,
    point_queries: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native nearest-primitive search (point_queries) or nearest-point search (otherwise).

    Args:
        points: (P, 3) float32/float64, contiguous.
        points_first_idx: (N,) int64, first point of each batch item.
        prims: (S, K, 3) of points' dtype: triangles (K = 3) or segments (K = 2).
        prims_first_idx: (N,) int64, first primitive of each batch item.
        min_area: triangles of smaller area count as their three edges.
        point_queries: True to match every point with a primitive, False the other way round.
    Returns:
        dists (Q,) squared distances and idx (Q,) int64 packed indices of the matches, Q being
        P or S; +inf and -1 where the item has nothing to match with.
    """
    op = "point_mesh distance"
    num_points, num_prims, corners = _check_point_mesh(op, points, prims)
    _check(op, "points_first_idx", points_first_idx, torch.int64, (None,), points.device)
    num_items = points_first_idx.shape[0]
    _check(op, "prims_first_idx", prims_first_idx, torch.int64, (num_items,), points.device)
    segment_lengths(op, points_first_idx, num_points, num_points, "points_first_idx")
    segment_lengths(op, prims_first_idx, num_prims, num_prims, "prims_first_idx")
    num_queries = num_points if point_queries else num_prims
    dists = points.new_empty((num_queries,))
    idx = torch.empty((num_queries,), dtype=torch.int64, device=points.device)
    if num_queries:
        _launch(
            "point_mesh_forward", points.device, _DTYPE_NAMES[points.dtype], _ptr(points),
            _ptr(points_first_idx), num_points, _ptr(prims), _ptr(prims_first_idx), num_prims,
            num_items, min_area, _ptr(dists), _ptr(idx), corners, point_queries,
        )
    return dists, idx


def point_mesh_backward(
    points: torch.Tensor,
    prims: torch.Tensor,
    idx: torch.Tensor,
    grad_dists: torch.Tensor,
    min_area: float,
    point_queries: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward of :func:`point_mesh_forward`.

    Args:
        points: (P, 3), prims: (S, K, 3), min_area, point_queries: as in the forward.
        idx: (Q,) int64, the forward's matches in [-1, S) or [-1, P).
        grad_dists: (Q,) of points' dtype.
    Returns:
        grad_points (Q, 3) and grad_prims (Q, K, 3): the gradient w.r.t. the point and the
        corners of each query's pair (zero where idx is -1), to be scattered by the caller.
    """
    op = "point_mesh distance backward"
    num_points, num_prims, corners = _check_point_mesh(op, points, prims)
    num_queries, num_matches = (num_points, num_prims) if point_queries else (num_prims, num_points)
    _check(op, "idx", idx, torch.int64, (num_queries,), points.device)
    _check_range(op, "idx", idx, -1, num_matches)
    _check(op, "grad_dists", grad_dists, points.dtype, (num_queries,), points.device)
    grad_points = points.new_empty((num_queries, 3))
    grad_prims = points.new_empty((num_queries, corners, 3))
    if num_queries:
        _launch(
            "point_mesh_backward", points.device, _DTYPE_NAMES[points.dtype], _ptr(points),
            _ptr(prims), _ptr(idx), _ptr(grad_dists), min_area, _ptr(grad_points),
            _ptr(grad_prims), num_queries, corners, point_queries,
        )
    return grad_points, grad_prims


def cuda_device_count() -> int:
    """CUDA devices usable by r3d's own runtime (0 when built without CUDA or none present)."""
    return _module().cuda_device_count() if built_with_cuda() else 0


def _check_knn_inputs(
    op: str, p1: torch.Tensor, p2: torch.Tensor, lengths1: torch.Tensor, lengths2: torch.Tensor
) -> tuple[int, int, int, int]:
    """Checks the clouds and lengths of a KNN call; returns (N, P1, P2, D)."""
    _check_float(op, "p1", p1, (None, None, None))
    N, P1, D = p1.shape
    _check(op, "p2", p2, p1.dtype, (N, None, D), p1.device)
    P2 = p2.shape[1]
    _check(op, "lengths1", lengths1, torch.int64, (N,), p1.device)
    _check(op, "lengths2", lengths2, torch.int64, (N,), p1.device)
    _check_range(op, "lengths1", lengths1, 0, P1 + 1)
    _check_range(op, "lengths2", lengths2, 0, P2 + 1)
    return N, P1, P2, D


def knn_points_forward(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor,
    lengths2: torch.Tensor,
    K: int,
    norm: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native KNN search.

    Args:
        p1: (N, P1, D) and p2: (N, P2, D) float32/float64, contiguous, same device.
        lengths1, lengths2: (N,) int64 in [0, P1] / [0, P2].
        K: neighbours per query (>= 1); norm: 2 (squared L2) or 1 (L1).
    Returns:
        dists (N, P1, K) of p1's dtype and idx (N, P1, K) int64, nearest first, zeros in the
        slots without a neighbour.
    """
    op = "knn_points"
    N, P1, P2, D = _check_knn_inputs(op, p1, p2, lengths1, lengths2)
    check_k_norm(op, K, norm)
    dists = p1.new_empty((N, P1, K))
    idx = torch.empty((N, P1, K), dtype=torch.int64, device=p1.device)
    _launch(
        "knn_forward", p1.device, _DTYPE_NAMES[p1.dtype], _ptr(p1), _ptr(p2), _ptr(lengths1),
        _ptr(lengths2), (N, P1, P2, D, K, norm), _ptr(dists), _ptr(idx),
    )
    return dists, idx


def knn_points_backward(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor,
    lengths2: torch.Tensor,
    idx: torch.Tensor,
    grad_dists: torch.Tensor,
    norm: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward of the KNN distances.

    Args:
        p1, p2, lengths1, lengths2: as in the forward.
        idx: (N, P1, K) int64 from the forward; grad_dists: (N, P1, K) of p1's dtype.
    Returns:
        grad_p1 (N, P1, D) and grad_pairs (N, P1, K, D), the gradient w.r.t. each neighbour,
        for the caller to scatter onto p2.
    """
    op = "knn_points backward"
    N, P1, P2, D = _check_knn_inputs(op, p1, p2, lengths1, lengths2)
    _check(op, "idx", idx, torch.int64, (N, P1, None), p1.device)
    K = idx.shape[2]
    check_k_norm(op, K, norm)
    _check_range(op, "idx", idx, 0, max(P2, 1))
    _check(op, "grad_dists", grad_dists, p1.dtype, (N, P1, K), p1.device)
    grad_p1 = p1.new_empty((N, P1, D))
    grad_pairs = p1.new_empty((N, P1, K, D))
    _launch(
        "knn_backward", p1.device, _DTYPE_NAMES[p1.dtype], _ptr(p1), _ptr(p2), _ptr(lengths1),
        _ptr(lengths2), _ptr(idx), _ptr(grad_dists), (N, P1, P2, D, K, norm), _ptr(grad_p1),
        _ptr(grad_pairs),
    )
    return grad_p1, grad_pairs


def _check_raster_settings(op: str, settings: tuple) -> tuple:
    """Checks the (N, H, W, K, blur_radius, perspective_correct, clip_barycentric_coords,
    cull_backfaces) tuple of a rasterize_meshes call."""
    if not isinstance(settings, tuple) or len(settings) != 8:
        raise InputError(f"{op}: settings must be a tuple of 8 values, got {settings!r}")
    N, H, W, K, blur_radius = settings[:5]
    if min(N, H, W) < 0 or K < 1 or not blur_radius >= 0:
        raise InputError(
            f"{op}: settings must have N, H, W >= 0, K >= 1 and blur_radius >= 0, got {settings}"
        )
    return settings


def rasterize_meshes_forward(
    face_verts: torch.Tensor,
    mesh_to_face_first_idx: torch.Tensor,
    num_faces_per_mesh: torch.Tensor,
    settings: tuple,
    bin_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native mesh rasterisation.

    Args:
        face_verts: (F, 3, 3) float32/float64 packed face corners (NDC x, y; view depth z),
            all finite.
        mesh_to_face_first_idx, num_faces_per_mesh: (N,) int64: mesh n's faces are
            [first[n], first[n] + num[n]), within [0, F].
        settings: (N, H, W, K, blur_radius, perspective_correct, clip_barycentric_coords,
            cull_backfaces).
        bin_size: side of the CPU launcher's screen bins in pixels (0: chosen by the launcher).
    Returns:
        pix_to_face (N, H, W, K) int64, zbuf (N, H, W, K), bary (N, H, W, K, 3) and
        dists (N, H, W, K) of face_verts' dtype.
    """
    op = "rasterize_meshes"
    N, H, W, K = _check_raster_settings(op, settings)[:4]
    _check_float(op, "face_verts", face_verts, (None, 3, 3))
    device = face_verts.device
    _check(op, "mesh_to_face_first_idx", mesh_to_face_first_idx, torch.int64, (N,), device)
    _check(op, "num_faces_per_mesh", num_faces_per_mesh, torch.int64, (N,), device)
    num_faces = face_verts.shape[0]
    _check_range(op, "mesh_to_face_first_idx", mesh_to_face_first_idx, 0, num_faces + 1)
    _check_range(op, "num_faces_per_mesh", num_faces_per_mesh, 0, num_faces + 1)
    _check_range(
        op, "mesh_to_face_first_idx + num_faces_per_mesh",
        mesh_to_face_first_idx + num_faces_per_mesh, 0, num_faces + 1,
    )
    if bin_size < 0:
        raise InputError(f"{op}: bin_size must be >= 0, got {bin_size}")
    pix_to_face = torch.empty((N, H, W, K), dtype=torch.int64, device=device)
    zbuf = face_verts.new_empty((N, H, W, K))
    bary = face_verts.new_empty((N, H, W, K, 3))
    dists = face_verts.new_empty((N, H, W, K))
    if pix_to_face.numel():
        args = (
            _DTYPE_NAMES[face_verts.dtype], _ptr(face_verts), _ptr(mesh_to_face_first_idx),
            _ptr(num_faces_per_mesh), tuple(settings), bin_size, _ptr(pix_to_face), _ptr(zbuf),
            _ptr(bary), _ptr(dists),
        )
        _launch("rasterize_meshes_forward", device, *args)
    return pix_to_face, zbuf, bary, dists


def rasterize_meshes_backward(
    face_verts: torch.Tensor,
    pix_to_face: torch.Tensor,
    grad_zbuf: torch.Tensor,
    grad_bary: torch.Tensor,
    grad_dists: torch.Tensor,
    settings: tuple,
) -> torch.Tensor:
    """Native backward of :func:`rasterize_meshes_forward`.

    Args:
        face_verts: (F, 3, 3) as in the forward; settings: as in the forward.
        pix_to_face: (N, H, W, K) int64 in [-1, F), the forward's faces.
        grad_zbuf, grad_dists: (N, H, W, K) and grad_bary (N, H, W, K, 3) of face_verts' dtype.
    Returns:
        (F, 3, 3): the gradient w.r.t. the corners of each face.
    """
    op = "rasterize_meshes backward"
    N, H, W, K = _check_raster_settings(op, settings)[:4]
    _check_float(op, "face_verts", face_verts, (None, 3, 3))
    device, dtype = face_verts.device, face_verts.dtype
    _check(op, "pix_to_face", pix_to_face, torch.int64, (N, H, W, K), device)
    _check_range(op, "pix_to_face", pix_to_face, -1, face_verts.shape[0])
    _check(op, "grad_zbuf", grad_zbuf, dtype, (N, H, W, K), device)
    _check(op, "grad_bary", grad_bary, dtype, (N, H, W, K, 3), device)
    _check(op, "grad_dists", grad_dists, dtype, (N, H, W, K), device)
    grad_face_verts = torch.zeros_like(face_verts)
    if pix_to_face.numel() and face_verts.shape[0]:
        _launch(
            "rasterize_meshes_backward", device, _DTYPE_NAMES[dtype], _ptr(face_verts),
            _ptr(pix_to_face), _ptr(grad_zbuf), _ptr(grad_bary), _ptr(grad_dists),
            tuple(settings), face_verts.shape[0], _ptr(grad_face_verts),
        )
    return grad_face_verts


def _check_point_raster_settings(op: str, settings: tuple) -> tuple[int, int, int, int]:
    """Checks the (N, H, W, K) tuple of a rasterize_points call."""
    if (
        not isinstance(settings, tuple)
        or len(settings) != 4
        or any(isinstance(v, bool) or not isinstance(v, int) for v in settings)
    ):
        raise InputError(f"{op}: settings must be a tuple of 4 ints (N, H, W, K), got {settings!r}")
    N, H, W, K = settings
    if min(N, H, W) < 0 or K < 1:
        raise InputError(f"{op}: settings must have N, H, W >= 0 and K >= 1, got {settings}")
    return settings


def rasterize_points_forward(
    points: torch.Tensor,
    radius: torch.Tensor,
    cloud_to_packed_first_idx: torch.Tensor,
    num_points_per_cloud: torch.Tensor,
    settings: tuple,
    bin_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native point-cloud rasterisation.

    The kernels stay in bounds whatever the values of points and radius (a NaN point or radius
    hits nothing); the caller rejects non-finite ones.

    Args:
        points: (P, 3) float32/float64 packed points (NDC x, y; view depth z).
        radius: (P,) of points' dtype, each point's radius in NDC units.
        cloud_to_packed_first_idx, num_points_per_cloud: (N,) int64: cloud n's points are
            [first[n], first[n] + num[n]), within [0, P].
        settings: (N, H, W, K).
        bin_size: side of the CPU launcher's screen bins in pixels (0: chosen by the launcher).
    Returns:
        idx (N, H, W, K) int64, zbuf (N, H, W, K) and dists (N, H, W, K) of points' dtype.
    """
    op = "rasterize_points"
    N, H, W, K = _check_point_raster_settings(op, settings)
    _check_float(op, "points", points, (None, 3))
    device, P = points.device, points.shape[0]
    _check(op, "radius", radius, points.dtype, (P,), device)
    _check(op, "cloud_to_packed_first_idx", cloud_to_packed_first_idx, torch.int64, (N,), device)
    _check(op, "num_points_per_cloud", num_points_per_cloud, torch.int64, (N,), device)
    _check_range(op, "cloud_to_packed_first_idx", cloud_to_packed_first_idx, 0, P + 1)
    _check_range(op, "num_points_per_cloud", num_points_per_cloud, 0, P + 1)
    _check_range(
        op, "cloud_to_packed_first_idx + num_points_per_cloud",
        cloud_to_packed_first_idx + num_points_per_cloud, 0, P + 1,
    )
    if isinstance(bin_size, bool) or not isinstance(bin_size, int) or bin_size < 0:
        raise InputError(f"{op}: bin_size must be an int >= 0, got {bin_size!r}")
    idx = torch.empty((N, H, W, K), dtype=torch.int64, device=device)
    zbuf = points.new_empty((N, H, W, K))
    dists = points.new_empty((N, H, W, K))
    if idx.numel():
        _launch(
            "rasterize_points_forward", device, _DTYPE_NAMES[points.dtype], _ptr(points),
            _ptr(radius), _ptr(cloud_to_packed_first_idx), _ptr(num_points_per_cloud),
            tuple(settings), bin_size, _ptr(idx), _ptr(zbuf), _ptr(dists),
        )
    return idx, zbuf, dists


def rasterize_points_backward(
    points: torch.Tensor,
    idx: torch.Tensor,
    grad_zbuf: torch.Tensor,
    grad_dists: torch.Tensor,
    settings: tuple,
) -> torch.Tensor:
    """Native backward of :func:`rasterize_points_forward`.

    Args:
        points: (P, 3) as in the forward; settings: as in the forward.
        idx: (N, H, W, K) int64 in [-1, P), the forward's points.
        grad_zbuf, grad_dists: (N, H, W, K) of points' dtype.
    Returns:
        (P, 3): the gradient w.r.t. the points.
    """
    op = "rasterize_points backward"
    N, H, W, K = _check_point_raster_settings(op, settings)
    _check_float(op, "points", points, (None, 3))
    device, dtype, P = points.device, points.dtype, points.shape[0]
    _check(op, "idx", idx, torch.int64, (N, H, W, K), device)
    _check_range(op, "idx", idx, -1, P)
    _check(op, "grad_zbuf", grad_zbuf, dtype, (N, H, W, K), device)
    _check(op, "grad_dists", grad_dists, dtype, (N, H, W, K), device)
    grad_points = torch.zeros_like(points)
    if idx.numel() and P:
        _launch(
            "rasterize_points_backward", device, _DTYPE_NAMES[dtype], _ptr(points), _ptr(idx),
            _ptr(grad_zbuf), _ptr(grad_dists), tuple(settings), P, _ptr(grad_points),
        )
    return grad_points


def _check_interp_inputs(
    op: str, pix_to_face: torch.Tensor, bary: torch.Tensor, attrs: torch.Tensor
) -> tuple[int, int, int]:
    """Checks flattened fragments and face attributes; returns (P, F, D)."""
    _check_float(op, "face_attributes", attrs, (None, 3, None))
    F, _, D = attrs.shape
    _check(op, "pix_to_face", pix_to_face, torch.int64, (None,), attrs.device)
    P = pix_to_face.shape[0]
    _check(op, "barycentric_coords", bary, attrs.dtype, (P, 3), attrs.device)
    return P, F, D


def _raise_interp_code(op: str, code: torch.Tensor, num_faces: int) -> None:
    """Turns the largest code an interpolate_face_attributes launcher met into an InputError."""
    value = int(code)
    if value == 2:  # kInterpBadFace
        raise InputError(
            f"{op}: pix_to_face has values outside [-1, {num_faces - 1}] (face_attributes has "
            f"{num_faces} faces)"
        )
    if value == 1:  # kInterpNonFinite
        raise InputError(
            f"{op}: barycentric_coords or face_attributes contain NaN or infinite values at "
            "covered pixels"
        )


def interp_face_attrs_forward(
    pix_to_face: torch.Tensor, bary: torch.Tensor, attrs: torch.Tensor
) -> torch.Tensor:
    """Native forward of interpolate_face_attributes on flattened fragments.

    The kernel checks pix_to_face's range itself (a separate pass over an image-sized index
    tensor would cost as much as the op) and never reads past ``attrs`` for a bad index.

    Args:
        pix_to_face: (P,) int64 packed face indices in [-1, F), -1 for empty slots.
        bary: (P, 3) barycentric coordinates, float32/float64.
        attrs: (F, 3, D) per-corner face attributes of bary's dtype.
    Returns:
        (P, D): the interpolated attributes, zero in empty slots.
    """
    op = "interpolate_face_attributes"
    P, F, D = _check_interp_inputs(op, pix_to_face, bary, attrs)
    out = attrs.new_empty((P, D))
    code = torch.zeros((), dtype=torch.int32, device=attrs.device)
    if P:
        _launch(
            "interp_face_attrs_forward", attrs.device, _DTYPE_NAMES[attrs.dtype],
            _ptr(pix_to_face), _ptr(bary), _ptr(attrs), (P, F, D), _ptr(out), _ptr(code),
        )
    _raise_interp_code(op, code, F)
    return out


def interp_face_attrs_backward(
    pix_to_face: torch.Tensor,
    bary: torch.Tensor,
    attrs: torch.Tensor,
    grad_out: torch.Tensor,
    need_bary: bool,
    need_attrs: bool,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Native backward of :func:`interp_face_attrs_forward`.

    Args:
        pix_to_face, bary, attrs: as in the forward.
        grad_out: (P, D) of attrs' dtype.
        need_bary, need_attrs: which gradients to compute.
    Returns:
        grad_bary (P, 3) and grad_attrs_per_slot (P, 3, D), each slot's contribution to the
        gradient of its face's attributes (zero in empty slots), for the caller to scatter;
        None for a gradient not asked for.
    """
    op = "interpolate_face_attributes backward"
    P, F, D = _check_interp_inputs(op, pix_to_face, bary, attrs)
    _check(op, "grad_out", grad_out, attrs.dtype, (P, D), attrs.device)
    grad_bary = attrs.new_empty((P, 3)) if need_bary else None
    per_slot = attrs.new_empty((P, 3, D)) if need_attrs else None
    code = torch.zeros((), dtype=torch.int32, device=attrs.device)
    if P and (need_bary or need_attrs):
        _launch(
            "interp_face_attrs_backward", attrs.device, _DTYPE_NAMES[attrs.dtype],
            _ptr(pix_to_face), _ptr(bary), _ptr(attrs), _ptr(grad_out), (P, F, D),
            0 if grad_bary is None else _ptr(grad_bary), 0 if per_slot is None else _ptr(per_slot),
            _ptr(code),
        )
    _raise_interp_code(op, code, F)
    return grad_bary, per_slot


def marching_cubes(
    vol: torch.Tensor, levels: torch.Tensor, table: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native marching cubes over a batch of volumes (two passes and a prefix sum between).

    Args:
        vol: (N, D, H, W) float32/float64, contiguous.
        levels: (N,) isolevel of each volume, of vol's dtype.
        table: (256, T, 3) int64 case table of edge codes in [-1, 24)
            (r3d.ops.marching_cubes_table.TRIANGLES).
    Returns:
        verts (V, 3) in grid units (x, y, z), faces (F, 3) int64 packed vertex rows, and the
        (N,) int64 numbers of verts and of faces of each volume.
    """
    op = "marching_cubes"
    _check_float(op, "vol", vol, (None, None, None, None))
    N, D, H, W = vol.shape
    _check(op, "levels", levels, vol.dtype, (N,), vol.device)
    _check(op, "table", table, torch.int64, (256, None, 3), vol.device)
    _check_range(op, "table", table, -1, 24)
    grid = (N, D, H, W, table.shape[1])
    points = N * D * H * W
    crossed = torch.zeros((points, 3), dtype=torch.uint8, device=vol.device)
    tris = torch.zeros((points,), dtype=torch.uint8, device=vol.device)
    name = _DTYPE_NAMES[vol.dtype]
    if points:
        _launch(
            "marching_cubes_count", vol.device, name, _ptr(vol), _ptr(levels), _ptr(table), grid,
            _ptr(crossed), _ptr(tris),
        )
    vert_end = torch.cumsum(crossed.reshape(-1), 0, dtype=torch.int64)
    tri_end = torch.cumsum(tris, 0, dtype=torch.int64)
    counts = torch.zeros((2, N), dtype=torch.int64, device=vol.device)
    if points:
        ends = torch.stack([vert_end.reshape(N, -1)[:, -1], tri_end.reshape(N, -1)[:, -1]])
        counts = torch.diff(ends, dim=1, prepend=ends.new_zeros((2, 1)))
    num_verts, num_faces = (int(n) for n in counts.sum(1).tolist())
    verts = vol.new_empty((num_verts, 3))
    faces = torch.empty((num_faces, 3), dtype=torch.int64, device=vol.device)
    if points:
        _launch(
            "marching_cubes_emit", vol.device, name, _ptr(vol), _ptr(levels), _ptr(table), grid,
            _ptr(vert_end), _ptr(tri_end), _ptr(verts), _ptr(faces),
        )
    return verts, faces, counts[0], counts[1]


def group_by_key(keys: torch.Tensor, num_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Native stable counting sort of CPU keys (CUDA callers sort with torch).

    Args:
        keys: (M,) int64 in [0, num_rows), on the CPU, contiguous.
        num_rows: R, the number of distinct keys possible.
    Returns:
        ptr (R + 1,) int64, the start of each key's run in ``order``, and order (M,) int64, the
        positions of ``keys`` sorted by key (ties in their original order).
    """
    op = "group_by_key"
    _check(op, "keys", keys, torch.int64, (None,), torch.device("cpu"))
    if num_rows < 0:
        raise InputError(f"{op}: num_rows must be >= 0, got {num_rows}")
    _check_range(op, "keys", keys, 0, num_rows)
    ptr = torch.empty((num_rows + 1,), dtype=torch.int64)
    order = torch.empty_like(keys)
    _module().group_by_key_cpu(_ptr(keys), keys.shape[0], num_rows, _ptr(ptr), _ptr(order))
    return ptr, order


def csr_gather_sum(x: torch.Tensor, ptr: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    """Native CSR gather-sum: ``out[i] = x[col[ptr[i]:ptr[i + 1]]].sum(0)``.

    Args:
        x: (R, D) float32/float64, contiguous.
        ptr: (V + 1,) int64, starting at 0, non-decreasing, ending at M, same device.
        col: (M,) int64 in [0, R), same device.
    Returns:
        out (V, D) of x's dtype.
    """
    op = "gather_scatter"
    _check_float(op, "x", x, (None, None))
    _check(op, "ptr", ptr, torch.int64, (None,), x.device)
    _check(op, "col", col, torch.int64, (None,), x.device)
    if ptr.shape[0] < 1:
        raise InputError(f"{op}: ptr must have at least one entry, got shape (0,)")
    segment_lengths(op, ptr[:-1], col.shape[0], col.shape[0], "ptr")
    if int(ptr[-1]) != col.shape[0]:
        raise InputError(f"{op}: ptr must end at {col.shape[0]} (len(col)), got {int(ptr[-1])}")
    _check_range(op, "col", col, 0, x.shape[0])
    rows, dim = ptr.shape[0] - 1, x.shape[1]
    out = x.new_empty((rows, dim))
    if rows and dim:
        _launch(
            "csr_gather_sum", x.device, _DTYPE_NAMES[x.dtype], _ptr(x), _ptr(ptr), _ptr(col),
            rows, dim, _ptr(out),
        )
    else:
        out.zero_()
    return out


def _check_indexed(
    op: str, verts: torch.Tensor, index: torch.Tensor, width: int
) -> int:
    """Checks verts (V, 3) and an index table (K, width) in [0, V); returns K."""
    _check_float(op, "verts", verts, (None, 3))
    _check(op, "index", index, torch.int64, (None, width), verts.device)
    _check_range(op, "index", index, 0, verts.shape[0])
    return index.shape[0]


def _indexed_forward(
    name: str, op: str, verts: torch.Tensor, index: torch.Tensor, width: int, scalar: float
) -> torch.Tensor:
    """Runs a per-row forward kernel over the (K, width) index table; returns (K,) values."""
    rows = _check_indexed(op, verts, index, width)
    out = verts.new_empty((rows,))
    if rows:
        _launch(
            name, verts.device, _DTYPE_NAMES[verts.dtype], _ptr(verts), _ptr(index), rows,
            scalar, _ptr(out),
        )
    return out


def _indexed_backward(
    name: str,
    op: str,
    verts: torch.Tensor,
    index: torch.Tensor,
    width: int,
    grad: torch.Tensor,
    scalar: float,
) -> torch.Tensor:
    """Runs a per-row backward kernel; returns the (K, width, 3) gradient w.r.t. the corners
    the index table names, for the caller to scatter onto the vertices."""
    rows = _check_indexed(op, verts, index, width)
    _check(op, "grad", grad, verts.dtype, (rows,), verts.device)
    grad_corners = verts.new_empty((rows, width, 3))
    if rows:
        _launch(
            name, verts.device, _DTYPE_NAMES[verts.dtype], _ptr(verts), _ptr(index), rows,
            _ptr(grad), scalar, _ptr(grad_corners),
        )
    return grad_corners


def edge_loss_forward(verts: torch.Tensor, edges: torch.Tensor, target: float) -> torch.Tensor:
    """Native ``(|v_a - v_b| - target) ** 2`` for every edge.

    Args:
        verts: (V, 3) float32/float64; edges: (E, 2) int64 in [0, V), same device.
    Returns:
        (E,) of verts' dtype.
    """
    return _indexed_forward("edge_loss_forward", "mesh_edge_loss", verts, edges, 2, target)


def edge_loss_backward(
    verts: torch.Tensor, edges: torch.Tensor, grad: torch.Tensor, target: float
) -> torch.Tensor:
    """Native backward of :func:`edge_loss_forward`: grad (E,) -> (E, 2, 3) per edge end."""
    return _indexed_backward(
        "edge_loss_backward", "mesh_edge_loss backward", verts, edges, 2, grad, target
    )


def normal_consistency_forward(
    verts: torch.Tensor, quads: torch.Tensor, eps: float
) -> torch.Tensor:
    """Native ``1 - cos(n0, n1)`` for every pair of faces sharing an edge.

    Args:
        verts: (V, 3) float32/float64.
        quads: (P, 4) int64 in [0, V): the edge (v0, v1) and the pair's third corners a, b.
        eps: the normals' lengths are clamped to at least eps.
    Returns:
        (P,) of verts' dtype.
    """
    return _indexed_forward(
        "normal_consistency_forward", "mesh_normal_consistency", verts, quads, 4, eps
    )


def normal_consistency_backward(
    verts: torch.Tensor, quads: torch.Tensor, grad: torch.Tensor, eps: float
) -> torch.Tensor:
    """Native backward of :func:`normal_consistency_forward`: grad (P,) -> (P, 4, 3)."""
    return _indexed_backward(
        "normal_consistency_backward", "mesh_normal_consistency backward", verts, quads, 4,
        grad, eps,
    )


def face_pairs(
    edges: torch.Tensor, ptr: torch.Tensor, order: torch.Tensor, corners: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native enumeration of the pairs of faces sharing each edge (mesh_normal_consistency).

    Args:
        edges: (E, 2) int64 vertex indices.
        ptr: (E + 1,) int64 and order (M,) int64 in [0, M): the M face-edge incidences grouped
            by edge (``r3d.ops.csr.group_by``), same device.
        corners: (M,) int64, the corner of each incidence's face opposite its edge.
    Returns:
        quads (P, 4) int64 (edges[e, 0], edges[e, 1], corner i, corner j) for every edge e and
        pair of its incidences i < j (in ``order``), and pair_edge (P,) int64 their edges.
    """
    op = "mesh_normal_consistency pairs"
    _check(op, "edges", edges, torch.int64, (None, 2), edges.device)
    num_edges = edges.shape[0]
    _check(op, "ptr", ptr, torch.int64, (num_edges + 1,), edges.device)
    _check(op, "order", order, torch.int64, (None,), edges.device)
    num_incidences = order.shape[0]
    _check(op, "corners", corners, torch.int64, (num_incidences,), edges.device)
    counts = segment_lengths(op, ptr[:-1], num_incidences, num_incidences, "ptr")
    if int(ptr[-1]) != num_incidences:
        raise InputError(f"{op}: ptr must end at {num_incidences}, got {int(ptr[-1])}")
    _check_range(op, "order", order, 0, num_incidences)
    pairs = counts * (counts - 1) // 2
    pair_first = torch.cumsum(pairs, 0) - pairs
    num_pairs = int(pairs.sum())
    quads = torch.empty((num_pairs, 4), dtype=torch.int64, device=edges.device)
    pair_edge = torch.empty((num_pairs,), dtype=torch.int64, device=edges.device)
    if num_pairs:
        _launch(
            "face_pairs", edges.device, _ptr(edges), _ptr(ptr), _ptr(order), _ptr(corners),
            _ptr(pair_first), num_edges, _ptr(quads), _ptr(pair_edge),
        )
    return quads, pair_edge


COMPOSITE_MODES = ("alpha_composite", "norm_weighted_sum", "weighted_sum")  # CompositeMode


def image_memory_format(t: torch.Tensor) -> torch.memory_format:
    """The layout in which the point compositing kernels take an (N, X, H, W) tensor like t:
    torch.channels_last for a permuted view of a contiguous (N, H, W, X) tensor (as renderers
    make from fragments), torch.contiguous_format otherwise."""
    if (
        isinstance(t, torch.Tensor)
        and t.dim() == 4
        and not t.is_contiguous()
        and t.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format


def is_points_major(features: torch.Tensor) -> bool:
    """Whether (C, P) features are the transpose of a contiguous (P, C) tensor (and not
    contiguous themselves), a layout the point compositing kernels take as it is."""
    return features.dim() == 2 and not features.is_contiguous() and features.t().is_contiguous()


def _check_composite(
    op: str, pointsidx: torch.Tensor, alphas: torch.Tensor, features: torch.Tensor
) -> tuple:
    """Checks the inputs of a point compositing call; returns the launcher's shape tuple."""
    if op not in COMPOSITE_MODES:
        raise InputError(f"point compositing: op must be one of {COMPOSITE_MODES}, got {op!r}")
    points_major = isinstance(features, torch.Tensor) and is_points_major(features)
    # a points-major (C, P) tensor is checked as the contiguous (P, C) tensor it is
    _check_float(op, "pt_clds", features.t() if points_major else features, (None, None))
    C, P = features.shape
    device, fmt = features.device, image_memory_format(pointsidx)
    _check(op, "pointsidx", pointsidx, torch.int64, (None, None, None, None), device, fmt)
    N, K, H, W = pointsidx.shape
    _check(op, "alphas", alphas, features.dtype, (N, K, H, W), device, fmt)
    return (N, K, H, W, C, P, COMPOSITE_MODES.index(op), fmt == torch.channels_last,
            points_major)


def composite_forward(
    op: str, pointsidx: torch.Tensor, alphas: torch.Tensor, features: torch.Tensor
) -> torch.Tensor:
    """Native point compositing (alpha_composite, norm_weighted_sum or weighted_sum).

    The kernel checks pointsidx's range itself (a separate pass over the image-sized index
    tensor would cost a good part of the op) and never reads past ``features`` for a bad index.

    Args:
        op: one of :data:`COMPOSITE_MODES`.
        pointsidx: (N, K, H, W) int64 packed point indices in [-1, P), -1 for empty slots;
            contiguous, or channels last (a permuted contiguous (N, H, W, K) tensor).
        alphas: (N, K, H, W) float32/float64 in pointsidx's layout.
        features: (C, P) of alphas' dtype, contiguous or the transpose of a contiguous (P, C).
    Returns:
        (N, C, H, W) images in pointsidx's layout.
    """
    shape = _check_composite(op, pointsidx, alphas, features)
    N, K, H, W, C = shape[:5]
    fmt = image_memory_format(pointsidx)
    out = torch.empty((N, C, H, W), dtype=features.dtype, device=features.device,
                      memory_format=fmt)
    code = torch.zeros((), dtype=torch.int32, device=features.device)
    if N * H * W:
        _launch(
            "composite_forward", features.device, _DTYPE_NAMES[features.dtype], _ptr(pointsidx),
            _ptr(alphas), _ptr(features), shape, _ptr(out), _ptr(code),
        )
    if int(code):  # kCompositeBadIndex: let the range check name the values
        _check_range(op, "pointsidx", pointsidx, -1, shape[5])
    return out


def composite_backward(
    op: str,
    pointsidx: torch.Tensor,
    alphas: torch.Tensor,
    features: torch.Tensor,
    grad_out: torch.Tensor,
    need_alphas: bool,
    need_features: bool,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Native backward of :func:`composite_forward`.

    Args:
        op, pointsidx, alphas, features: as in the forward.
        grad_out: (N, C, H, W) of features' dtype, in pointsidx's layout.
        need_alphas, need_features: which gradients to compute.
    Returns:
        grad_alphas (N, K, H, W) in pointsidx's layout (zero in empty slots) and grad_features
        (C, P) in features' layout; None for a gradient not asked for.
    """
    op_name = f"{op} backward"
    shape = _check_composite(op, pointsidx, alphas, features)
    N, K, H, W, C, P = shape[:6]
    fmt = image_memory_format(pointsidx)
    _check(op_name, "grad_out", grad_out, features.dtype, (N, C, H, W), features.device, fmt)
    _check_range(op_name, "pointsidx", pointsidx, -1, P)
    grad_alphas = torch.empty_like(alphas, memory_format=fmt) if need_alphas else None
    grad_features = None
    if need_features:
        grad_features = (features.new_zeros((P, C)).t() if shape[8]
                         else features.new_zeros((C, P)))
    if N * H * W and (need_alphas or need_features):
        _launch(
            "composite_backward", features.device, _DTYPE_NAMES[features.dtype],
            _ptr(pointsidx), _ptr(alphas), _ptr(features), _ptr(grad_out), shape,
            0 if grad_alphas is None else _ptr(grad_alphas),
            0 if grad_features is None else _ptr(grad_features),
        )
    return grad_alphas, grad_features
