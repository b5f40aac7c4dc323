"""``r3d doctor`` and :mod:`r3d.doctor`: the report's contents, the self-test of every native op
against its twin (and that it catches a wrong kernel), the op list against the real
``use_native`` call sites, and the report of a missing native module."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import r3d
from r3d import doctor
from r3d._native import core
from r3d._native import knn as knn_bridge
from r3d._native import mesh_normals as normals_bridge
from r3d.cli.main import app

runner = CliRunner()
R3D = Path(r3d.__file__).parent


def run_doctor(*args: str):
    return runner.invoke(app, ["doctor", *args])


def doctor_json(*args: str) -> tuple[int, dict]:
    result = run_doctor("--json", *args)
    return result.exit_code, json.loads(result.stdout)


def statuses(report: dict, device: str = "cpu") -> dict[str, str]:
    return {row["op"]: row["status"] for row in report["self_test"][device]}


def test_json_report_has_the_keys_and_the_native_module():
    code, report = doctor_json("--no-self-test")
    assert code == 0
    assert {"r3d", "python", "platform", "torch", "native", "native_ops", "devices",
            "self_test"} <= set(report)
    assert report["r3d"]["version"] == r3d.__version__
    assert report["torch"]["version"] == torch.__version__
    native = report["native"]
    assert native["imported"] and native["error"] is None
    assert native["path"] == r3d._C.__file__
    assert set(native["build"]) >= {"with_cuda", "openmp", "omp_max_threads", "compiler",
                                    "cuda_version", "cuda_architectures", "sanitize"}
    cpu = report["devices"][0]
    assert cpu["device"] == "cpu" and cpu["native"] == {"float32": True, "float64": True}
    assert cpu["native_ops"] == list(doctor.NATIVE_OP_NAMES) == report["native_ops"]
    assert report["self_test"] == {}


def test_every_native_op_agrees_with_its_twin_on_cpu():
    rows = doctor.self_test("cpu", budget_s=60)
    assert [row["op"] for row in rows] == list(doctor.NATIVE_OP_NAMES)
    assert {row["op"]: row["status"] for row in rows} == dict.fromkeys(doctor.NATIVE_OP_NAMES,
                                                                       "ok")
    assert all(row["native_ms"] > 0 and row["torch_ms"] > 0 for row in rows)
    assert doctor.failed(rows) == []


def use_native_callers(monkeypatch, op: doctor.NativeOp) -> set[str]:
    """The files whose ``use_native`` calls answered while ``op``'s self-test case ran."""
    callers: set[str] = set()
    native_missing = core.native_missing

    def spy(device, dtype):
        if sys._getframe(1).f_code.co_name == "use_native":
            callers.add(sys._getframe(2).f_code.co_filename)
        return native_missing(device, dtype)

    with monkeypatch.context() as m:
        m.setattr(core, "native_missing", spy)
        op.setup(torch.device("cpu"), torch.Generator().manual_seed(0))()
    return callers


def test_the_op_names_are_public_functions():
    import r3d.loss
    import r3d.ops
    import r3d.renderer

    packages = (r3d.ops, r3d.loss, r3d.renderer)
    assert [name for name in doctor.NATIVE_OP_NAMES
            if not any(callable(getattr(p, name, None)) for p in packages)] == []


def test_the_op_list_is_the_ops_that_call_use_native(monkeypatch):
    callers = {op.name: use_native_callers(monkeypatch, op) for op in doctor.NATIVE_OPS}
    assert [name for name, files in callers.items() if not files] == []
    call_sites = {str(path) for path in R3D.rglob("*.py")
                  if "_native" not in path.parts and re.search(r"\buse_native\(",
                                                                path.read_text())}
    assert set().union(*callers.values()) == call_sites


def test_a_wrong_kernel_is_a_mismatch_and_exit_1(monkeypatch):
    forward = normals_bridge.face_areas_normals_forward

    def wrong(verts, faces, eps):
        areas, normals = forward(verts, faces, eps)
        return areas * 1.01, normals

    monkeypatch.setattr(normals_bridge, "face_areas_normals_forward", wrong)
    result = run_doctor("--json", "--device", "cpu")
    assert result.exit_code == 1
    status = statuses(json.loads(result.stdout))
    assert status["mesh_face_areas_normals"] == "MISMATCH"
    assert status["knn_points"] == "ok"
    assert "mesh_face_areas_normals on cpu" in result.stderr


