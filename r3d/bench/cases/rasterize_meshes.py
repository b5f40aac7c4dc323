"""Benchmark cases of mesh rasterisation, rasterize_meshes (run by ``r3d bench``).

``rasterize_{scene}_K{K}`` and ``..._fwd_bwd``, at image size S x S (the case's size: 256, 512
and 1024; 64 in quick runs), float32, the scene centred in NDC (radius 0.8, depth 2):
``cow``: the bundled textured cow (5,856 faces); ``ico6``: an ico_sphere of level 6 (81,920
faces, the size of a scanned model); ``batch8``: a heterogeneous batch of 8 ico_spheres of levels
2 to 5; ``armadillo``: the Stanford armadillo (86,482 faces, a real scan) from the shared test
meshes (``../shared/data/meshes`` next to the repository, or the folder ``R3D_BENCH_MESHES``
names; its cases are registered only when the file is there), K = 1 only; ``torus1m``: a torus of
exactly 1,000,000 faces (``torus(0.35, 1.0, sides=500, rings=1000)``, tilted 60 degrees about x
as the GPU target below) at 1024 only, K = 1 only. K = 1 hard (blur 0) or K = 50 soft (blur
radius 1e-4, about one pixel at S = 256, barycentrics clipped). The backward variant also takes
the gradient w.r.t. the vertices from random upstream gradients of zbuf, bary_coords and dists.

Contenders: r3d (native kernels), its pure-PyTorch twin (only up to the size where it takes a
few seconds), PyTorch3D when importable (on the CPU, where it rasterises naively: the cow up to
512 at K = 1 and 256 at K = 50, the armadillo at 256 only, where a call takes minutes; no other
scene) and, for the K = 1 forward on the CPU when trimesh and embreex import, Embree's first
hit per pixel through trimesh (``RayMeshIntersector.intersects_first``): one ray per pixel
centre, along +z from depth 0, the rays r3d's rasteriser tests (NDC x, y of the pixel centre;
the vertices are already in NDC and z is the depth). ``embree`` builds the mesh's BVH when the
inputs are prepared, outside the timing, so only the query is timed, as a ray tracer reusing a
static scene pays (the stricter bar: r3d's time includes its binning, the Python wrapper and all
four outputs, Embree's only the face index); ``embree_build`` builds the BVH inside the timed
call, as a renderer whose vertices move every step would pay. trimesh's embreex query runs on
one thread.

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
import importlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from r3d.bench.cases._inputs import COW_OBJ, IMAGE_SIZES
from r3d.bench.cases.knn import cpu_peer_available
from r3d.bench.contenders import op_contenders, register_op_cases
from r3d.bench.registry import Contender, register_case
from r3d.io import load_objs_as_meshes
from r3d.renderer import rasterize_meshes
from r3d.renderer.mesh import rasterize_meshes_torch
from r3d.structures import Meshes, join_meshes_as_batch
from r3d.utils import ico_sphere, torus

QUICK_SIZES = (64,)  # keeps ``r3d bench --quick`` (every case) in about a minute
SETTINGS = {1: dict(blur_radius=0.0), 50: dict(blur_radius=1e-4, clip_barycentric_coords=True)}
BATCH_LEVELS = (2, 5, 3, 4, 2, 4, 3, 5)
MESHES_DIR = Path(os.environ.get(
    "R3D_BENCH_MESHES", Path(__file__).resolve().parents[3].parent / "shared" / "data" / "meshes"
))
ARMADILLO_OBJ = MESHES_DIR / "armadillo.obj"
PYTORCH3D = "pytorch3d.renderer.mesh.rasterize_meshes.rasterize_meshes"
EMBREE = "trimesh.ray.ray_pyembree"


@dataclass(frozen=True)
class SceneCases:
    """The cases of one scene: image sides, K values, and the largest side the pure-PyTorch
    twin and PyTorch3D (on the CPU, where it rasterises naively: every pixel against every
    face) run at, per K (0: never)."""

    sizes: tuple[int, ...]
    Ks: tuple[int, ...]
    torch_max_size: int
    pytorch3d_cpu_max_size: dict[int, int]


SCENES = {
    # the cow: seconds a PyTorch3D call at 256 (K = 50) and 512 (K = 1)
    "cow": SceneCases(IMAGE_SIZES, (1, 50), 512, {1: 512, 50: 256}),
    # ico6: PyTorch3D already takes seconds at 128
    "ico6": SceneCases(IMAGE_SIZES, (1, 50), 256, {1: 0, 50: 0}),
    "batch8": SceneCases(IMAGE_SIZES, (1, 50), 256, {1: 0, 50: 0}),
    # the armadillo: about a minute a PyTorch3D call at 256
    "armadillo": SceneCases(IMAGE_SIZES, (1,), 256, {1: 256}),
    "torus1m": SceneCases((1024,), (1,), 0, {1: 0}),
}
MID_TORUS = dict(r=0.35, R=1.0, sides=500, rings=1000)  # torus1m: 1,000,000 faces
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


@functools.lru_cache(maxsize=2)
def _tilted_torus(sides: int, rings: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A torus of 2 * sides * rings faces (tube radius 0.35, ring radius 1), tilted and in
    NDC: built once per process (the 4M-face one takes about a second on two cores), its
    tensors shared by every call (copy them before setting requires_grad)."""
    mesh = torus(0.35, 1.0, sides=sides, rings=rings)
    a = math.radians(BIG_TILT_DEGREES)
    tilt = torch.tensor(
        [[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]]
    )
    return in_ndc(mesh.verts_packed() @ tilt.T), mesh.faces_packed()


