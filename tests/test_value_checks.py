"""Value checks (r3d.value_checks): at once, deferred (how CUDA runs them with checks off,
emulated here on CPU tensors) and compiled in."""

from __future__ import annotations

import pytest
import torch

from r3d import value_checks
from r3d.errors import InputError
from r3d.ops import knn_points
from r3d.value_checks import (
    all_finite,
    check_errors,
    checked_csr_ptr,
    checked_range,
    checked_segments,
    finite_now,
)


@pytest.fixture
def deferred(monkeypatch):
    """Checks as CUDA runs them with checks off: verdicts stay on the device."""
    monkeypatch.setitem(value_checks._state, "checks", False)
    monkeypatch.setitem(value_checks._state, "immediate", frozenset())
    monkeypatch.setattr(value_checks, "_flags", {})
    monkeypatch.setattr(value_checks, "_messages", {})
    yield
    check_errors()  # a test leaves no failure behind


def test_immediate_range_check_names_the_values():
    with pytest.raises(InputError, match=r"op: idx has values in \[-2, 3\], expected them in "
                                         r"\[0, 2\]"):
        checked_range("op", "idx", torch.tensor([0, -2, 3]), 0, 3)
    t = torch.tensor([0, 2])
    assert checked_range("op", "idx", t, 0, 3) is t


@pytest.mark.parametrize("size", [3, 1000])  # read as a list / reduced on the CPU
def test_immediate_range_check_is_the_same_for_small_and_large_tensors(size):
    t = torch.zeros(size, dtype=torch.int64)
    t[-1], t[0] = 3, -2
    with pytest.raises(InputError, match=r"op: idx has values in \[-2, 3\], expected them in "
                                         r"\[0, 2\]"):
        checked_range("op", "idx", t.view(1, -1), 0, 3)
    assert checked_range("op", "idx", t.clamp(0, 2), 0, 3) is not None


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("check", [lambda t: bool(all_finite(t)), finite_now])
def test_all_finite_finds_any_nan_or_inf(bad, dtype, check):
    """all_finite (a tensor) and finite_now (read on the host) agree on every case."""
    t = torch.randn(4, 5, 3, dtype=dtype) * 1e30  # large but finite
    assert check(t) and check(t[:0])
    for index in ((0, 0, 0), (3, 4, 2), (2, 1, 1)):
        u = t.clone()
        u[index] = bad
        assert not check(u), index
        assert not check(u.transpose(0, 2)), index  # non-contiguous


def test_deferred_range_check_clamps_and_raises_at_check_errors(deferred):
    t = torch.tensor([0, -2, 5])
    safe = checked_range("op", "idx", t, 0, 3)
    assert safe.tolist() == [0, 0, 2]  # a kernel given these reads nothing out of bounds
    with pytest.raises(InputError, match=r"op: idx has values outside \[0, 2\]"):
        check_errors()
    check_errors()  # cleared: raises nothing now


def test_deferred_failures_accumulate_and_are_all_named(deferred):
    checked_range("a", "idx", torch.tensor([7]), 0, 3)
    checked_range("b", "lengths", torch.tensor([1]), 0, 3)  # passes
    checked_range("c", "faces", torch.tensor([-1]), 0, 3)
    with pytest.raises(InputError) as info:
        check_errors()
    assert "a: idx" in str(info.value) and "c: faces" in str(info.value)
    assert "b: lengths" not in str(info.value)


def test_deferred_native_op_runs_on_safe_values_and_reports_later(deferred):
    p = torch.rand(2, 6, 3)
    out = knn_points(p, p, lengths1=torch.tensor([6, 9]), lengths2=torch.tensor([6, 6]), K=2)
    assert out.idx.shape == (2, 6, 2)  # ran with lengths clamped to 6
    with pytest.raises(InputError, match="lengths1 has values outside"):
        check_errors()


def test_deferred_segments_and_csr_are_made_safe(deferred):
    first, count = checked_segments("op", ("first", "count"), torch.tensor([0, 3]),
                                    torch.tensor([3, 4]), 5)
    assert (first + count).max() <= 5
    ptr = checked_csr_ptr("op", "ptr", torch.tensor([1, 4, 2, 9]), 6)
    assert ptr.tolist() == [0, 4, 4, 6]
    with pytest.raises(InputError) as info:
        check_errors()
    for text in ("first + count", "ptr must start at 0 and end at 6", "ptr must be non-decr"):
        assert text in str(info.value)


def test_set_checks_makes_deferred_devices_check_at_once(deferred):
    value_checks.set_checks(True)
    with pytest.raises(InputError, match="has values in"):
        checked_range("op", "idx", torch.tensor([5]), 0, 3)


def test_r3d_checks_environment_variable(tmp_path):
    import subprocess
    import sys

    code = "import r3d.value_checks as v; print(v.checks_enabled())"
    for value, want in (("1", "True"), ("0", "False")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={"R3D_CHECKS": value, "PATH": ""}, check=True)
        assert out.stdout.strip() == want
