"""chamfer_distance against a brute-force reference on heterogeneous batches with empty clouds."""

from __future__ import annotations

import functools
import itertools

import pytest
import torch
import torch.nn.functional as F

from r3d.errors import InputError
from r3d.loss import chamfer_distance
from r3d.loss.chamfer import chamfer_distance_with_knn
from r3d.ops.knn import knn_points_torch
from r3d.structures import Pointclouds

IMPLS = {
    "native": chamfer_distance,
    "torch": functools.partial(chamfer_distance_with_knn, knn_points_torch),
}
# every cloud size pairing: both full, either empty, both empty, one point
X_LENGTHS = [7, 0, 3, 12, 5, 0]
Y_LENGTHS = [9, 4, 0, 12, 1, 0]
REDUCTIONS = [(p, b) for p in ("mean", "sum", "max") for b in ("mean", "sum", None)]
REDUCTIONS.append((None, None))


def make_batch(dtype=torch.float64, device="cpu", pad=3, seed=0):
    """x (N, P1, 3), y (N, P2, 3), their lengths and normals; padding holds garbage so that
    anything reading past a cloud's length shows up."""
    g = torch.Generator().manual_seed(seed)
    N, P1, P2 = len(X_LENGTHS), max(X_LENGTHS) + pad, max(Y_LENGTHS) + pad

    def rand(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype).to(device)

    return {
        "x": rand(N, P1, 3), "y": rand(N, P2, 3),
        "x_lengths": torch.tensor(X_LENGTHS, device=device),
        "y_lengths": torch.tensor(Y_LENGTHS, device=device),
        "x_normals": rand(N, P1, 3), "y_normals": rand(N, P2, 3),
        "weights": torch.rand(N, generator=g, dtype=dtype).to(device),
    }


def reference_terms(x, y, x_lengths, y_lengths, x_normals, y_normals, norm, abs_cosine):
    """Per-point (N, P1) nearest distances and normal terms by an all-pairs search."""
    dists = x.new_zeros(x.shape[:2])
    cosines = x.new_zeros(x.shape[:2])
    for n, (lx, ly) in enumerate(zip(x_lengths.tolist(), y_lengths.tolist())):
        if lx == 0:
            continue
        if ly == 0:
            cosines[n, :lx] = 1.0  # a zero "neighbour normal": cosine 0
            continue
        diff = x[n, :lx, None, :] - y[n, None, :ly, :]
        pair = diff.abs().sum(-1) if norm == 1 else (diff * diff).sum(-1)
        nearest, j = pair.min(1)
        dists[n, :lx] = nearest
        if x_normals is not None:
            cos = F.cosine_similarity(x_normals[n, :lx], y_normals[n, j], dim=1, eps=1e-6)
            cosines[n, :lx] = 1 - (cos.abs() if abs_cosine else cos)
    return dists, (cosines if x_normals is not None else None)


def reference_reduce(per_direction, lengths, weights, point_reduction, batch_reduction):
    """PyTorch3D's reductions of per-point terms, written out item by item."""
    N = per_direction[0].shape[0]
    w = weights if weights is not None else per_direction[0].new_ones(N)
    reduced = []
    for terms, lens in zip(per_direction, lengths):
        terms = terms * w[:, None]
        if point_reduction is None:
            reduced.append(terms)
            continue
        items = []
        for n, length in enumerate(lens.tolist()):
            valid = terms[n, :length]
            if point_reduction == "max":
                items.append(valid.max() if length else terms.new_zeros(()))
            elif point_reduction == "sum":
                items.append(valid.sum())
            else:
                items.append(valid.sum() / max(length, 1))
        reduced.append(torch.stack(items))
    if len(reduced) == 1:
        loss = reduced[0]
    elif point_reduction is None:
        return tuple(reduced)
    elif point_reduction == "max":
        loss = torch.maximum(*reduced)
    else:
        loss = reduced[0] + reduced[1]
    if batch_reduction is None:
        return loss
    if batch_reduction == "sum":
        return loss.sum()
    divisor = N if weights is None else (float(weights.sum()) or 1.0)
    return loss.sum() / divisor


def reference_chamfer(x, y, x_lengths, y_lengths, x_normals=None, y_normals=None, weights=None,
                      batch_reduction="mean", point_reduction="mean", norm=2,
                      single_directional=False, abs_cosine=True):
    directions = [(x, y, x_lengths, y_lengths, x_normals, y_normals)]
    if not single_directional:
        directions.append((y, x, y_lengths, x_lengths, y_normals, x_normals))
    terms = [reference_terms(*d, norm, abs_cosine) for d in directions]
    lengths = [d[2] for d in directions]
    reduce = functools.partial(reference_reduce, lengths=lengths, weights=weights,
                               point_reduction=point_reduction, batch_reduction=batch_reduction)
    loss = reduce([t[0] for t in terms])
    normals = None if x_normals is None else reduce([t[1] for t in terms])
    return loss, normals


def _flatten(result):
    """The tensors of a chamfer result, in order (None dropped)."""
    out = []
    for part in result:
        if isinstance(part, tuple):
            out.extend(part)
        elif part is not None:
            out.append(part)
    return out


