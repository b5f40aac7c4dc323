"""What this r3d install can do: versions, the native module ``r3d._C`` and how it was built,
the devices torch sees and which ops have native kernels on each, and a self-test that runs
every native op against its pure-PyTorch twin (``r3d doctor`` prints all of it).

The ops with native kernels are listed once, in :data:`NATIVE_OPS`, each with the small
self-test case that calls it through its public function."""

from __future__ import annotations

import importlib.util
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

import r3d
from r3d import loss, renderer
from r3d._native import core
from r3d.loss import chamfer_distance
from r3d.ops import (
    add_points_features_to_volume_densities_features,
    ball_query,
    gather_scatter,
    interpolate_face_attributes,
    knn_points,
    marching_cubes,
    mesh_face_areas_normals,
    packed_to_padded,
    padded_to_packed,
    sample_farthest_points,
    voxelize_meshes,
)
from r3d.renderer import rasterize_meshes, rasterize_points
from r3d.structures import Meshes, Pointclouds
from r3d.utils import ico_sphere

SELF_TEST_DTYPE = torch.float32
SKIPPED_BUDGET = "skipped (time budget)"

Outputs = Callable[[], object]


@dataclass(frozen=True)
class NativeOp:
    """An op with native kernels: its public ``name`` and ``setup(device, gen)``, which builds a
    small random heterogeneous input on ``device`` and returns the call of the public function
    on it (run once natively and once under :func:`r3d._native.torch_only`)."""

    name: str
    setup: Callable[[torch.device, torch.Generator], Outputs]


# ---- inputs of the self-test cases ------------------------------------------------------------


def _rand(gen: torch.Generator, device: torch.device, *shape: int) -> torch.Tensor:
    """Uniform [0, 1) values of :data:`SELF_TEST_DTYPE`, drawn on the CPU, moved to ``device``."""
    return torch.rand(*shape, generator=gen, dtype=SELF_TEST_DTYPE).to(device)


def _clouds(device: torch.device, gen: torch.Generator):
    """Two padded batches of two clouds of different sizes: p1 (2, 40, 3), p2 (2, 50, 3) and
    their lengths."""
    p1, p2 = _rand(gen, device, 2, 40, 3), _rand(gen, device, 2, 50, 3)
    lengths1 = torch.tensor([40, 23], device=device)
    lengths2 = torch.tensor([50, 31], device=device)
    return p1, p2, lengths1, lengths2


def _meshes(device: torch.device, gen: torch.Generator):
    """Two jittered ico-spheres (80 and 320 faces) in front of the camera (x, y in NDC,
    z in [1, 3])."""

    verts, faces = [], []
    for level, scale in ((1, 0.5), (2, 0.8)):
        sphere = ico_sphere(level)
        v = sphere.verts_packed().to(SELF_TEST_DTYPE)
        jitter = 0.05 * torch.randn(v.shape, generator=gen, dtype=SELF_TEST_DTYPE)
        verts.append((scale * (v + jitter) + torch.tensor([0.1, -0.1, 2.0])).to(device))
        faces.append(sphere.faces_packed().to(device))
    return Meshes(verts=verts, faces=faces)


def _pointclouds(device: torch.device, gen: torch.Generator):
    """Two clouds (60 and 25 points) in front of the camera, with 4 features per point."""

    points = [_rand(gen, device, n, 3) * 1.6 - 0.8 for n in (60, 25)]
    points = [p + torch.tensor([0.0, 0.0, 2.0], device=device) for p in points]
    features = [_rand(gen, device, n, 4) for n in (60, 25)]
    return Pointclouds(points=points, features=features)


def _fragments(gen: torch.Generator, device: torch.device, num: int, last: int):
    """Indices in [-1, ``num``) (-1: empty) of shape (2, last, 6, 7) and matching weights."""
    idx = torch.randint(-1, num, (2, last, 6, 7), generator=gen).to(device)
    return idx, _rand(gen, device, 2, last, 6, 7)


# ---- the self-test cases ----------------------------------------------------------------------


