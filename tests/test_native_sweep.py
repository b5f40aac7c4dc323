"""A hypothesis-driven argument sweep of every native op (issue 22, "sanitized native kernels").

Two sweeps, each example one call:

- every op registered in ``torch.ops.r3d`` (:data:`r3d._native.library.OPS`, the only callers of
  the kernels) called on one valid sample (tests/op_samples.py) with one argument mutated: another
  dtype (int, float16, bool), a dimension dropped or added, a size grown or shrunk, a
  non-contiguous view, NaN / inf / 1e30 values, indices out of range, odd integers. The call must
  return or raise an r3d error, never another exception (and, under tools/sanitize, never a
  sanitizer report);
- every public op with a native kernel (:data:`r3d.doctor.NATIVE_OP_NAMES`) on random inputs
  (empty and one-element batches, K larger than the clouds, NaN / inf / 1e30 values,
  non-contiguous tensors, float32 and float64), forward and backward, natively and as its
  pure-PyTorch twin (:func:`r3d._native.torch_only`): both return equal results, or both raise an
  r3d error. With NaN or inf among the inputs the native op may instead raise InputError.

``R3D_SWEEP_EXAMPLES`` sets the examples per op (default 12, to keep the suite's run short;
tools/sanitize runs many more under ASan and UBSan).
"""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from op_samples import op_samples

import r3d.loss  # noqa: F401  (registers the ops)
import r3d.ops  # noqa: F401
import r3d.renderer  # noqa: F401
from r3d._native.library import OPS
from r3d.errors import R3DError

EXAMPLES = int(os.environ.get("R3D_SWEEP_EXAMPLES", "12"))
SWEEP = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 12,
                 suppress_health_check=list(HealthCheck), database=None)

# ---- sweep 1: the registered ops, one argument of a valid call mutated ----------------------

TENSOR_MUTATIONS = (
    "int32", "int64", "float16", "float32", "bool", "drop_dim", "add_dim", "grow", "shrink",
    "empty", "non_contiguous", "nan", "inf", "huge", "negative", "out_of_range",
)
INT_MUTATIONS = (-1, 0, 1, 2, 100)


def mutate_tensor(t: torch.Tensor, how: str) -> torch.Tensor:
    """``t`` changed as ``how`` (one of :data:`TENSOR_MUTATIONS`) says."""
    t = t.detach()
    if how in ("int32", "int64", "float16", "float32", "bool"):
        return t.to(getattr(torch, how))
    if how == "drop_dim":
        return t.reshape(-1) if t.dim() > 1 else t.sum()
    if how == "add_dim":
        return t.unsqueeze(0)
    if how in ("grow", "shrink", "empty"):
        if t.dim() == 0:
            return t
        rows = {"grow": t.shape[0] + 2, "shrink": max(t.shape[0] - 1, 0), "empty": 0}[how]
        return torch.cat([t] * 3)[:rows] if t.shape[0] else t.new_zeros((rows, *t.shape[1:]))
    if how == "non_contiguous":
        return torch.stack([t, t], dim=-1)[..., 0]
    if t.numel() == 0:
        return t
    out = t.clone()  # strides kept (a permuted sample stays permuted)
    if how in ("nan", "inf", "huge"):
        if out.is_floating_point():
            at = torch.unravel_index(torch.tensor(out.numel() // 2), out.shape)
            out[at] = {"nan": float("nan"), "inf": float("inf"), "huge": 1e30}[how]
        return out
    at = torch.unravel_index(torch.tensor(out.numel() - 1), out.shape)
    if how == "negative":
        out[at] = -out[at] - 1 if out.is_floating_point() else -7
    elif out.dtype != torch.bool:  # out_of_range
        out[at] = 10**6
    return out


@st.composite
def mutated_calls(draw, name: str):
    """(args, description) of one call of the registered op ``name`` with one argument of its
    valid sample changed."""
    args = list(op_samples()[name])
    args = [a.detach() if isinstance(a, torch.Tensor) else a for a in args]
    i = draw(st.sampled_from([i for i, a in enumerate(args) if isinstance(a, torch.Tensor | int)
                              and not isinstance(a, bool)]))
    if isinstance(args[i], torch.Tensor):
        how = draw(st.sampled_from(TENSOR_MUTATIONS))
        args[i] = mutate_tensor(args[i], how)
    else:
        how = draw(st.sampled_from(INT_MUTATIONS))
        args[i] = how
    return args, f"argument {i}: {how}"


def call_or_r3d_error(fn, *args):
    """fn(*args), or the R3DError it raises (any other exception propagates)."""
    try:
        return fn(*args)
    except R3DError as exc:
        return exc


@pytest.mark.parametrize("name", sorted(OPS))
def test_registered_op_survives_mutated_arguments(name):
    @SWEEP
    @given(mutated_calls(name))
    def check(call):
        args, what = call
        try:
            call_or_r3d_error(OPS[name], *args)
        except Exception as exc:
            raise AssertionError(f"torch.ops.r3d.{name} with {what}: {exc!r}") from exc

    check()
