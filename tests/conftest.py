"""Shared test fixtures: random heterogeneous batches and device selection."""

from __future__ import annotations

import os

# As the r3d command does (cli/__init__.py): idle OpenMP threads sleep instead of spinning, which
# on a shared or loaded machine (CI runners) makes the suite several times slower. Set before
# torch loads its OpenMP runtime; a policy given in the environment wins.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
# The launchers' teams take the threads asked for even on a busy machine (csrc/common/
# machine_load.h would take fewer), so that the tests of the parallel paths run them; the tests
# of the load-aware team size turn it back on in subprocesses.
os.environ.setdefault("R3D_LOAD_AWARE_THREADS", "0")

import shutil  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from r3d.value_checks import set_checks  # noqa: E402

# Tests run with value checks on: a bad value raises at the call on CUDA too (CPU always does).
set_checks(True)


def random_packed_mesh_batch(
    verts_per_mesh: list[int],
    faces_per_mesh: list[int],
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Packed verts (V, 3) and faces (F, 3) of a batch; mesh i's faces index only its verts.

    A mesh with 0 verts must have 0 faces; a mesh may have verts and no faces. The three corners
    of a face are distinct vertices (degenerate faces are tested on their own).
    """
    g = torch.Generator().manual_seed(seed)
    verts, faces, offset = [], [], 0
    for nv, nf in zip(verts_per_mesh, faces_per_mesh, strict=True):
        assert nv > 0 or nf == 0
        verts.append(torch.randn(nv, 3, generator=g, dtype=torch.float64))
        assert nf == 0 or nv >= 3
        corners = torch.rand(nf, max(nv, 1), generator=g).argsort(dim=1)[:, :3]
        faces.append(corners.reshape(nf, 3) + offset)
        offset += nv
    return (
        torch.cat(verts).to(dtype=dtype, device=device),
        torch.cat(faces).to(device=device),
    )


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """Every device with a native kernel available here (cpu, and cuda when a GPU is present)."""
    return request.param


@pytest.fixture(scope="session")
def r3d_exe() -> str:
    """Path of the installed ``r3d`` console script: the venv's own, even when not on PATH."""
    beside = Path(sys.executable).with_name("r3d")
    exe = str(beside) if beside.exists() else shutil.which("r3d")
    assert exe is not None, "the r3d console script is not installed"
    return exe


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright (tests/browser.py), for the HTML viewer's tests.

    Without Playwright or a Chromium the tests that use it are skipped, saying what to install;
    with ``R3D_REQUIRE_BROWSER=1`` (set by .ci/run where it installed one) they fail instead, so
    that a broken setup cannot pass as skips."""
    from browser import BrowserUnavailable, start

    try:
        session, missing = start(), None
    except BrowserUnavailable as exc:
        session, missing = None, str(exc)
    if missing and os.environ.get("R3D_REQUIRE_BROWSER") == "1":
        pytest.fail(f"R3D_REQUIRE_BROWSER=1 but {missing}", pytrace=False)
    if missing:
        pytest.skip(missing)
    yield session.browser
    session.close()