def _knn(device, gen):
    p1, p2, l1, l2 = _clouds(device, gen)
    return lambda: knn_points(p1, p2, l1, l2, K=4, return_nn=True)


def _chamfer(device, gen):
    p1, p2, l1, l2 = _clouds(device, gen)
    return lambda: chamfer_distance(p1, p2, l1, l2)[0]


def _ball_query(device, gen):
    p1, p2, l1, l2 = _clouds(device, gen)
    return lambda: ball_query(p1, p2, l1, l2, K=6, radius=0.3)


def _farthest(device, gen):
    _, p2, _, l2 = _clouds(device, gen)
    return lambda: sample_farthest_points(p2, l2, K=[12, 7])


def _point_mesh(loss_name: str):
    def setup(device, gen):
        meshes, pcls = _meshes(device, gen), _pointclouds(device, gen)
        return lambda: getattr(loss, loss_name)(meshes, pcls)

    return setup


def _rasterize_meshes(device, gen):
    meshes = _meshes(device, gen)
    return lambda: rasterize_meshes(meshes, image_size=(24, 32), blur_radius=1e-3,
                                    faces_per_pixel=3)


def _rasterize_points(device, gen):
    pcls = _pointclouds(device, gen)
    return lambda: rasterize_points(pcls, image_size=(24, 32), radius=0.1, points_per_pixel=4)


def _compositor(name: str):
    def setup(device, gen):
        idx, alphas = _fragments(gen, device, 30, 4)
        features = _rand(gen, device, 3, 30)
        return lambda: getattr(renderer, name)(idx, alphas, features)

    return setup


def _interpolate(device, gen):
    pix_to_face, _ = _fragments(gen, device, 20, 3)
    bary = _rand(gen, device, *pix_to_face.shape, 3)
    attributes = _rand(gen, device, 20, 3, 5)
    return lambda: interpolate_face_attributes(pix_to_face, bary, attributes)


def _packed_to_padded(device, gen):
    packed = _rand(gen, device, 30, 4)
    first = torch.tensor([0, 12, 12, 21], device=device)
    return lambda: packed_to_padded(packed, first, 12)


def _padded_to_packed(device, gen):
    padded = _rand(gen, device, 3, 10, 4)
    first = torch.tensor([0, 10, 13], device=device)
    return lambda: padded_to_packed(padded, first, 20)


def _face_areas_normals(device, gen):
    meshes = _meshes(device, gen)
    return lambda: mesh_face_areas_normals(meshes.verts_packed(), meshes.faces_packed())


def _mesh_loss(name: str, *args):
    def setup(device, gen):
        meshes = _meshes(device, gen)
        return lambda: getattr(loss, name)(meshes, *args)

    return setup


def _gather_scatter(device, gen):
    meshes = _meshes(device, gen)
    features = _rand(gen, device, int(meshes.num_verts_per_mesh().sum()), 5)
    return lambda: gather_scatter(features, meshes.edges_packed())


def _marching_cubes(device, gen):
    volumes = _rand(gen, device, 2, 7, 8, 9)
    return lambda: marching_cubes(volumes, isolevel=0.5)


def _points_to_volumes(device, gen):
    points = _rand(gen, device, 2, 60, 3) * 2.2 - 1.1
    features = _rand(gen, device, 2, 60, 4)
    densities = _rand(gen, device, 2, 1, 6, 7, 8)
    volume_features = _rand(gen, device, 2, 4, 6, 7, 8)
    mask = (torch.arange(60) < torch.tensor([[60], [25]])).to(device)
    grid_sizes = torch.tensor([[6, 7, 8], [4, 7, 5]], device=device)
    return lambda: add_points_features_to_volume_densities_features(
        points, features, densities, volume_features, mask=mask, grid_sizes=grid_sizes)


def _voxelize(device, gen):
    meshes = _meshes(device, gen)
    meshes = Meshes(verts=[*meshes.verts_list(), meshes.verts_list()[0][:0]],
                    faces=[*meshes.faces_list(), meshes.faces_list()[0][:0]])
    return lambda: voxelize_meshes(meshes, (9, 10, 11))