def test_a_failing_kernel_is_an_error_row_and_exit_1(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(knn_bridge, "knn_points_forward", broken)
    rows = {row["op"]: row for row in doctor.self_test("cpu", budget_s=60)}
    assert rows["knn_points"]["status"] == "error: RuntimeError: kernel exploded"
    # chamfer_distance runs its own fused kernel on the CPU, not knn_points'
    assert rows["ball_query"]["status"] == rows["chamfer_distance"]["status"] == "ok"
    assert doctor.failed(rows.values()) == [rows["knn_points"]]
    result = run_doctor("--device", "cpu")
    assert result.exit_code == 1
    assert "knn_points error: RuntimeError: kernel exploded" in result.stdout
    assert f"self-test on cpu: {len(doctor.NATIVE_OPS) - 1} ok, 1 error" in result.stdout


def test_without_native_kernels_nothing_runs_natively(monkeypatch):
    monkeypatch.setattr(core, "has_native", lambda device, dtype=None: False)
    code, report = doctor_json()
    assert code == 0
    assert report["devices"][0]["native"] == {"float32": False, "float64": False}
    assert report["devices"][0]["native_ops"] == []
    assert report["self_test"] == {}  # no device has native kernels to test
    code, report = doctor_json("--device", "cpu")
    assert code == 0
    assert set(statuses(report).values()) == {"skipped (no native kernel on cpu)"}


def test_a_missing_native_module_is_reported(monkeypatch):
    monkeypatch.setattr(core, "_C", None)
    monkeypatch.setattr(core, "_IMPORT_ERROR", ImportError("undefined symbol: _Z3foov"))
    code, report = doctor_json()
    assert code == 0
    native = report["native"]
    assert not native["imported"] and native["error"] == "undefined symbol: _Z3foov"
    assert native["build"] is None
    assert report["devices"][0]["native_ops"] == []
    result = run_doctor()
    assert result.exit_code == 0, result.output
    assert "no: undefined symbol: _Z3foov" in result.stdout
    assert "Self-test" not in result.stdout


def test_the_tables_are_printed():
    result = run_doctor()
    assert result.exit_code == 0, result.output
    for title in ("System", "Native build (r3d._C)", "Devices", "Native ops",
                  "Self-test on cpu: native vs pure-PyTorch twin, float32"):
        assert title in result.stdout
    assert re.search(r"knn_points +ok", result.stdout)
    assert f"self-test on cpu: {len(doctor.NATIVE_OPS)} ok" in result.stdout


@pytest.mark.parametrize("device", ["gpu7", "mps"])
def test_a_bad_device_exits_2_with_a_message(device):
    result = run_doctor("--device", device)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --device") and device in result.stderr


def test_ops_past_the_time_budget_are_skipped():
    def slow(device, gen):
        time.sleep(0.05)
        return lambda: torch.zeros(2)

    ops = [doctor.NativeOp(f"slow{i}", slow) for i in range(3)]
    rows = doctor.self_test("cpu", budget_s=0.02, ops=ops)
    assert [row["status"] for row in rows] == ["ok", doctor.SKIPPED_BUDGET,
                                               doctor.SKIPPED_BUDGET]
    assert doctor.failed(rows) == []


def test_compare_finds_differences_and_shape_changes():
    a = (torch.zeros(3), torch.arange(3))
    assert doctor.compare(a, (torch.zeros(3), torch.arange(3))) == (0.0, True)
    diff, close = doctor.compare(a, (torch.full((3,), 1e-3), torch.arange(3)))
    assert not close and diff == pytest.approx(1e-3)
    assert doctor.compare(a, (torch.zeros(3), torch.tensor([0, 1, 3]))) == (1.0, False)
    assert doctor.compare(a, (torch.zeros(4), torch.arange(3))) == (None, False)
