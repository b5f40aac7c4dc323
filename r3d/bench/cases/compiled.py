"""Benchmark cases of whole training steps, eager against ``torch.compile(fullgraph=True)``.

``compile_chamfer_knn_step``: chamfer_distance between two batches of clouds plus the mean
distance to the 4 nearest neighbours, forward and backward (size: points per cloud, 4 clouds a
side). ``compile_fit_step``: the silhouette fit step of ``r3d fit``: a deformed ico-sphere
rendered as a soft silhouette at 64x64 from 4 views, the silhouette loss plus edge, Laplacian
and normal-consistency losses, forward and backward (size: the ico-sphere's subdivision
level). Contenders: r3d eager (the baseline) and the same step compiled once; the compile time
is spent in the warm-up, outside the timing. The steps are also what the tests compile.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.contenders import native_available
from r3d.bench.registry import Contender, register_case
from r3d.loss import (
    chamfer_distance,
    mesh_edge_loss,
    mesh_laplacian_smoothing,
    mesh_normal_consistency,
)
from r3d.ops import knn_points
from r3d.renderer import (
    BlendParams,
    FoVPerspectiveCameras,
    MeshRasterizer,
    MeshRenderer,
    RasterizationSettings,
    SoftSilhouetteShader,
    look_at_view_transform,
)
from r3d.utils import ico_sphere

NUM_CLOUDS = 4
IMAGE_SIZE = 64
NUM_VIEWS = 4


def chamfer_knn_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Chamfer distance between x (N, P, 3) and y (N, P, 3) plus the mean squared distance
    to the 4 nearest points of y (a 0-dim loss)."""
    return chamfer_distance(x, y)[0] + knn_points(x, y, K=4).dists.mean()


def with_grads(loss_fn: Callable, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """A training step: ``loss_fn(*inputs)`` (eager or compiled) and its gradients w.r.t. the
    inputs (the backward of a compiled loss is compiled too)."""
    loss = loss_fn(*inputs)
    return (loss, *torch.autograd.grad(loss, inputs))


def chamfer_inputs(points: int, device: torch.device) -> dict:
    """Two (NUM_CLOUDS, points, 3) float32 Gaussian batches, requiring grad."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, NUM_CLOUDS, points, 3, generator=gen).unbind(0)
    return {"x": x.to(device).requires_grad_(), "y": y.to(device).requires_grad_()}


def make_fit_loss(
    level: int, device: torch.device, perspective_correct: bool | None = None
) -> tuple[Callable, torch.Tensor]:
    """The fit loss of an ico-sphere of subdivision ``level`` against the silhouettes of a
    squashed sphere: ``loss(deform)`` of the vertex offsets (V, 3); returns it and zero
    offsets to call it with. ``perspective_correct``: the raster setting (None: from the
    cameras, which then also clip at half their znear)."""
    src = ico_sphere(level, device)
    R, T = look_at_view_transform(2.7, 15, torch.linspace(0, 270, NUM_VIEWS), device=device)
    cameras = FoVPerspectiveCameras(R=R, T=T, device=device)
    renderer = MeshRenderer(
        MeshRasterizer(cameras=cameras, raster_settings=RasterizationSettings(
            image_size=IMAGE_SIZE, blur_radius=2e-3, faces_per_pixel=20,
            perspective_correct=perspective_correct)),
        SoftSilhouetteShader(blend_params=BlendParams(sigma=1e-4, gamma=1e-4)),
    )
    squash = torch.tensor([0.0, -0.4, 0.0], device=device)
    target_mesh = src.offset_verts(src.verts_packed() * squash)
    with torch.no_grad():
        target = renderer(target_mesh.extend(NUM_VIEWS))[..., 3]
    batch = src.extend(NUM_VIEWS)

    def loss(deform: torch.Tensor) -> torch.Tensor:
        mesh = src.offset_verts(deform)
        silhouettes = renderer(batch.offset_verts(deform.repeat(NUM_VIEWS, 1)))[..., 3]
        return ((silhouettes - target) ** 2).mean() + mesh_edge_loss(mesh) \
            + 0.1 * mesh_laplacian_smoothing(mesh) + 0.01 * mesh_normal_consistency(mesh)

    return loss, torch.zeros_like(src.verts_packed(), requires_grad=True)


def _fit_inputs(level: int, device: torch.device) -> dict:
    loss, deform = make_fit_loss(level, device)
    return {"loss": loss, "compiled": torch.compile(loss, fullgraph=True), "deform": deform}


def _chamfer_inputs(points: int, device: torch.device) -> dict:
    return {**chamfer_inputs(points, device), "loss": chamfer_knn_loss,
            "compiled": torch.compile(chamfer_knn_loss, fullgraph=True)}


def _contenders(*inputs: str) -> list[Contender]:
    """r3d eager and compiled on the case's inputs named ``inputs``."""
    def run(which: str) -> Callable:
        return lambda x: with_grads(x[which], *(x[name] for name in inputs))

    return [Contender("r3d", run("loss"), "native", native_available),
            Contender("r3d compiled", run("compiled"), "peer", native_available)]


register_case(
    "compile_chamfer_knn_step",
    sizes=(20_000,),
    quick_sizes=(2_000,),
    setup=_chamfer_inputs,
    size_label="points per cloud",
    description=f"chamfer_distance + knn_points (K=4) forward + backward, {NUM_CLOUDS} clouds a "
    "side, eager vs torch.compile(fullgraph=True)",
    contenders=_contenders("x", "y"),
)
register_case(
    "compile_fit_step",
    sizes=(4,),
    quick_sizes=(2,),
    setup=_fit_inputs,
    size_label="ico-sphere level",
    description=f"silhouette fit step ({NUM_VIEWS} views at {IMAGE_SIZE}x{IMAGE_SIZE}, soft "
    "silhouette, edge + Laplacian + normal losses) forward + backward, eager vs "
    "torch.compile(fullgraph=True)",
    contenders=_contenders("deform"),
)
