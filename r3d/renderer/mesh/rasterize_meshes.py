"""Mesh rasterisation with PyTorch3D's ``rasterize_meshes`` signature and outputs.

On the CPU it runs the native binned kernel (coarse pass: faces filed into screen bins; fine
pass: each pixel's K nearest faces), on CUDA a native per-pixel kernel, and elsewhere the
pure-PyTorch twin :func:`rasterize_meshes_torch`, which is also the test oracle. Gradients w.r.t.
the vertex positions flow through zbuf, bary_coords and dists.
"""

from __future__ import annotations

import math

import torch

from r3d._checks import check_int
from r3d._native import rasterize_meshes as bridge
from r3d._native import use_native
from r3d._native.core import leading_size, load_aware_threads
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.renderer.mesh.clip import clip_faces, unclip_fragments
from r3d.renderer.mesh.raster_geometry import RasterParams
from r3d.renderer.mesh.rasterize_meshes_torch import rasterize_face_verts_torch
from r3d.structures.meshes import Meshes
from r3d.structures.utils import corners_to_verts
from r3d.value_checks import expect, expect_finite, host_reads_allowed

__all__ = ["rasterize_meshes", "rasterize_meshes_torch", "parse_image_size"]

_OP = "rasterize_meshes"


def parse_image_size(image_size, op: str = _OP) -> tuple[int, int]:
    """(H, W) from an int (square) or an (H, W) pair of positive ints; InputError naming op
    otherwise."""
    try:
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    except TypeError:
        size = ()
    if len(size) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in size):
        raise InputError(
            f"{op}: image_size must be a positive int or an (H, W) pair of them, "
            f"got {image_size!r}"
        )
    return size


def _params(
    image_size, blur_radius, faces_per_pixel, bin_size, max_faces_per_bin, perspective_correct,
    clip_barycentric_coords, cull_backfaces, z_clip_value, cull_to_frustum,
) -> RasterParams:
    """Validates the arguments; returns the settings the rasterisers take."""
    size = parse_image_size(image_size)
    if not isinstance(blur_radius, (int, float)) or not 0 <= blur_radius < math.inf:
        raise InputError(f"{_OP}: blur_radius must be a finite float >= 0, got {blur_radius!r}")
    check_int(_OP, "faces_per_pixel", faces_per_pixel, 1)
    check_int(_OP, "bin_size", bin_size, 0, optional=True)
    check_int(_OP, "max_faces_per_bin", max_faces_per_bin, 0, optional=True)
    if not isinstance(cull_to_frustum, bool):
        raise InputError(f"{_OP}: cull_to_frustum must be a bool, got {cull_to_frustum!r}")
    if isinstance(z_clip_value, torch.Tensor) and z_clip_value.dim() == 0 \
            and z_clip_value.is_floating_point():
        expect_finite(_OP, "z_clip_value", z_clip_value)
    elif z_clip_value is not None and (
        isinstance(z_clip_value, bool) or not isinstance(z_clip_value, (int, float))
        or not math.isfinite(z_clip_value)
    ):
        raise InputError(f"{_OP}: z_clip_value must be a finite float (or a 0-dim float "
                         f"tensor) or None, got {z_clip_value!r}")
    return RasterParams(
        size, float(blur_radius), faces_per_pixel, bool(perspective_correct),
        bool(clip_barycentric_coords), bool(cull_backfaces),
    )


