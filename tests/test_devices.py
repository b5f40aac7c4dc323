"""The devices runs accept (r3d.runs.devices): every device torch runs on, checked here."""

from __future__ import annotations

import pytest
import torch

from r3d.bench.contenders import native_available
from r3d.errors import InputError
from r3d.runs.devices import resolve_device


def test_cpu_and_bad_names():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(InputError, match="is not a device name"):
        resolve_device("gpu7")


def test_mps_is_accepted_where_torch_has_it(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(InputError, match="torch sees no mps device here"):
        resolve_device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("mps") == torch.device("mps")
    # no native kernel there: benchmarks run the pure-PyTorch contenders only
    assert native_available(torch.device("mps")) == "no native kernels for mps tensors"


def test_a_missing_cuda_device_is_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(InputError, match=r"only 1 cuda device\(s\) are visible"):
        resolve_device("cuda:3")
