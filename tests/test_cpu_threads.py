"""The CPU launchers' threading policy (csrc/common/cpu_loop.h, issue 23): results do not depend
on the thread count, problems too small to share enter no OpenMP region, and the CLI starts
OpenMP with a passive wait policy unless the user chose one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from contextlib import contextmanager

import pytest
import torch

import r3d
from r3d._native import core
from r3d._native.point_mesh import point_mesh_forward
from r3d.ops import knn_points
from r3d.renderer import rasterize_meshes, rasterize_points
from r3d.structures import Meshes, Pointclouds, join_meshes_as_batch
from r3d.utils import ico_sphere


@contextmanager
def num_threads(n: int):
    """torch's (hence the launchers') thread count set to n for the block."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def spheres(count: int, level: int = 4) -> Meshes:
    """count ico-spheres in front of the camera, each shifted and scaled differently (NDC)."""
    base = ico_sphere(level)
    meshes = []
    for i in range(count):
        verts = base.verts_packed() * (0.6 + 0.2 * i) + torch.tensor([0.1 * i, -0.05 * i, 3.0])
        meshes.append(Meshes([verts], [base.faces_packed()]))
    return join_meshes_as_batch(meshes)


def knn_case() -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """A tree cloud large enough to build as tasks, a brute-force one, an empty one, padding."""
    g = torch.Generator().manual_seed(0)
    p1 = torch.randn(4, 7000, 3, generator=g, requires_grad=True)
    p2 = torch.randn(4, 6000, 3, generator=g)
    l1, l2 = torch.tensor([7000, 300, 0, 2500]), torch.tensor([6000, 200, 40, 2600])
    out = knn_points(p1, p2, l1, l2, K=4)
    (grad,) = torch.autograd.grad(out.dists.sum(), [p1])
    return (out.dists, out.idx), (grad,)


def rasterize_meshes_case() -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Three meshes of 5120 faces: bins filed in shares, the fine pass and the backward's
    per-thread buffers all parallel."""
    meshes = spheres(3)
    verts = meshes.verts_padded().detach().requires_grad_(True)
    meshes = meshes.update_padded(verts)
    pix_to_face, zbuf, bary, dists = rasterize_meshes(
        meshes, image_size=(96, 80), faces_per_pixel=3, blur_radius=1e-4
    )
    (grad,) = torch.autograd.grad(zbuf.sum() + bary.sum() + dists.sum(), [verts])
    return (pix_to_face, zbuf, bary, dists), (grad,)


def rasterize_points_case() -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Two clouds of 15k points."""
    g = torch.Generator().manual_seed(1)
    points = torch.rand(2, 15000, 3, generator=g) * torch.tensor([2.0, 2.0, 1.0]) - 0.9
    points = (points + torch.tensor([0.0, 0.0, 2.0])).requires_grad_(True)
    idx, zbuf, dists = rasterize_points(
        Pointclouds(points), image_size=72, radius=0.04, points_per_pixel=4
    )
    (grad,) = torch.autograd.grad(zbuf.sum() + dists.sum(), [points])
    return (idx, zbuf, dists), (grad,)


def point_mesh_case() -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Both directions between two meshes' faces and two clouds: trees built as tasks."""
    meshes = spheres(2)
    g = torch.Generator().manual_seed(2)
    points = torch.randn(2 * 6000, 3, generator=g) + torch.tensor([0.0, 0.0, 3.0])
    points_first = torch.tensor([0, 6000])
    prims = meshes.verts_packed()[meshes.faces_packed()].contiguous()
    prims_first = meshes.mesh_to_faces_packed_first_idx()
    outputs = []
    for point_queries in (True, False):
        outputs += point_mesh_forward(points, points_first, prims, prims_first, 1e-6, point_queries)
    return tuple(outputs), ()


CASES: dict[str, Callable] = {
    "knn_points": knn_case,
    "rasterize_meshes": rasterize_meshes_case,
    "rasterize_points": rasterize_points_case,
    "point_mesh": point_mesh_case,
}


@pytest.mark.parametrize("case", CASES)
def test_results_do_not_depend_on_the_thread_count(case):
    """Outputs are bit-identical on 1, 2 and 3 threads (inputs large enough for every parallel
    path); gradients, added from per-thread buffers, agree to rounding."""
    with num_threads(1):
        outputs, grads = CASES[case]()
    for n in (2, 3):
        with num_threads(n):
            got_outputs, got_grads = CASES[case]()
        for got, expected in zip(got_outputs, outputs, strict=True):
            assert torch.equal(got, expected), f"{case}: an output differs on {n} threads"
        for got, expected in zip(got_grads, grads, strict=True):
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def run_python(source: str, **env: str) -> subprocess.CompletedProcess:
    """Runs source in a fresh interpreter (outside the source tree), OpenMP settings removed
    from the environment and env added."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_DISPLAY_ENV")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)], env={**clean, **env}, cwd="/",
        capture_output=True, text=True, timeout=300, check=True,
    )


# Counts the process's threads (OpenMP creates its team on the first parallel region and keeps
# it) around small native calls, then around one large enough to share.
THREAD_COUNT_SCRIPT = """
    import os
    import torch
    from r3d.loss import chamfer_distance
    from r3d.ops import knn_points, packed_to_padded
    from r3d.renderer import rasterize_meshes
    from r3d.structures import Meshes
    from r3d.utils import ico_sphere

    torch.set_num_threads(2)
    def threads():
        return len(os.listdir("/proc/self/task"))
    before = threads()
    p = torch.rand(1, 1000, 3)
    knn_points(p, p, K=1)
    chamfer_distance(p, torch.rand(1, 800, 3))
    packed_to_padded(torch.rand(10000, 3), torch.tensor([0, 4000]), 6000)
    sphere = ico_sphere(1)
    sphere = Meshes([sphere.verts_packed() + torch.tensor([0.0, 0.0, 2.0])],
                    [sphere.faces_packed()])
    rasterize_meshes(sphere, image_size=16, faces_per_pixel=2)
    small = threads()
    big = torch.rand(1, 40000, 3)
    knn_points(big, big, K=1)
    print(before, small, threads())
