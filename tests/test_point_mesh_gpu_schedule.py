"""The CUDA point <-> mesh forward (a tree per batch item built on the GPU: Morton codes, sort,
Karras' construction, bottom-up boxes, a search per query), run on the host
(``emulate_cuda``) and, on a GPU, for real, against the native CPU kernel: the same distances and
the same matches, ties included, on heterogeneous batches."""

import pytest
import torch

from r3d._native import has_native
from r3d._native import point_mesh as bridge
from r3d.ops.closest_point import closest_point_weights
from r3d.utils.ico_sphere import ico_sphere

F64 = torch.float64


def _random_prims(g, n, corners, centre=0.0, spread=0.8, size=1.0):
    centres = centre + spread * torch.randn(n, 1, 3, generator=g, dtype=F64)
    return centres + 0.3 * size * torch.randn(n, corners, 3, generator=g, dtype=F64)


def _item(kind, g, corners):
    """(points (P, 3), prims (S, corners, 3)) of one batch item of the given kind, float64."""
    randn = lambda *shape: torch.randn(*shape, generator=g, dtype=F64)  # noqa: E731
    if kind == "random":
        return randn(60, 3), _random_prims(g, 45, corners)
    if kind == "no prims":
        return randn(9, 3), torch.zeros(0, corners, 3, dtype=F64)
    if kind == "no points":
        return torch.zeros(0, 3, dtype=F64), _random_prims(g, 11, corners)
    if kind == "empty":
        return torch.zeros(0, 3, dtype=F64), torch.zeros(0, corners, 3, dtype=F64)
    if kind == "one prim":
        return randn(25, 3), _random_prims(g, 1, corners)
    if kind == "one point":
        return randn(1, 3), _random_prims(g, 30, corners)
    if kind == "one each":
        return randn(1, 3), _random_prims(g, 1, corners)
    if kind == "copies":
        # every primitive the same (one Morton code, ties everywhere), points repeated too
        prims = _random_prims(g, 1, corners).expand(150, corners, 3).clone()
        return randn(20, 3).repeat(5, 1), prims
    if kind == "cluster":
        # a cluster far smaller than a Morton cell of the item's box (one far outlier sets the
        # box): many equal codes, and queries around the cluster and the outlier
        prims = torch.cat([_random_prims(g, 300, corners, spread=1e-5, size=1e-5),
                           _random_prims(g, 1, corners, centre=50.0, spread=0.0)])
        return torch.cat([1e-4 * randn(80, 3), 50 + randn(5, 3)]), prims
    if kind == "degenerate":
        # zero-area triangles (coincident or collinear corners), zero-length segments
        prims = _random_prims(g, 40, corners)
        prims[::3, 1] = prims[::3, 0]
        prims[1::3, -1] = 2 * prims[1::3, 1] - prims[1::3, 0]
        prims[2::6] = prims[2::6, :1]
        return randn(50, 3), prims
    if kind == "on vertices":
        # points on the corners of a closed mesh: distance 0 to several primitives at once
        mesh = ico_sphere(2)
        verts = mesh.verts_packed().to(F64)
        return verts, verts[mesh.faces_packed() if corners == 3 else mesh.edges_packed()]
    if kind == "sphere":
        mesh = ico_sphere(3)
        verts = mesh.verts_packed().to(F64) + 0.02 * randn(642, 3)
        prims = verts[mesh.faces_packed() if corners == 3 else mesh.edges_packed()]
        directions = randn(1500, 3)
        radii = 1 + 0.1 * randn(1500, 1)
        return directions / directions.norm(dim=1, keepdim=True) * radii, prims
    raise ValueError(kind)


def packed_batch(kinds, corners, dtype, seed):
    """Packed points, points_first_idx, prims, prims_first_idx of items of the given kinds."""
    g = torch.Generator().manual_seed(seed)
    items = [_item(kind, g, corners) for kind in kinds]

    def packed(tensors):
        first = torch.tensor([0] + [t.shape[0] for t in tensors[:-1]]).cumsum(0)
        return torch.cat(tensors).to(dtype).contiguous(), first

    points, points_first = packed([p for p, _ in items])
    prims, prims_first = packed([s for _, s in items])
    return points, points_first, prims, prims_first


BATCHES = {
    "mixed": ["random", "no prims", "no points", "empty", "random", "one each"],
    "lone elements": ["one prim", "one point", "one each", "empty", "one prim"],
    "copies": ["copies", "empty", "copies"],
    "cluster": ["cluster", "random"],
    "degenerate": ["degenerate", "one prim", "degenerate"],
    "on vertices": ["on vertices", "no points", "on vertices"],
    "sphere": ["sphere", "random", "no prims", "sphere"],
    "all empty": ["empty", "no prims", "empty"],
}
# min_area: 0 (every triangle projects), PyTorch3D's default, one that makes the sphere's smaller
# triangles count as their edges, and one that makes them all
MIN_AREAS = [0.0, 5e-3, 1e-2, 1e9]


def forward(batch, emulate_cuda=False, device="cpu", point_queries=True, min_area=0.0):
    points, points_first, prims, prims_first = (t.to(device) for t in batch)
    return bridge.point_mesh_forward(points, points_first, prims, prims_first, min_area,
                                     point_queries, emulate_cuda=emulate_cuda)