def _assert_same(got, want):
    assert type(got[0]) is type(want[0]) and (got[1] is None) == (want[1] is None)
    got_t, want_t = _flatten(got), _flatten(want)
    assert len(got_t) == len(want_t)
    for g, w in zip(got_t, want_t):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w, rtol=1e-7, atol=1e-9)


def _grads(result, inputs):
    """Gradients of a weighted sum of every output w.r.t. inputs (zeros where unused)."""
    total = sum((t * (i + 1)).sum() for i, t in enumerate(_flatten(result)))
    grads = torch.autograd.grad(total, inputs, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]


def _options():
    """(norm, with weights, normals: None / abs_cosine True / False) combinations."""
    return itertools.product((2, 1), (False, True), (None, True, False))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("single_directional", [False, True])
@pytest.mark.parametrize("point_reduction,batch_reduction", REDUCTIONS)
def test_matches_brute_force(device, impl, single_directional, point_reduction,
                             batch_reduction):
    b = make_batch(device=device)
    for norm, weighted, abs_cosine in _options():
        if point_reduction == "max" and abs_cosine is not None:
            continue  # "max" takes no normals
        kwargs = dict(
            x_lengths=b["x_lengths"], y_lengths=b["y_lengths"],
            weights=b["weights"] if weighted else None, batch_reduction=batch_reduction,
            point_reduction=point_reduction, norm=norm, single_directional=single_directional,
        )
        if abs_cosine is not None:
            kwargs.update(x_normals=b["x_normals"], y_normals=b["y_normals"],
                          abs_cosine=abs_cosine)
        leaves = [b["x"], b["y"]] + ([b["x_normals"], b["y_normals"]] if abs_cosine is not None
                                     else [])
        runs = []
        for fn in (IMPLS[impl], reference_chamfer):
            inputs = [t.detach().requires_grad_(True) for t in leaves]
            if abs_cosine is not None:
                kwargs.update(x_normals=inputs[2], y_normals=inputs[3])
            runs.append((fn(inputs[0], inputs[1], **kwargs), inputs))
        (got, got_in), (want, want_in) = runs
        _assert_same(got, want)
        for g, w in zip(_grads(got, got_in), _grads(want, want_in)):
            torch.testing.assert_close(g, w, rtol=1e-7, atol=1e-9)


def test_return_structure():
    b = make_batch()
    N, P1, P2 = b["x"].shape[0], b["x"].shape[1], b["y"].shape[1]
    loss, normals = chamfer_distance(b["x"], b["y"])
    assert loss.shape == () and normals is None
    loss, normals = chamfer_distance(b["x"], b["y"], x_normals=b["x_normals"],
                                     y_normals=b["y_normals"], batch_reduction=None)
    assert loss.shape == (N,) and normals.shape == (N,)
    (fwd, bwd), (nf, nb) = chamfer_distance(
        b["x"], b["y"], x_normals=b["x_normals"], y_normals=b["y_normals"],
        batch_reduction=None, point_reduction=None,
    )
    assert fwd.shape == nf.shape == (N, P1) and bwd.shape == nb.shape == (N, P2)
    fwd, nf = chamfer_distance(b["x"], b["y"], x_normals=b["x_normals"], y_normals=b["y_normals"],
                               batch_reduction=None, point_reduction=None,
                               single_directional=True)
    assert fwd.shape == nf.shape == (N, P1)
    loss, normals = chamfer_distance(b["x"], b["y"], point_reduction="max")
    assert loss.shape == () and normals is None


def test_padded_points_are_zero_and_empty_clouds():
    b = make_batch()
    (fwd, bwd), (nf, nb) = chamfer_distance(
        b["x"], b["y"], b["x_lengths"], b["y_lengths"], b["x_normals"], b["y_normals"],
        batch_reduction=None, point_reduction=None,
    )
    for terms, lengths in ((fwd, X_LENGTHS), (bwd, Y_LENGTHS), (nf, X_LENGTHS)):
        for n, length in enumerate(lengths):
            assert torch.all(terms[n, length:] == 0)
    # item 2: x has 3 points, y none -> distances 0, normal terms 1
    assert torch.all(fwd[2, :3] == 0) and torch.all(nf[2, :3] == 1)


def test_known_shift():
    grid = torch.stack(torch.meshgrid(*[torch.arange(4.0)] * 3, indexing="ij"), -1)
    x = grid.reshape(1, -1, 3).double()
    shift = torch.tensor([0.1, -0.2, 0.05], dtype=torch.float64)
    loss, _ = chamfer_distance(x, x + shift)
    torch.testing.assert_close(loss, 2 * shift.square().sum())
    loss, _ = chamfer_distance(x, x + shift, norm=1)
    torch.testing.assert_close(loss, 2 * shift.abs().sum())
    loss, _ = chamfer_distance(x, x.flip(1))
    assert loss == 0


