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


class _Loss(torch.nn.Module):
    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    def forward(self, *inputs):
        return self.loss(*inputs)


def test_torch_export_traces_the_steps():
    x = chamfer_inputs(100, torch.device("cpu"))
    args = (x["x"].detach(), x["y"].detach())
    exported = torch.export.export(_Loss(chamfer_knn_loss), args)
    assert "torch.ops.r3d.knn_points" in exported.graph_module.code
    torch.testing.assert_close(exported.module()(*args), chamfer_knn_loss(*args))
    loss, deform = make_fit_loss(1, torch.device("cpu"), perspective_correct=False)
    exported = torch.export.export(_Loss(loss), (deform.detach(),))
    assert "torch.ops.r3d.rasterize_meshes" in exported.graph_module.code
    torch.testing.assert_close(exported.module()(deform.detach()), loss(deform.detach()))