class _CornerGather(torch.autograd.Function):
    """The corners (F, 3, 3) of faces (F, 3) among verts (V, 3). Its backward, which adds the
    corners' gradients onto the verts (a torch op the autograd engine runs outside r3d's native
    ops), takes its threads as r3d's launchers do (load_aware_threads)."""

    @staticmethod
    def forward(ctx, verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(faces)
        ctx.num_verts = verts.shape[0]
        return verts.index_select(0, faces.reshape(-1)).view(*faces.shape, 3)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple:
        (faces,) = ctx.saved_tensors
        with load_aware_threads():
            return corners_to_verts(grad, faces, ctx.num_verts), None


def _face_verts(meshes: Meshes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Packed face corners (F, 3, 3) and each mesh's first face and face count (N,)."""
    if not isinstance(meshes, Meshes):
        raise InputError(f"{_OP}: meshes must be a Meshes, got {type(meshes).__name__}")
    if len(meshes) == 1:  # one mesh's own tensors are its packed views: no copies
        verts, faces = meshes.verts_list()[0], meshes.faces_list()[0]
    else:
        verts, faces = meshes.verts_packed(), meshes.faces_packed()
    if not verts.is_floating_point():
        raise InputError(f"{_OP}: meshes' verts must be floating point, got {verts.dtype}")
    face_verts = _CornerGather.apply(verts, faces)
    expect_finite(_OP, "meshes' verts used by faces", face_verts)
    return (
        face_verts,
        meshes.mesh_to_faces_packed_first_idx().contiguous(),
        meshes.num_faces_per_mesh().contiguous(),
    )


def _settings(N: int, image_size, faces_per_pixel, blur_radius, *flags) -> tuple:
    """The settings tuple of the bridge from the ops' arguments."""
    return RasterParams(tuple(image_size), blur_radius, faces_per_pixel, *flags).native_settings(N)


def _fake_fragments(face_verts, first_idx, num_faces, image_size, faces_per_pixel, *_):
    shape = (first_idx.shape[0], *image_size, faces_per_pixel)
    return (
        face_verts.new_empty(shape, dtype=torch.int64), face_verts.new_empty(shape),
        face_verts.new_empty((*shape, 3)), face_verts.new_empty(shape),
    )


@native_op("rasterize_meshes", _fake_fragments)
def rasterize_meshes_op(
    face_verts: torch.Tensor, first_idx: torch.Tensor, num_faces: torch.Tensor,
    image_size: list[int], faces_per_pixel: int, blur_radius: float, perspective_correct: bool,
    clip_barycentric_coords: bool, cull_backfaces: bool, bin_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native rasterisation of packed faces (F, 3, 3): pix_to_face, zbuf, bary, dists."""
    N = leading_size(_OP, "mesh_to_face_first_idx", first_idx)
    settings = _settings(N, image_size, faces_per_pixel, blur_radius,
                         perspective_correct, clip_barycentric_coords, cull_backfaces)
    return bridge.rasterize_meshes_forward(face_verts, first_idx, num_faces, settings, bin_size)


@native_op("rasterize_meshes_backward", lambda face_verts, *_: torch.empty_like(face_verts))
def rasterize_meshes_backward_op(
    face_verts: torch.Tensor, pix_to_face: torch.Tensor, grad_zbuf: torch.Tensor,
    grad_bary: torch.Tensor, grad_dists: torch.Tensor, image_size: list[int],
    faces_per_pixel: int, blur_radius: float, perspective_correct: bool,
    clip_barycentric_coords: bool, cull_backfaces: bool,
) -> torch.Tensor:
    """Native backward: the gradient w.r.t. the face corners (F, 3, 3), summed per face."""
    N = leading_size(_OP, "pix_to_face", pix_to_face)
    settings = _settings(N, image_size, faces_per_pixel, blur_radius,
                         perspective_correct, clip_barycentric_coords, cull_backfaces)
    return bridge.rasterize_meshes_backward(
        face_verts, pix_to_face, grad_zbuf.contiguous(), grad_bary.contiguous(),
        grad_dists.contiguous(), settings,
    )


def _setup_rasterize(ctx, inputs, output) -> None:
    ctx.save_for_backward(inputs[0], output[0])
    ctx.settings = inputs[3:9]


def _rasterize_backward(ctx, _grad_pix_to_face, grad_zbuf, grad_bary, grad_dists) -> tuple:
    face_verts, pix_to_face = ctx.saved_tensors
    grad = rasterize_meshes_backward_op(
        face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, *ctx.settings
    )
    return (grad,) + (None,) * 9


rasterize_meshes_op.register_autograd(_rasterize_backward, setup_context=_setup_rasterize)


def _rasterize(meshes: Meshes, native: bool, **kwargs):
    with load_aware_threads():  # the gather, checks and clipping are torch ops
        return _rasterize_meshes(meshes, native, **kwargs)


def _rasterize_meshes(meshes: Meshes, native: bool, **kwargs):
    params = _params(**kwargs)
    face_verts, first_idx, num_faces = _face_verts(meshes)
    z_clip = kwargs["z_clip_value"]
    # clipping (and mapping fragments back) only when some corner is in front of the plane
    if z_clip is not None:
        in_front = (face_verts[..., 2] < z_clip).any()
        if not host_reads_allowed(face_verts):
            # a compiled or captured graph cannot branch on it: then no face may need clipping
            expect(_OP, ~in_front, "while torch.compile traces or a CUDA graph is captured no "
                   "face may reach in front of z_clip_value (clipping changes the number of "
                   "faces): move the camera back or render eagerly")
            z_clip = None
        elif not bool(in_front):
            z_clip = None
    if z_clip is None:
        return _rasterize_faces(face_verts, first_idx, num_faces, params, native,
                                kwargs["bin_size"])
    clipped = clip_faces(face_verts, first_idx, num_faces, z_clip)
    K = params.faces_per_pixel
    # a pixel may hold both halves of a split face: keep twice the slots until they are merged
    fragments = _rasterize_faces(
        clipped.face_verts, clipped.mesh_to_face_first_idx, clipped.num_faces_per_mesh,
        params._replace(faces_per_pixel=2 * K if clipped.split else K), native,
        kwargs["bin_size"],
    )
    return unclip_fragments(fragments, clipped, K)


def _rasterize_faces(face_verts, first_idx, num_faces, params, native: bool, bin_size):
    """Rasterises packed faces with the native kernel (when asked and available) or in
    PyTorch."""
    if native and use_native(face_verts, _OP):
        # bin_size 0 asks for naive rasterisation: one bin covering the image
        bins = 0 if bin_size is None else (bin_size or max(params.image_size))
        return in_float32(
            rasterize_meshes_op, face_verts.contiguous(), first_idx, num_faces,
            list(params.image_size), params.faces_per_pixel, params.blur_radius,
            params.perspective_correct, params.clip_barycentric_coords, params.cull_backfaces,
            bins,
        )
    return rasterize_face_verts_torch(face_verts, first_idx, num_faces, params)


def rasterize_meshes(
    meshes: Meshes,
    image_size: int | tuple[int, int] = 256,
    blur_radius: float = 0.0,
    faces_per_pixel: int = 8,
    bin_size: int | None = None,
    max_faces_per_bin: int | None = None,
    perspective_correct: bool = False,
    clip_barycentric_coords: bool = False,
    cull_backfaces: bool = False,
    z_clip_value: float | None = None,
    cull_to_frustum: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rasterises a batch of meshes whose vertices are already in NDC, one image per mesh.

    Args:
        meshes: N meshes; vertex x, y in NDC (+x left, +y up, the shorter image side spanning
            [-1, 1]) and z the view depth (+z into the screen).
        image_size: H = W as an int, or (H, W).
        blur_radius: squared NDC distance: a pixel outside a face but closer than this to it
            still records it (soft rasterisation); 0 for hard edges. A pixel is inside a face
            when its three barycentrics are > 0, so with blur 0 a pixel centre exactly on an
            edge hits neither face sharing the edge (as in PyTorch3D).
        faces_per_pixel: K, the nearest faces kept per pixel.
        bin_size: side in pixels of the native kernels' screen bins; None picks the bins
            (CPU: stripes as wide as the image, or squares where K is large, from the image
            size, K, the faces' screen size and the threads; CUDA: 8, 16 or 32 from the image
            size and the faces' screen size), 0 rasterises naively (one bin over the image).
            On CUDA a bin_size smaller than the image is rounded down to 8, 16 or 32. Results
            never depend on it.
        max_faces_per_bin: an int >= 0 or None, accepted for PyTorch3D compatibility;
            r3d's bins grow to hold every face, so it never drops faces and needs no limit.
        perspective_correct: correct the barycentrics for perspective (vertex z is the depth).
            The correction divides by the face's interpolated 1/z at the pixel (times the
            corners' depths); a pixel outside a face but within blur_radius of it can see the
            face's plane beyond its horizon, where that denominator is zero or negative and the
            corrected barycentrics do not exist. Such (pixel, face) pairs are dropped: the face
            is not among that pixel's K. PyTorch3D instead clamps the denominator to 1e-8 and
            keeps the pair, with barycentrics, depths and gradients of arbitrary size; dropping
            it is the sound choice (see docs/differences-from-pytorch3d.md).
        clip_barycentric_coords: clamp the barycentrics of pixels outside a face to [0, 1] and
            renormalise them before interpolating zbuf (as PyTorch3D; useful with blur).
        cull_backfaces: skip faces whose corners appear clockwise on screen (seen from behind).
        z_clip_value: when given, faces are clipped at this depth first (as PyTorch3D):
            the part of a face in front is rasterised (a quadrilateral as two triangles) and
            fragments are reported for the original face, with barycentrics in it; dists are
            measured to the clipped part. Otherwise faces with a corner at depth below 1e-8
            are skipped.
        cull_to_frustum: accepted for PyTorch3D compatibility; faces outside the image never
            reach the fine pass anyway, so it changes nothing (faces just outside still blur
            into the border pixels).
    Returns:
        pix_to_face (N, H, W, K) int64 packed face indices, zbuf (N, H, W, K) interpolated
        depth, bary_coords (N, H, W, K, 3) and dists (N, H, W, K) signed squared NDC distance
        to the face's nearest edge (negative inside), sorted by depth (ties by face index);
        slots past a pixel's hits hold -1. Pixel (0, 0) is the top-left one. zbuf, bary_coords
        and dists are differentiable w.r.t. the vertex positions.
    """
    return _rasterize(
        meshes, True, image_size=image_size, blur_radius=blur_radius,
        faces_per_pixel=faces_per_pixel, bin_size=bin_size, max_faces_per_bin=max_faces_per_bin,
        perspective_correct=perspective_correct, clip_barycentric_coords=clip_barycentric_coords,
        cull_backfaces=cull_backfaces, z_clip_value=z_clip_value, cull_to_frustum=cull_to_frustum,
    )


def rasterize_meshes_torch(
    meshes: Meshes,
    image_size: int | tuple[int, int] = 256,
    blur_radius: float = 0.0,
    faces_per_pixel: int = 8,
    bin_size: int | None = None,
    max_faces_per_bin: int | None = None,
    perspective_correct: bool = False,
    clip_barycentric_coords: bool = False,
    cull_backfaces: bool = False,
    z_clip_value: float | None = None,
    cull_to_frustum: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pure-PyTorch :func:`rasterize_meshes` (any device; bin_size and max_faces_per_bin are
    validated and otherwise ignored)."""
    return _rasterize(
        meshes, False, image_size=image_size, blur_radius=blur_radius,
        faces_per_pixel=faces_per_pixel, bin_size=bin_size, max_faces_per_bin=max_faces_per_bin,
        perspective_correct=perspective_correct, clip_barycentric_coords=clip_barycentric_coords,
        cull_backfaces=cull_backfaces, z_clip_value=z_clip_value, cull_to_frustum=cull_to_frustum,
    )