"""


def test_small_problems_enter_no_parallel_region():
    """No OpenMP thread is started by small native calls; a large call does start one (which
    shows that the count can see it)."""
    before, small, large = map(int, run_python(THREAD_COUNT_SCRIPT).stdout.split())
    assert small == before
    assert large > small


# What the OpenMP runtime (torch's libgomp) read from the environment when it loaded.
DISPLAY_SCRIPT = """
    import r3d.cli.main  # noqa: F401  (what the r3d script imports first)
    import torch
    torch.rand(4).sum()
"""


def spin_count(stderr: str) -> str | None:
    """GOMP_SPINCOUNT as libgomp's OMP_DISPLAY_ENV report gives it (None without one)."""
    for line in stderr.splitlines():
        if line.strip().startswith("GOMP_SPINCOUNT"):
            return line.split("=", 1)[1].strip().strip("'")
    return None


def test_cli_threads_sleep_when_idle():
    """The CLI sets OMP_WAIT_POLICY=PASSIVE before torch loads its OpenMP runtime, so that
    runtime's idle threads sleep at once (spin count 0) instead of spinning."""
    default = spin_count(run_python("import torch", OMP_DISPLAY_ENV="VERBOSE").stderr)
    if default is None:
        pytest.skip("torch's OpenMP runtime is not libgomp (no GOMP_SPINCOUNT report)")
    assert default != "0"  # the runtime's own default spins
    assert spin_count(run_python(DISPLAY_SCRIPT, OMP_DISPLAY_ENV="VERBOSE").stderr) == "0"


@pytest.mark.parametrize("setting", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "1234"}])
def test_cli_keeps_the_users_wait_policy(setting):
    """A wait policy or spin count the user set is left as it is."""
    default = spin_count(run_python("import torch", OMP_DISPLAY_ENV="VERBOSE").stderr)
    if default is None:
        pytest.skip("torch's OpenMP runtime is not libgomp (no GOMP_SPINCOUNT report)")
    got = spin_count(run_python(DISPLAY_SCRIPT, OMP_DISPLAY_ENV="VERBOSE", **setting).stderr)
    assert got not in ("0", None)
    if "GOMP_SPINCOUNT" in setting:
        assert got == "1234"


@pytest.mark.parametrize(("requested", "others", "cpus", "expected"), [
    (2, 0, 2, 2),   # quiet: every thread asked for
    (2, 1, 2, 1),   # one core busy: no second thread
    (2, 6, 2, 1),   # oversubscribed: still the calling thread
    (16, 3, 16, 13),
    (4, 0, 16, 4),  # never more than asked for
    (1, 0, 2, 1),
])
def test_team_size_leaves_the_busy_cores(requested, others, cpus, expected):
    """A team takes one thread per core that other processes' runnable threads leave idle, at
    least one and at most the count asked for."""
    assert r3d._C.threads_for_load(requested, others, cpus) == expected


USABLE_SCRIPT = """
    import r3d._C as C
    print(*(C.usable_threads(n) for n in (1, 2, 3)))
"""


def test_usable_threads_within_what_was_asked():
    """With load awareness on, a team takes between one thread and the count asked for (how
    many depends on the machine's load at the moment); with R3D_LOAD_AWARE_THREADS=0, the
    count asked for."""
    on = list(map(int, run_python(USABLE_SCRIPT, R3D_LOAD_AWARE_THREADS="1").stdout.split()))
    assert on[0] == 1 and all(1 <= got <= n for got, n in zip(on, (1, 2, 3)))
    off = run_python(USABLE_SCRIPT, R3D_LOAD_AWARE_THREADS="0").stdout.split()
    assert off == ["1", "2", "3"]


def test_load_aware_threads_lowers_torch_threads_while_busy(monkeypatch):
    """Within load_aware_threads torch's thread count is what the machine's load allows, and it
    is set back on leaving, on an error too; a quiet machine leaves it as it is."""
    with num_threads(3):
        monkeypatch.setattr(core, "usable_threads", lambda n: 1)
        with core.load_aware_threads():
            assert torch.get_num_threads() == 1
        with pytest.raises(ValueError), core.load_aware_threads():
            raise ValueError("inside")
        assert torch.get_num_threads() == 3
        monkeypatch.setattr(core, "usable_threads", lambda n: n)
        with core.load_aware_threads():
            assert torch.get_num_threads() == 3


def test_ops_restore_torch_threads_on_a_busy_machine(monkeypatch):
    """A native op run while the machine is busy (its torch ops on fewer threads) gives the
    same results and leaves torch's thread count as it was."""
    p1, p2 = torch.rand(1, 3000, 3), torch.rand(1, 2000, 3)
    with num_threads(2):
        expected = knn_points(p1, p2, K=3)
        monkeypatch.setattr(core, "usable_threads", lambda n: 1)
        got = knn_points(p1, p2, K=3)
        assert torch.get_num_threads() == 2
    assert torch.equal(got.idx, expected.idx) and torch.equal(got.dists, expected.dists)
