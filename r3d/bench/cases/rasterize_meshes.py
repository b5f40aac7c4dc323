"""Benchmark cases of mesh rasterisation, rasterize_meshes (run by ``r3d bench``).

``rasterize_{scene}_K{K}`` and ``..._fwd_bwd``, at image size S x S (the case's size: 256, 512
and 1024; 64 in quick runs), float32, the scene centred in NDC (radius 0.8, depth 2):
``cow``: the bundled textured cow (5,856 faces); ``ico6``: an ico_sphere of level 6 (81,920
faces, the size of a scanned model); ``batch8``: a heterogeneous batch of 8 ico_spheres of levels
2 to 5. K = 1 hard (blur 0) or K = 50 soft (blur radius 1e-4, about one pixel at S = 256,
barycentrics clipped). The backward variant also takes the gradient w.r.t. the vertices from
random upstream gradients of zbuf, bary_coords and dists. Contenders: r3d (native kernels), its
pure-PyTorch twin (only up to the size where it takes a few seconds) and PyTorch3D when
importable (on the CPU, where it rasterises naively, the cow up to 256 and no other scene).

``rasterize_torus4m_K1`` and ``..._fwd_bwd``: the GPU target, a mesh of 4 million faces at
1920 x 1080 (the case's size is the image height, 1080, the width 16/9 of it), K = 1 hard, with
the settings above. The mesh is a torus of exactly 4,000,000 faces and 2,000,000 vertices
(``torus(0.35, 1.0, sides=1000, rings=2000)``: near-square quads, each face about a fifth of a
pixel on screen, like a dense scan), tilted 60 degrees about x so that the tube is seen from
many angles and hides itself, then placed in NDC as the other scenes (radius 0.8 around depth
2). The bundled cow subdivided gives no mesh near 4M faces (5,856 * 4^4 = 1.5M, * 4^5 = 6.0M),
nor does an ico_sphere (level 8: 1.3M, level 9: 5.2M). It is built once per process (cached).
Only r3d runs it (and PyTorch3D on a GPU when importable): not the pure-PyTorch twin, and
PyTorch3D never on the CPU. It runs by default only on CUDA; elsewhere only when named exactly
(``r3d bench rasterize_torus4m_K1``), so neither ``r3d bench --quick`` nor a default CPU run
includes it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from r3d.bench.cases._inputs import COW_OBJ, IMAGE_SIZES
from r3d.bench.contenders import register_op_cases
from r3d.io import load_objs_as_meshes
from r3d.renderer import rasterize_meshes
from r3d.renderer.mesh import rasterize_meshes_torch
from r3d.structures import Meshes, join_meshes_as_batch
from r3d.utils import ico_sphere, torus

SIZES = IMAGE_SIZES
QUICK_SIZES = (64,)  # keeps ``r3d bench --quick`` (every case) in about a minute
SETTINGS = {1: dict(blur_radius=0.0), 50: dict(blur_radius=1e-4, clip_barycentric_coords=True)}
BATCH_LEVELS = (2, 5, 3, 4, 2, 4, 3, 5)
TORCH_MAX_SIZE = {"cow": 512, "ico6": 256, "batch8": 256}
# scene -> the largest image side PyTorch3D is run at on the CPU, where it rasterises naively
# (every pixel against every face): seconds a call on the cow at 256, on ico6 already at 128
PYTORCH3D_CPU_MAX_SIZE = {"cow": 256, "ico6": 0, "batch8": 0}
# the GPU target: BIG_SCENE (BIG_FACES faces) at BIG_HEIGHT rows, 16:9, K = 1, on CUDA by default
BIG_SCENE = "torus4m"
BIG_TORUS = dict(r=0.35, R=1.0, sides=1000, rings=2000)  # 2 * sides * rings faces
BIG_FACES = 2 * BIG_TORUS["sides"] * BIG_TORUS["rings"]
BIG_HEIGHT = 1080
BIG_TILT_DEGREES = 60.0


def in_ndc(verts: torch.Tensor) -> torch.Tensor:
    """(V, 3) vertices centred and scaled into NDC: radius 0.8 around depth 2."""
    centred = verts - (verts.amax(0) + verts.amin(0)) / 2
    return centred * (0.8 / centred.norm(dim=1).max()) + torch.tensor([0.0, 0.0, 2.0])


def image_shape(size: int, wide: bool) -> tuple[int, int]:
    """(H, W) of a case's image: size x size, or ``wide``: size rows at 16:9 (1080: 1920)."""
    return (size, size * 16 // 9) if wide else (size, size)


@functools.lru_cache(maxsize=1)
def _big_scene() -> tuple[torch.Tensor, torch.Tensor]:
    """The 4M-face torus, tilted and in NDC: built once per process (it takes about a second
    on two cores), its tensors shared by every call (copy them before setting requires_grad)."""
    mesh = torus(**BIG_TORUS)
    a = math.radians(BIG_TILT_DEGREES)
    tilt = torch.tensor(
        [[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]]
    )
    return in_ndc(mesh.verts_packed() @ tilt.T), mesh.faces_packed()


def scene(name: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Vertices (in NDC) and faces of each mesh of the named scene (the big scene's tensors are
    cached: copy them before changing them)."""
    if name == BIG_SCENE:
        verts, faces = _big_scene()
        return [verts], [faces]
    if name == "cow":
        meshes = load_objs_as_meshes([COW_OBJ], load_textures=False)
    elif name == "ico6":
        meshes = ico_sphere(6)
    else:
        meshes = join_meshes_as_batch([ico_sphere(level) for level in BATCH_LEVELS])
    return [in_ndc(v) for v in meshes.verts_list()], meshes.faces_list()


def _setup(name: str, K: int, backward: bool, wide: bool = False) -> Callable:
    def setup(size: int, device: torch.device) -> dict:
        verts, faces = scene(name)
        H, W = image_shape(size, wide)
        x = {
            # copies: the big scene's tensors are cached and shared
            "verts": [v.to(device, copy=True).requires_grad_(backward) for v in verts],
            "faces": [f.to(device) for f in faces],
            "size": (H, W) if wide else size,
            "K": K,
        }
        if backward:
            gen = torch.Generator().manual_seed(0)
            n = len(verts)
            x["grads"] = [torch.randn(shape, generator=gen).to(device)
                          for shape in ((n, H, W, K), (n, H, W, K, 3), (n, H, W, K))]
        return x

    return setup


def _forward(op: Callable) -> Callable:
    def run(x):
        meshes = Meshes(x["verts"], x["faces"])
        return op(meshes, image_size=x["size"], faces_per_pixel=x["K"], **SETTINGS[x["K"]])

    return run


def _fwd_bwd(op: Callable) -> Callable:
    forward = _forward(op)

    def run(x):
        outputs = forward(x)[1:]
        return torch.autograd.grad(outputs, x["verts"], x["grads"])

    return run


# Registered first, so that patterns over the mesh cases (``rasterize_[!p]*``) measure the GPU
# target before the rest.
register_op_cases(
    f"rasterize_{BIG_SCENE}_K1",
    [
        ("", _setup(BIG_SCENE, 1, False, wide=True), _forward, "forward"),
        ("_fwd_bwd", _setup(BIG_SCENE, 1, True, wide=True), _fwd_bwd,
         "forward + backward w.r.t. verts"),
    ],
    native=rasterize_meshes,
    torch_op=rasterize_meshes_torch,
    torch_max_size=0,
    pytorch3d_cpu_max_size=0,
    pytorch3d="pytorch3d.renderer.mesh.rasterize_meshes.rasterize_meshes",
    sizes=(BIG_HEIGHT,),
    quick_sizes=(BIG_HEIGHT,),
    size_label="pixels high (16:9)",
    description=f"rasterize_meshes {{what}}, {BIG_FACES:,}-face torus in NDC at "
    f"{image_shape(BIG_HEIGHT, True)[1]}x{BIG_HEIGHT}, K=1 hard",
    default_devices=("cuda",),
    scene=BIG_SCENE,
    K=1,
    faces=BIG_FACES,
)

for _scene in TORCH_MAX_SIZE:
    for _K in SETTINGS:
        register_op_cases(
            f"rasterize_{_scene}_K{_K}",
            [
                ("", _setup(_scene, _K, False), _forward, "forward"),
                ("_fwd_bwd", _setup(_scene, _K, True), _fwd_bwd,
                 "forward + backward w.r.t. verts"),
            ],
            native=rasterize_meshes,
            torch_op=rasterize_meshes_torch,
            torch_max_size=TORCH_MAX_SIZE[_scene],
            pytorch3d_cpu_max_size=PYTORCH3D_CPU_MAX_SIZE[_scene],
            pytorch3d="pytorch3d.renderer.mesh.rasterize_meshes.rasterize_meshes",
            sizes=SIZES,
            quick_sizes=QUICK_SIZES,
            size_label="pixels per side",
            description=f"rasterize_meshes {{what}}, {_scene} in NDC, K={_K} "
            + ("hard" if _K == 1 else "with blur"),
            scene=_scene,
            K=_K,
        )