@pytest.mark.parametrize("name", BATCHES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("corners", [3, 2])
@pytest.mark.parametrize("point_queries", [True, False])
def test_emulated_cuda_forward_matches_cpu(name, dtype, corners, point_queries):
    batch = packed_batch(BATCHES[name], corners, dtype, seed=len(name) + corners)
    for min_area in MIN_AREAS if corners == 3 else [0.0]:
        kw = dict(point_queries=point_queries, min_area=min_area)
        cpu_dists, cpu_idx = forward(batch, **kw)
        dists, idx = forward(batch, emulate_cuda=True, **kw)
        assert torch.equal(idx, cpu_idx)
        assert torch.equal(dists, cpu_dists)
        if name == "on vertices" and point_queries:  # exact ties of several primitives
            assert (dists[: batch[1][1]] == 0).all()


def test_emulated_cuda_ties_go_to_the_lowest_index():
    # 150 copies of a triangle: every point's match is the first copy; every copy's match is the
    # first of the equally near points (each point is there 5 times)
    batch = packed_batch(["copies"], 3, F64, seed=3)
    dists, idx = forward(batch, emulate_cuda=True)
    assert (idx == 0).all()
    dists, idx = forward(batch, emulate_cuda=True, point_queries=False)
    assert (idx < 20).all() and (idx == idx[0]).all()


def test_emulated_cuda_rejects_cuda_tensors_and_float16():
    batch = packed_batch(["random"], 3, torch.float16, seed=0)
    with pytest.raises(Exception, match="float32 or float64"):
        forward(batch, emulate_cuda=True)


# ---------------------------------------------------------------------------------------------
# The CUDA launcher itself, against the native CPU kernel. Both run the same distance body and
# tie rule; the GPU's fused multiply-adds may round a distance differently in its last bits, so
# distances are compared to a few ulps (of the coordinates), each match must be a nearest
# candidate, and the matches must be the CPU's but for rare near ties (exactly, where the ties are
# exact). Skipped without a GPU.

GPU = "cuda"
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
ULPS = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-13)}


def _pair_distances(batch, idx, point_queries, min_area):
    """Distance of every query to its match idx (CPU, float64), +inf for idx -1."""
    points, _, prims, _ = (t.to(F64) for t in batch)
    found = idx >= 0
    queries = torch.arange(idx.shape[0])[found]
    p = points[queries] if point_queries else points[idx[found]]
    s = prims[idx[found]] if point_queries else prims[queries]
    out = torch.full(idx.shape, float("inf"), dtype=F64)
    out[found] = closest_point_weights(p, s, min_area)[1]
    return out


@needs_gpu
class TestCudaKernel:
    def test_the_native_cuda_kernel_is_built(self):
        assert has_native(torch.device(GPU), torch.float32)

    @pytest.mark.parametrize("name", BATCHES)
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("corners", [3, 2])
    @pytest.mark.parametrize("point_queries", [True, False])
    def test_cuda_forward_matches_cpu(self, name, dtype, corners, point_queries):
        batch = packed_batch(BATCHES[name], corners, dtype, seed=len(name) + corners)
        # on vertices: the triangles as their edges, whose distances to their corners are 0
        # exactly, ties the GPU must break as the CPU does
        min_area = 0.0 if corners == 2 else 1e9 if name == "on vertices" else 5e-3
        kw = dict(point_queries=point_queries, min_area=min_area)
        cpu_dists, cpu_idx = forward(batch, **kw)
        dists, idx = (t.cpu() for t in forward(batch, device=GPU, **kw))
        torch.testing.assert_close(dists, cpu_dists, **ULPS[dtype])
        assert torch.equal(idx == -1, cpu_idx == -1)
        # each match is a nearest candidate; where the nearest is unique, the CPU's
        mine = _pair_distances(batch, idx, point_queries, min_area)
        theirs = _pair_distances(batch, cpu_idx, point_queries, min_area)
        torch.testing.assert_close(mine, theirs, **ULPS[dtype])
        assert (idx != cpu_idx).float().mean() < 0.01
        if name in ("on vertices", "copies"):  # exact ties: the lowest index on both
            assert torch.equal(idx, cpu_idx)

    @pytest.mark.parametrize("point_queries", [True, False])
    def test_cuda_forward_matches_cpu_on_a_large_mesh(self, point_queries):
        # 81,920 faces and 100,000 points around them: deep trees, many blocks
        g = torch.Generator().manual_seed(5)
        mesh = ico_sphere(6)
        tris = mesh.verts_packed()[mesh.faces_packed()]
        directions = torch.randn(100_000, 3, generator=g)
        points = directions / directions.norm(dim=1, keepdim=True) * (1 + 0.05 * torch.randn(
            100_000, 1, generator=g))
        first = torch.zeros(1, dtype=torch.int64)
        batch = (points, first, tris, first)
        kw = dict(point_queries=point_queries, min_area=5e-3)
        cpu_dists, cpu_idx = forward(batch, **kw)
        dists, idx = (t.cpu() for t in forward(batch, device=GPU, **kw))
        torch.testing.assert_close(dists, cpu_dists, **ULPS[torch.float32])
        assert (idx != cpu_idx).float().mean() < 0.001
