"""torch.compile(fullgraph=True) of whole steps through r3d's native ops: no graph break, the
eager result (the steps are r3d bench's compile_* cases)."""

from __future__ import annotations

import pytest
import torch

from r3d.bench.cases.compiled import chamfer_inputs, chamfer_knn_loss, make_fit_loss, with_grads
from r3d.errors import InputError


def _assert_same(eager, compiled, rtol=1e-5, atol=1e-6):
    for a, b in zip(eager, compiled, strict=True):
        torch.testing.assert_close(b, a, rtol=rtol, atol=atol)


def test_chamfer_knn_step_compiles_without_graph_break():
    x = chamfer_inputs(300, torch.device("cpu"))
    compiled = torch.compile(chamfer_knn_loss, fullgraph=True)
    _assert_same(with_grads(chamfer_knn_loss, x["x"], x["y"]),
                 with_grads(compiled, x["x"], x["y"]))
    # the checks are compiled in: a NaN raises when the compiled step runs
    bad = x["x"].detach().clone()
    bad[0, 3, 1] = float("nan")
    with pytest.raises(RuntimeError, match="contains NaN or infinite values"):
        compiled(bad.requires_grad_(), x["y"])


def test_fit_step_compiles_without_graph_break():
    loss, deform = make_fit_loss(1, torch.device("cpu"))
    compiled = torch.compile(loss, fullgraph=True)
    eager = with_grads(loss, deform)
    assert eager[1].abs().sum() > 0  # the silhouettes differ: the gradient is not zero
    _assert_same(eager, with_grads(compiled, deform))
    moved = (deform + 0.01 * torch.randn_like(deform)).detach().requires_grad_()
    _assert_same(with_grads(loss, moved), with_grads(compiled, moved))


def test_eager_errors_stay_input_errors():
    x = chamfer_inputs(10, torch.device("cpu"))
    bad = x["x"].detach().clone()
    bad[1, 0, 0] = float("inf")
    with pytest.raises(InputError, match="contains NaN or infinite values"):
        chamfer_knn_loss(bad, x["y"])