NATIVE_OPS: tuple[NativeOp, ...] = (
    NativeOp("knn_points", _knn),
    NativeOp("chamfer_distance", _chamfer),
    NativeOp("ball_query", _ball_query),
    NativeOp("sample_farthest_points", _farthest),
    NativeOp("point_mesh_face_distance", _point_mesh("point_mesh_face_distance")),
    NativeOp("point_mesh_edge_distance", _point_mesh("point_mesh_edge_distance")),
    NativeOp("rasterize_meshes", _rasterize_meshes),
    NativeOp("rasterize_points", _rasterize_points),
    NativeOp("alpha_composite", _compositor("alpha_composite")),
    NativeOp("norm_weighted_sum", _compositor("norm_weighted_sum")),
    NativeOp("weighted_sum", _compositor("weighted_sum")),
    NativeOp("interpolate_face_attributes", _interpolate),
    NativeOp("packed_to_padded", _packed_to_padded),
    NativeOp("padded_to_packed", _padded_to_packed),
    NativeOp("mesh_face_areas_normals", _face_areas_normals),
    NativeOp("mesh_edge_loss", _mesh_loss("mesh_edge_loss", 0.1)),
    NativeOp("mesh_normal_consistency", _mesh_loss("mesh_normal_consistency")),
    NativeOp("mesh_laplacian_smoothing", _mesh_loss("mesh_laplacian_smoothing", "uniform")),
    NativeOp("gather_scatter", _gather_scatter),
    NativeOp("marching_cubes", _marching_cubes),
    NativeOp("add_points_features_to_volume_densities_features", _points_to_volumes),
    NativeOp("voxelize_meshes", _voxelize),
)
"""Every op that chooses a native kernel with :func:`r3d._native.use_native` (GraphConv's
neighbour sum is ``gather_scatter``), in the order ``r3d doctor`` lists them."""

NATIVE_OP_NAMES = tuple(op.name for op in NATIVE_OPS)


# ---- the system report ------------------------------------------------------------------------


def system_report() -> dict:
    """Versions, the native module, torch's threads and the devices torch sees, as plain
    JSON-ready values (see ``r3d doctor --json``)."""
    return {
        "r3d": {"version": r3d.__version__, "path": str(Path(r3d.__file__).parent)},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": {
            "version": torch.__version__,
            "cuda": torch.version.cuda,
            "threads": torch.get_num_threads(),
        },
        "native": native_report(),
        "native_ops": list(NATIVE_OP_NAMES),
        "devices": [device_report(device, name, capability)
                    for device, name, capability in visible_devices()],
    }


def native_report() -> dict:
    """The native module: whether it imported (else the import error), its file, its
    ``build_info()`` and the CUDA driver version it sees (e.g. 12040; 0: no driver)."""
    C = core._C
    if C is None:
        spec = importlib.util.find_spec("r3d._C")
        return {"imported": False, "error": str(core._IMPORT_ERROR),
                "path": spec.origin if spec is not None else None,
                "build": None, "cuda_driver_version": None}
    return {"imported": True, "error": None, "path": C.__file__, "build": dict(C.build_info()),
            "cuda_driver_version": int(C.cuda_driver_version())}


def visible_devices() -> list[tuple[torch.device, str, str | None]]:
    """(device, name, compute capability or None) of the CPU, every CUDA device torch sees and
    MPS when available."""
    devices = [(torch.device("cpu"), cpu_name(), None)]
    for i in range(torch.cuda.device_count()):
        major, minor = torch.cuda.get_device_capability(i)
        devices.append((torch.device("cuda", i), torch.cuda.get_device_name(i),
                        f"{major}.{minor}"))
    if torch.backends.mps.is_available():
        devices.append((torch.device("mps"), "Apple MPS", None))
    return devices


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_report(device: torch.device, name: str, capability: str | None) -> dict:
    """One device: its name, capability, whether native kernels exist there for each float
    dtype, and the ops that run natively there."""
    native = {core.DTYPE_NAMES[dtype]: core.has_native(device, dtype)
              for dtype in core.FLOAT_DTYPES}
    return {"device": str(device), "name": name, "capability": capability, "native": native,
            "native_ops": list(NATIVE_OP_NAMES) if any(native.values()) else []}