def test_pointclouds_inputs_match_tensors():
    b = make_batch()
    def cloud(p, lengths, normals):
        return Pointclouds([p[n, :k] for n, k in enumerate(lengths)],
                           normals=[normals[n, :k] for n, k in enumerate(lengths)])
    cx = cloud(b["x"], X_LENGTHS, b["x_normals"])
    cy = cloud(b["y"], Y_LENGTHS, b["y_normals"])
    want = chamfer_distance(b["x"], b["y"], b["x_lengths"], b["y_lengths"], b["x_normals"],
                            b["y_normals"], batch_reduction=None)
    for x, y in ((cx, cy), (cx, b["y"]), (b["x"], cy)):
        kwargs = {}
        if isinstance(y, torch.Tensor):
            kwargs.update(y_lengths=b["y_lengths"], y_normals=b["y_normals"])
        if isinstance(x, torch.Tensor):
            kwargs.update(x_lengths=b["x_lengths"], x_normals=b["x_normals"])
        got = chamfer_distance(x, y, batch_reduction=None, **kwargs)
        torch.testing.assert_close(got[0], want[0])
        torch.testing.assert_close(got[1], want[1])
    # a cloud without normals: like PyTorch3D, the normal term is not computed
    bare = Pointclouds(cx.points_list())
    assert chamfer_distance(bare, cy)[1] is None
    # with "max", normals carried by Pointclouds are not used
    assert chamfer_distance(cx, cy, point_reduction="max")[1] is None


def test_zero_weights_give_zero_with_a_graph():
    b = make_batch()
    x = b["x"].requires_grad_(True)
    weights = torch.zeros(len(X_LENGTHS), dtype=torch.float64)
    loss, normals = chamfer_distance(x, b["y"], b["x_lengths"], b["y_lengths"], b["x_normals"],
                                     b["y_normals"], weights=weights)
    assert loss == 0 and normals == 0
    loss.backward()
    assert torch.all(x.grad == 0)
    per_item, _ = chamfer_distance(x, b["y"], weights=weights, batch_reduction=None)
    assert per_item.shape == (len(X_LENGTHS),) and torch.all(per_item == 0)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    xn = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    yn = torch.randn(2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    lx, ly = torch.tensor([5, 3]), torch.tensor([2, 4])
    weights = torch.tensor([0.5, 2.0], dtype=torch.float64)

    def fn(x, y, xn, yn):
        return chamfer_distance(x, y, lx, ly, xn, yn, weights=weights, abs_cosine=False)

    assert torch.autograd.gradcheck(fn, (x, y, xn, yn))
    for norm in (1, 2):
        assert torch.autograd.gradcheck(
            lambda x, y, norm=norm: chamfer_distance(
                x, y, lx, ly, point_reduction="max", norm=norm, batch_reduction="sum")[0],
            (x, y),
        )


def test_large_clouds_need_no_pairwise_matrix():
    # 60k x 60k float32 distances would be 14 GB; the search keeps memory linear
    g = torch.Generator().manual_seed(4)
    x = torch.rand(1, 60_000, 3, generator=g)
    y = torch.rand(1, 60_000, 3, generator=g)
    loss, _ = chamfer_distance(x, y)
    assert 0 < float(loss) < 1e-3


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(batch_reduction="avg"), "batch_reduction"),
        (dict(point_reduction="min"), "point_reduction"),
        (dict(point_reduction=None), "batch_reduction"),
        (dict(norm=3), "norm"),
        (dict(point_reduction="max", x_normals="xn", y_normals="yn"), "x_normals"),
        (dict(x_normals="xn"), "x_normals"),
        (dict(y_normals="yn"), "y_normals"),
        (dict(x_normals="bad_normals", y_normals="yn"), "x_normals"),
        (dict(weights="bad_weights"), "weights"),
        (dict(weights="negative_weights"), "weights"),
        (dict(x_lengths="int32_lengths"), "x_lengths"),
        (dict(y_lengths="long_lengths"), "y_lengths"),
        (dict(x="int_points"), "x"),
        (dict(x="list"), "x"),
        (dict(y="other_batch"), "x and y"),
        (dict(y="other_dtype"), "x and y"),
        (dict(x="pointclouds", x_lengths="lengths"), "x_lengths"),
        (dict(y="pointclouds", y_normals="yn"), "y_normals"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    x, y = torch.randn(2, 5, 3), torch.randn(2, 4, 3)
    values = {
        "xn": torch.randn(2, 5, 3), "yn": torch.randn(2, 4, 3),
        "bad_normals": torch.randn(2, 4, 3),
        "bad_weights": torch.ones(3), "negative_weights": torch.tensor([1.0, -1.0]),
        "int32_lengths": torch.tensor([5, 5], dtype=torch.int32),
        "long_lengths": torch.tensor([4, 5]), "lengths": torch.tensor([5, 5]),
        "int_points": torch.ones(2, 5, 3, dtype=torch.int64), "list": [[0.0, 0.0, 0.0]],
        "other_batch": torch.randn(3, 4, 3), "other_dtype": torch.randn(2, 4, 3).double(),
        "pointclouds": Pointclouds(list(torch.randn(2, 5, 3))),
    }
    args = {"x": x, "y": y}
    args.update({k: values.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()})
    with pytest.raises(InputError, match=rf"chamfer_distance: .*\b{name}\b"):
        chamfer_distance(**args)