def _big_scene() -> tuple[torch.Tensor, torch.Tensor]:
    """The 4M-face torus of the GPU target, tilted and in NDC (cached)."""
    return _tilted_torus(BIG_TORUS["sides"], BIG_TORUS["rings"])


@functools.lru_cache(maxsize=1)
def _armadillo() -> tuple[torch.Tensor, torch.Tensor]:
    """The armadillo's vertices in NDC and faces (read once per process)."""
    mesh = load_objs_as_meshes([ARMADILLO_OBJ], load_textures=False)
    return in_ndc(mesh.verts_packed()), mesh.faces_packed()


def scene(name: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Vertices (in NDC) and faces of each mesh of the named scene (the tori's and the
    armadillo's tensors are cached: copy them before changing them)."""
    if name in (BIG_SCENE, "torus1m", "armadillo"):
        verts, faces = {
            BIG_SCENE: _big_scene,
            "torus1m": lambda: _tilted_torus(MID_TORUS["sides"], MID_TORUS["rings"]),
            "armadillo": _armadillo,
        }[name]()
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


def pixel_rays(H: int, W: int) -> tuple:
    """One ray per pixel of an H x W image, row-major: origins (H * W, 3) at the pixel centres'
    NDC x, y (common/raster.h's convention) at depth 0, directions (H * W, 3) along +z, as
    float32 NumPy arrays."""
    min_side = min(H, W)
    ys = (H - 2 * torch.arange(H, dtype=torch.float64) - 1) / min_side
    xs = (W - 2 * torch.arange(W, dtype=torch.float64) - 1) / min_side
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    origins = torch.stack([x, y, torch.zeros_like(x)], -1).reshape(-1, 3).float()
    directions = torch.zeros_like(origins)
    directions[:, 2] = 1.0
    return origins.numpy(), directions.numpy()


def _embree_scene(verts: torch.Tensor, faces: torch.Tensor):
    """trimesh's Embree intersector of one mesh, its BVH built (by a first query)."""
    trimesh = importlib.import_module("trimesh")
    mesh = trimesh.Trimesh(verts.detach().cpu().numpy(), faces.cpu().numpy(), process=False)
    intersector = importlib.import_module(EMBREE).RayMeshIntersector(mesh)
    intersector.intersects_first([[0.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
    return intersector


def _embree_inputs(built: bool) -> Callable[[dict], dict]:
    """prepare(x) of the Embree contenders: the rays of the image, and each mesh's intersector
    (``built``) or its vertices and faces."""
    def prepare(x: dict) -> dict:
        H, W = image_shape(x["size"], False) if isinstance(x["size"], int) else x["size"]
        meshes = list(zip(x["verts"], x["faces"]))
        return {
            "rays": pixel_rays(H, W), "shape": (H, W),
            "scenes": [_embree_scene(v, f) for v, f in meshes] if built else None,
            "meshes": meshes,
        }

    return prepare


def _embree_first_hit(build: bool) -> Callable[[dict], list]:
    """run(prepared) of the Embree contenders: each mesh's first face hit per pixel (H, W),
    -1 for none, building its BVH first when ``build``."""
    def run(p: dict) -> list:
        scenes = [_embree_scene(v, f) for v, f in p["meshes"]] if build else p["scenes"]
        return [s.intersects_first(*p["rays"]).reshape(p["shape"]) for s in scenes]

    return run


def embree_contenders() -> list[Contender]:
    """Embree's first hit per pixel, its BVH built outside (``embree``) or inside the timing
    (``embree_build``): CPU only, when trimesh's embreex intersector imports."""
    available = cpu_peer_available(EMBREE)
    return [
        Contender("embree", _embree_first_hit(False), "peer", available, _embree_inputs(True)),
        Contender("embree_build", _embree_first_hit(True), "peer", available,
                  _embree_inputs(False)),
    ]


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
    pytorch3d=PYTORCH3D,
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

for _scene, _cases in SCENES.items():
    if _scene == "armadillo" and not ARMADILLO_OBJ.is_file():
        continue
    for _K in _cases.Ks:
        for _suffix, _backward, _make_run, _what in (
            ("", False, _forward, "forward"),
            ("_fwd_bwd", True, _fwd_bwd, "forward + backward w.r.t. verts"),
        ):
            register_case(
                f"rasterize_{_scene}_K{_K}{_suffix}",
                sizes=_cases.sizes,
                quick_sizes=QUICK_SIZES,
                setup=_setup(_scene, _K, _backward),
                size_label="pixels per side",
                description=f"rasterize_meshes {_what}, {_scene} in NDC, K={_K} "
                + ("hard" if _K == 1 else "with blur"),
                contenders=op_contenders(
                    rasterize_meshes, rasterize_meshes_torch, _make_run, PYTORCH3D,
                    _cases.torch_max_size, _cases.pytorch3d_cpu_max_size[_K],
                ) + (embree_contenders() if _K == 1 and not _backward else []),
                scene=_scene,
                K=_K,
            )