def self_test_devices() -> list[torch.device]:
    """The devices the self-test runs on by default: those with native kernels."""
    return [device for device, _, _ in visible_devices()
            if core.has_native(device, SELF_TEST_DTYPE)]


# ---- the self-test ----------------------------------------------------------------------------


def self_test(device: torch.device | str, budget_s: float = 2.0,
              ops: Sequence[NativeOp] = NATIVE_OPS) -> list[dict]:
    """Runs each op of ``ops`` on a small input on ``device``, natively and as its pure-PyTorch
    twin, and compares the outputs (torch.testing's tolerances for float32).

    Each row: ``op``, ``status`` ("ok", "MISMATCH", "error: <message>", "skipped (...)"),
    ``max_abs_diff`` (None when not run or when the outputs' shapes differ) and the times
    ``native_ms`` / ``torch_ms`` of one call (None when not run). Ops left once ``budget_s``
    seconds have passed are skipped."""
    device = torch.device(device)
    if not core.has_native(device, SELF_TEST_DTYPE):
        return [_row(op.name, f"skipped (no native kernel on {device.type})") for op in ops]
    _synchronize(device)  # creates the CUDA context before the first op is timed
    start = time.perf_counter()
    rows = []
    for i, op in enumerate(ops):
        if time.perf_counter() - start > budget_s:
            rows += [_row(rest.name, SKIPPED_BUDGET) for rest in ops[i:]]
            break
        rows.append(_test_op(op, device, seed=i))
    return rows


def failed(rows: Sequence[dict]) -> list[dict]:
    """The rows of a self-test whose status is a mismatch or an error."""
    return [row for row in rows if row["status"] == "MISMATCH" or row["status"].startswith("error")]


def _row(op: str, status: str, diff: float | None = None, native_ms: float | None = None,
         torch_ms: float | None = None) -> dict:
    return {"op": op, "status": status, "max_abs_diff": diff, "native_ms": native_ms,
            "torch_ms": torch_ms}


def _test_op(op: NativeOp, device: torch.device, seed: int) -> dict:
    """One self-test row: ``op`` run natively and under torch_only on equal inputs (built
    twice from ``seed``, so that no cached intermediate of one run is reused by the other)."""
    try:
        native, native_ms = _timed(op.setup(device, torch.Generator().manual_seed(seed)), device)
        twin_call = op.setup(device, torch.Generator().manual_seed(seed))
        with core.torch_only():
            twin, torch_ms = _timed(twin_call, device)
        diff, close = compare(native, twin)
    except Exception as exc:  # noqa: BLE001 - a failing op is a row of the report
        return _row(op.name, f"error: {type(exc).__name__}: {exc}")
    return _row(op.name, "ok" if close else "MISMATCH", diff, native_ms, torch_ms)


def _timed(call: Outputs, device: torch.device) -> tuple[object, float]:
    """``call()``'s result and its wall time in milliseconds (synchronised on CUDA, before and
    after, so that the time is the call's own)."""
    _synchronize(device)
    start = time.perf_counter()
    out = call()
    _synchronize(device)
    return out, (time.perf_counter() - start) * 1e3


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tensors(out: object) -> list[torch.Tensor]:
    """The tensors of an op's output (nested tuples and lists, in order; None skipped)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in tensors(item)]
    return []


def compare(native: object, twin: object) -> tuple[float | None, bool]:
    """(largest absolute difference, whether all tensors are close as torch.testing.assert_close
    judges them) between two outputs; (None, False) when their structure or shapes differ."""
    a, b = tensors(native), tensors(twin)
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return None, False
    diff = max((_max_abs_diff(x, y) for x, y in zip(a, b)), default=0.0)
    try:
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, equal_nan=True)
    except AssertionError:
        return diff, False
    return diff, True


def _max_abs_diff(x: torch.Tensor, y: torch.Tensor) -> float:
    if x.numel() == 0:
        return 0.0
    return float((x.detach().double() - y.detach().double().to(x.device)).abs().max())
