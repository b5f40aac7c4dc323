"""The hot paths read no tensor value on the host when checks are deferred (as on CUDA with
checks off): a CPU stand-in for the GPU check's torch.cuda.set_sync_debug_mode("error")."""

from __future__ import annotations

import pytest
import torch
from host_reads import HostReads

from r3d import doctor, value_checks
from r3d.bench.cases.compiled import chamfer_inputs, chamfer_knn_loss, make_fit_loss, with_grads
from r3d.bench.cases.volume_render import fuzzy_ball
from r3d.renderer import (
    EmissionAbsorptionRaymarcher,
    FoVPerspectiveCameras,
    NDCMultinomialRaysampler,
    VolumeRenderer,
)
from r3d.structures import Volumes


@pytest.fixture
def deferred(monkeypatch):
    monkeypatch.setitem(value_checks._state, "checks", False)
    monkeypatch.setitem(value_checks._state, "immediate", frozenset())
    monkeypatch.setattr(value_checks, "_flags", {})
    yield
    value_checks.check_errors()


def _reads_of_second_step(loss, *inputs) -> set[tuple[str, str]]:
    with_grads(loss, *inputs)  # the first step fills the topology caches
    with HostReads() as reads:
        with_grads(loss, *inputs)
    return {(name, where.split(":")[0]) for name, where in reads.found}


def test_fit_step_reads_nothing(deferred):
    loss, deform = make_fit_loss(1, torch.device("cpu"), perspective_correct=False)
    assert _reads_of_second_step(loss, deform) == set()


def test_perspective_fit_step_reads_only_the_clip_decision(deferred):
    loss, deform = make_fit_loss(1, torch.device("cpu"))
    assert _reads_of_second_step(loss, deform) == {
        ("__bool__", "renderer/mesh/rasterize_meshes.py")}


def test_chamfer_knn_step_reads_nothing(deferred):
    x = chamfer_inputs(50, torch.device("cpu"))
    assert _reads_of_second_step(chamfer_knn_loss, x["x"], x["y"]) == set()


@pytest.mark.parametrize("rays", [{}, {"n_rays_per_image": 50}])
def test_volume_render_step_reads_nothing(deferred, rays):
    """Rendering a volume and its backward (the objects are built from host numbers first)."""
    x = fuzzy_ball(8, torch.device("cpu"))
    volumes = Volumes(x["densities"], x["features"], voxel_size=2 / 7)
    cameras = FoVPerspectiveCameras(R=x["R"], T=x["T"], fov=45.0)
    sampler = NDCMultinomialRaysampler(image_width=16, image_height=12, n_pts_per_ray=8,
                                       min_depth=1.5, max_depth=4.5, stratified_sampling=True)
    renderer = VolumeRenderer(sampler, EmissionAbsorptionRaymarcher())
    with HostReads() as reads:
        images, _ = renderer(cameras, volumes, **rays)
        torch.autograd.grad(images.sum(), (x["densities"], x["features"]))
    assert reads.found == []


def test_the_stand_in_sees_host_reads():
    code = compile("def f(t):\n    bool(t.any())\n    t[t > 0]\n    torch.unique(t)\n"
                   "    torch.repeat_interleave(t, t)\n    int(t.max())\n",
                   "/somewhere/r3d/fake.py", "exec")
    scope = {"torch": torch}
    exec(code, scope)
    with HostReads() as reads:
        scope["f"](torch.tensor([1, 0, 2]))
    assert [name for name, _ in reads.found] == [
        "__bool__", "__getitem__", "unique", "repeat_interleave", "__int__"]
    assert reads.found[0][1] == "fake.py:2"


# marching_cubes returns lists sized by the data; the self-test gives sample_farthest_points
# its K as a list, which is copied to the device
SIZED_ON_THE_HOST = {"marching_cubes": {"tensor", "tolist"}, "sample_farthest_points": {"tensor"}}


@pytest.mark.parametrize("op", doctor.NATIVE_OPS, ids=lambda op: op.name)
def test_native_ops_read_nothing(deferred, op):
    call = op.setup(torch.device("cpu"), torch.Generator().manual_seed(0))
    call()
    with HostReads() as reads:
        call()
    assert {name for name, _ in reads.found} <= SIZED_ON_THE_HOST.get(op.name, set())
