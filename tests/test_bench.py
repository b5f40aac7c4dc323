"""``r3d bench`` and the r3d.bench library: report structure, errors, statistics. No test here
asserts a timing."""

from __future__ import annotations

import gc
import io
import json
import math
import subprocess
import time

import pytest
import torch
from html_pages import read_page
from rich.console import Console
from typer.testing import CliRunner

from r3d.bench import (
    Case,
    Contender,
    Record,
    Settings,
    Summary,
    all_cases,
    iter_measurements,
    measure,
    median,
    quantile,
    report,
    select_cases,
    spread,
    time_interleaved,
)
from r3d.bench import runner as runner_module
from r3d.bench.cases import point_mesh as point_mesh_cases
from r3d.bench.cases.rasterize_meshes import _big_scene
from r3d.bench.contenders import peer_op, pytorch3d_contender
from r3d.bench.memory import CpuProbe
from r3d.cli.main import app
from r3d.errors import InputError

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CASE_NAMES = {
    "face_areas_normals",
    "face_areas_normals_fwd_bwd",
    "packed_to_padded",
    "packed_to_padded_fwd_bwd",
}


def _available(case, device="cpu"):
    return [c.name for c in case.contenders if c.unavailable_reason(torch.device(device)) is None]


def _check_document(doc: dict, device: str = "cpu", only: str | None = None) -> None:
    """Every registered case (or only the case named ``only``) has finite positive figures for
    every contender available here."""
    assert doc["schema"] == 1
    assert doc["interrupted"] is False
    machine = doc["machine"]
    for key in ("cpu_model", "cpu_cores", "torch", "torch_threads", "device", "device_name"):
        assert machine[key] not in (None, ""), key
    assert machine["device"] == device
    assert doc["settings"]["quick"] is True
    assert doc["settings"]["load"] == 0
    cases = {c.name: c for c in select_cases(None, device) if only in (None, c.name)}
    assert {c["name"] for c in doc["cases"]} == set(cases)
    if only is None:
        assert CASE_NAMES <= set(cases)
    results = doc["results"]
    for name, case in cases.items():
        for size in case.quick_sizes:
            rows = {r["contender"]: r for r in results if r["case"] == name and r["size"] == size}
            assert set(rows) == {c.name for c in case.contenders}, (name, size)
            for contender in _available(case, device):
                r = rows[contender]
                limit = case.contender(contender).size_limit_reason(
                    size, torch.device(device), case.size_label
                )
                if limit is not None:  # e.g. PyTorch3D's brute-force CPU path, when installed
                    assert r["status"] == "skipped" and limit in str(r), r
                    continue
                assert r["status"] == "ok", r
                for key in ("median_s", "spread_s", "min_s", "max_s", "q25_s", "q75_s"):
                    assert math.isfinite(r[key]), (name, contender, key)
                assert r["median_s"] > 0 and r["spread_s"] >= 0
                assert r["min_s"] <= r["median_s"] <= r["max_s"]
                assert len(r["samples_s"]) == doc["settings"]["repeats"]
                assert r["calls_per_sample"] >= 1
                assert r["ratio_vs_native"] is not None and r["ratio_vs_native"] > 0
                for key in ("peak_memory_bytes", "memory_method", "memory_error"):
                    assert key in r
                assert r["memory_error"] is None, r["memory_error"]
                if doc["settings"]["memory"]:
                    assert isinstance(r["peak_memory_bytes"], int)
                    assert r["peak_memory_bytes"] >= 0 and r["memory_method"]
                else:
                    assert r["peak_memory_bytes"] is None
            native = [r for r in rows.values() if r["kind"] == "native"]
            assert len(native) == 1 and native[0]["ratio_vs_native"] == pytest.approx(1.0)


def test_bench_quick_json_and_plot(tmp_path):
    """Every registered case runs at its quick sizes (memory is measured by the console-script
    test below: its child processes would make this run minutes long)."""
    out = tmp_path / "bench.json"
    args = ["bench", "--quick", "--no-memory", "--json", str(out)]
    png = tmp_path / "bench.png"
    args += ["--plot", str(png)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    _check_document(json.loads(out.read_text()))
    assert "time/r3d" in result.stdout
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert png.stat().st_size > 1000


def test_console_script_json_to_stdout(r3d_exe):
    # one case: the whole quick run is exercised in-process above
    proc = subprocess.run(
        [r3d_exe, "bench", "packed_to_padded", "--quick", "--json", "-"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    _check_document(json.loads(proc.stdout), only="packed_to_padded")  # stdout: the JSON alone
    assert "time/r3d" in proc.stderr  # the table went to stderr


def test_unknown_case_exits_2():
    result = runner.invoke(app, ["bench", "no_such_case", "--quick"])
    assert result.exit_code == 2
    for name in CASE_NAMES:
        assert name in result.output


def test_pytorch3d_lookup_says_not_found_or_not_installed():
    cpu = torch.device("cpu")
    assert peer_op("json.dumps") == (json.dumps, None)
    missing_name = pytorch3d_contender("json.no_such_function", lambda op: op)
    assert missing_name.unavailable_reason(cpu) == "not found: json.no_such_function"
    missing_module = pytorch3d_contender("json.no_such_module.function", lambda op: op)
    assert missing_module.unavailable_reason(cpu) == (
        "not found: json.no_such_module.function (no module json.no_such_module)"
    )
    missing_package = pytorch3d_contender("r3d_no_such_package.ops.knn_points", lambda op: op)
    assert missing_package.unavailable_reason(cpu) == "r3d_no_such_package is not installed"


def test_pytorch3d_contenders_find_their_functions():
    """Every case's PyTorch3D function is where it is looked up (only where PyTorch3D is
    installed: it is never a dependency)."""
    pytest.importorskip("pytorch3d")
    for case in all_cases():
        for c in case.contenders:
            if c.name == "pytorch3d":
                assert c.unavailable_reason(torch.device("cpu")) is None, case.name


def test_size_limits_per_device():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    capped = Contender("p", lambda x: x, cpu_max_size=10)
    assert capped.size_limit_reason(10, cpu, "points") is None
    assert capped.size_limit_reason(20, cpu, "points") == "not run above 10 points on the CPU"
    assert capped.size_limit_reason(20, cuda, "points") is None
    never = Contender("p", lambda x: x, cpu_max_size=0)
    assert never.size_limit_reason(1, cpu, "points") == "not run on the CPU"
    both = Contender("p", lambda x: x, max_size=100, cpu_max_size=10)
    assert both.size_limit_reason(200, cuda, "rows") == "not run above 100 rows"


def test_cpu_cap_skips_in_a_measurement():
    case = Case("capped", (5, 50), (5,), lambda size, device: size, (
        Contender("r3d", lambda x: x, "native"),
        Contender("peer", lambda x: x, "peer", cpu_max_size=10),
    ))
    settings = Settings.make("cpu", quick=True, memory=False)
    low, high = (measure(case, size, settings) for size in case.sizes)
    assert low[1].status == "ok"
    assert (high[1].status, high[1].reason) == ("skipped", "not run above 10 size on the CPU")
    assert gc.get_freeze_count() == 0


def test_iteration_unfreezes_the_garbage_collector():
    case = Case("one", (1,), (1,), lambda size, device: size,
                (Contender("r3d", lambda x: x, "native"),))
    settings = Settings.make("cpu", quick=True, memory=False)
    (records,) = list(iter_measurements([case], settings))
    assert records[0].status == "ok"
    assert gc.get_freeze_count() == 0


def _with_missing_peer(group: list[Record]) -> list[Record]:
    case, size = group[0].case, group[0].size
    return group + [Record(case, size, "pytorch3d", "peer", status="unavailable",
                           reason="pytorch3d is not installed")]


SUMMARY_CASES = ["face_areas_normals", "packed_to_padded", "packed_to_padded_fwd_bwd"]


def _measured_without_peer(cases, settings, status=None):
    """Stands in for iter_measurements: r3d and torch at sizes 10 and 1000, pytorch3d
    unavailable."""
    for case in cases:
        for size in (10, 1000):
            yield _with_missing_peer(_fake_group(case.name, size))


def test_cli_says_unavailable_once_and_ends_with_a_summary(monkeypatch):
    monkeypatch.setattr(runner_module, "iter_measurements", _measured_without_peer)
    result = runner.invoke(app, ["bench", *SUMMARY_CASES, "--quick"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.count("pytorch3d is not installed") == 1
    assert "in every case" in text
    summary = text[text.index("summary"):]
    rows = [line.split() for line in summary.splitlines()
            if line.split() and line.split()[0] in SUMMARY_CASES]
    assert [row[0] for row in rows] == SUMMARY_CASES  # one row per case, in order
    for row in rows:
        assert row[1:] == ["1k", "1", "ms", "3×", "-"]  # largest size, r3d, torch, pytorch3d


def test_html_report_of_a_run(tmp_path, monkeypatch):
    """--html writes the text report's tables, a chart of time against size per case, the
    settings and the machine into one page."""
    monkeypatch.setattr(runner_module, "iter_measurements", _measured_without_peer)
    path = tmp_path / "bench.html"
    result = runner.invoke(app, ["bench", *SUMMARY_CASES, "--quick", "--html", str(path)])
    assert result.exit_code == 0, result.output
    page = read_page(path)
    assert page.title == "r3d bench"
    assert page.headings == ["Summary", "Time against size", *SUMMARY_CASES, "Settings",
                             "Machine"]
    assert page.charts == [["r3d", "torch"]] * 3  # pytorch3d never ran
    assert page.polylines == 6
    text = path.read_text()
    assert "not measured: pytorch3d (pytorch3d is not installed) in every case" in text
    assert page.cells.count("3×") == 3 * 2 + 3  # torch at both sizes, and in the summary
    for cell in ("1 ms", "3 ms", "4 KiB", "4×", "1k", SUMMARY_CASES[0]):
        assert cell in page.cells
    assert page.cells[page.cells.index("repeats") + 1] == "3"  # the quick settings


@pytest.mark.parametrize("target, what", [
    ("gone/b.html", "does not exist"), ("afile/b.html", "is a file, not a folder"),
    (".", "is a folder, expected a file path")])
def test_html_path_is_checked_before_the_run(tmp_path, target, what):
    (tmp_path / "afile").write_text("")
    result = runner.invoke(app, ["bench", "packed_to_padded", "--quick", "--html",
                                 str(tmp_path / target)])
    assert result.exit_code == 2 and what in result.stderr, result.output
    assert "packed_to_padded" not in result.stdout  # refused before measuring


def _render(table) -> str:
    console = Console(file=io.StringIO(), width=200)
    console.print(table)
    return console.file.getvalue()


def test_summary_ratio_at_the_largest_size_each_contender_ran():
    records = _fake_group("packed_to_padded", 10) + _fake_group("packed_to_padded", 1000)
    records[-1] = Record("packed_to_padded", 1000, "torch", "torch", status="skipped",
                         reason="not run above 10 rows")
    (case,) = select_cases(["packed_to_padded"])
    table = report.summary_table(records, [case])
    assert table.row_count == 1
    (row,) = [line.split() for line in _render(table).splitlines() if "packed" in line]
    assert row == ["packed_to_padded", "1k", "1", "ms", "3×", "@10"]
    assert report.summary_table([], [case]) is None


def test_unavailable_line_and_captions():
    cases = select_cases(SUMMARY_CASES)
    records = [r for c in SUMMARY_CASES for r in _with_missing_peer(_fake_group(c, 10))]
    some = records[: len(records) // 3 * 2]  # two of the three cases
    assert report.unavailable_line(records, cases) == (
        "not measured: pytorch3d (pytorch3d is not installed) in every case"
    )
    assert report.unavailable_line(some + _fake_group(SUMMARY_CASES[2], 10), cases) == (
        "not measured: pytorch3d (pytorch3d is not installed) in 2 of 3 cases"
    )
    assert report.unavailable_line(_fake_group("packed_to_padded", 10), cases) is None
    for table in report.results_tables(records, cases):
        assert table.caption is None  # said once by unavailable_line, not under every table


def test_slow_first_call_skips_calibration():
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.001)

    timings = time_interleaved({"slow": slow}, torch.device("cpu"), repeats=3, warmup=1,
                               min_sample_time=1e-6)
    assert timings["slow"].number == 1
    assert len(calls) == 1 + 3  # the first call, then the timed samples


def test_cuda_without_gpu_exits_2():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = runner.invoke(app, ["bench", "--device", "cuda", "--quick"])
    assert result.exit_code == 2
    assert "cuda" in result.output.lower()


def test_bad_device_and_missing_folder_exit_2(tmp_path):
    assert runner.invoke(app, ["bench", "--device", "tpu", "--quick"]).exit_code == 2
    missing = tmp_path / "nope" / "x.json"
    assert runner.invoke(app, ["bench", "--quick", "--json", str(missing)]).exit_code == 2


def test_list_cases():
    result = runner.invoke(app, ["bench", "--list"])
    assert result.exit_code == 0
    for name in CASE_NAMES:
        assert name in result.stdout


def _fake_group(case: str, size: int) -> list[Record]:
    return [
        Record(case, size, "r3d", "native", median_s=1e-3, spread_s=1e-4, q25_s=9e-4,
               q75_s=1e-3, min_s=9e-4, max_s=2e-3, samples_s=[1e-3], ratio_vs_native=1.0,
               peak_memory_bytes=1024, memory_method="rss-hwm"),
        Record(case, size, "torch", "torch", median_s=3e-3, spread_s=1e-4, q25_s=3e-3,
               q75_s=3e-3, min_s=3e-3, max_s=3e-3, samples_s=[3e-3], ratio_vs_native=3.0,
               peak_memory_bytes=4096, memory_method="rss-hwm", memory_ratio_vs_native=4.0),
    ]


def test_ctrl_c_reports_partial_results(tmp_path, monkeypatch):
    def interrupted(cases, settings, status=None):
        status("measuring")
        yield _fake_group(cases[0].name, 10)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_module, "iter_measurements", interrupted)
    out = tmp_path / "partial.json"
    result = runner.invoke(app, ["bench", "--quick", "--json", str(out)])
    assert result.exit_code == 130
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True
    assert [r["contender"] for r in doc["results"]] == ["r3d", "torch"]
    assert "interrupted" in result.output


def test_plot_is_png(tmp_path):
    pytest.importorskip("matplotlib")
    cases = select_cases(["packed_to_padded"])
    records = _fake_group("packed_to_padded", 10) + _fake_group("packed_to_padded", 1000)
    path = tmp_path / "p.png"
    report.plot(records, cases, path, "title")
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_select_cases_patterns():
    assert [c.name for c in select_cases(["packed*"])] == [
        "packed_to_padded", "packed_to_padded_fwd_bwd"
    ]
    assert len(select_cases(None)) == len(all_cases())
    both = select_cases(["packed_to_padded", "packed*"])
    assert len(both) == len({c.name for c in both})
    with pytest.raises(InputError, match="known cases"):
        select_cases(["nope*"])


def test_gpu_sized_cases_run_elsewhere_only_when_named():
    big = "rasterize_torus4m_K1"
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    (case,) = select_cases([big])
    assert case.default_devices == ("cuda",)
    assert not case.runs_by_default(cpu) and case.runs_by_default(cuda)
    assert case.runs_by_default("cuda:0") and case.meta["faces"] == 4_000_000
    # default and pattern selections leave it out on the CPU, keep it on CUDA
    assert big not in {c.name for c in select_cases(None, cpu)}
    assert big in {c.name for c in select_cases(None, cuda)}
    assert len(select_cases(None)) == len(all_cases())
    mesh_cases = "rasterize_[!p]*"  # every mesh rasteriser case (tools/gpu-check)
    on_cpu = [c.name for c in select_cases([mesh_cases], cpu)]
    on_cuda = [c.name for c in select_cases([mesh_cases], cuda)]
    assert on_cuda[:2] == [big, big + "_fwd_bwd"] and on_cuda[2:] == on_cpu
    assert on_cpu and all(n.startswith(("rasterize_cow", "rasterize_ico6", "rasterize_batch8",
                                        "rasterize_armadillo", "rasterize_torus1m"))
                          for n in on_cpu)
    # named exactly, it runs anywhere; a pattern matching only such cases says so
    assert [c.name for c in select_cases([big], cpu)] == [big]
    with pytest.raises(InputError, match="when named exactly: rasterize_torus4m_K1, "):
        select_cases(["rasterize_torus4*"], cpu)
    # the pure-PyTorch twin never runs it, PyTorch3D never on the CPU
    assert case.contender("torch").size_limit_reason(1080, cuda, case.size_label)
    assert case.contender("pytorch3d").size_limit_reason(1080, cpu, case.size_label)
    assert case.contender("pytorch3d").size_limit_reason(1080, cuda, case.size_label) is None
    listing = runner.invoke(app, ["bench", "--list"])
    assert "elsewhere only when named exactly" in listing.stdout


def test_gpu_target_scene_is_4m_faces_at_1080p():
    """The big case's inputs: one 4M-face mesh in NDC, a 1080 x 1920 image (built on the CPU
    here in about a second; the case itself runs only on CUDA unless named)."""
    (case,) = select_cases(["rasterize_torus4m_K1_fwd_bwd"])
    x = case.setup(1080, torch.device("cpu"))
    (verts,), (faces,) = x["verts"], x["faces"]
    assert faces.shape == (4_000_000, 3) and verts.shape == (2_000_000, 3)
    assert x["size"] == (1080, 1920) and x["K"] == 1
    assert verts.requires_grad and [tuple(g.shape) for g in x["grads"]] == [
        (1, 1080, 1920, 1), (1, 1080, 1920, 1, 3), (1, 1080, 1920, 1)
    ]
    assert verts[:, :2].abs().max() <= 0.8 + 1e-6 and verts[:, 2].min() > 1.0
    # the cached scene is shared, not changed by a setup asking for gradients
    again = case.setup(1080, torch.device("cpu"))["verts"][0]
    assert again is not verts and again.data_ptr() != verts.data_ptr()
    assert not _big_scene()[0].requires_grad
    (forward,) = select_cases(["rasterize_torus4m_K1"])
    assert not forward.setup(1080, torch.device("cpu"))["verts"][0].requires_grad


def test_torus1m_case_is_1m_faces_at_1024():
    (case,) = select_cases(["rasterize_torus1m_K1"])
    assert case.sizes == (1024,) and "embree" in [c.name for c in case.contenders]
    x = case.setup(1024, torch.device("cpu"))
    (verts,), (faces,) = x["verts"], x["faces"]
    assert faces.shape == (1_000_000, 3) and verts.shape == (500_000, 3)
    assert verts[:, :2].abs().max() <= 0.8 + 1e-6 and verts[:, 2].min() > 1.0


def test_embree_contender_hits_the_faces_r3d_rasterises():
    """Embree's first hit per pixel centre (the bench's rays) is r3d's K = 1 pix_to_face, its
    BVH built outside the timed call or inside it."""
    pytest.importorskip("trimesh.ray.ray_pyembree")
    (case,) = select_cases(["rasterize_cow_K1"])
    x = case.setup(64, torch.device("cpu"))
    fragments = case.contender("r3d").run(x)
    expected = fragments[0][0, ..., 0].numpy()
    for name in ("embree", "embree_build"):
        contender = case.contender(name)
        assert contender.unavailable_reason(torch.device("cpu")) is None
        (hits,) = contender.run(contender.prepared(x))
        assert hits.shape == (64, 64) and (hits >= 0).sum() > 500
        assert (hits == expected).all()
    assert "CPU" in case.contender("embree").unavailable_reason(torch.device("cuda"))
    (fwd_bwd,) = select_cases(["rasterize_cow_K1_fwd_bwd"])
    assert "embree" not in [c.name for c in fwd_bwd.contenders]


def test_point_mesh_gpu_target_is_1m_points_against_1m_faces():
    """The point-mesh GPU target: CUDA only by default, one 1M-face torus and 1M points around
    it (built on the CPU here in about half a second)."""
    names = ["point_mesh_face_distance_torus1m", "point_mesh_face_distance_torus1m_fwd_bwd"]
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert [c.name for c in select_cases(["point_mesh*"], cuda)][:2] == names
    assert not set(names) & {c.name for c in select_cases(["point_mesh*"], cpu)}
    forward, fwd_bwd = select_cases(names)
    assert forward.meta["faces"] == 1_000_000 and forward.meta["points"] == 1_000_000
    assert forward.contender("torch").size_limit_reason(1_000_000, cuda, forward.size_label)
    x = fwd_bwd.setup(1_000_000, cpu)
    (verts,), (faces,), (points,) = x["verts"], x["faces"], x["points"]
    assert faces.shape == (1_000_000, 3) and points.shape == (1_000_000, 3)
    assert verts.requires_grad and points.requires_grad
    assert not forward.setup(1_000_000, cpu)["points"][0].requires_grad
    assert not any(t.requires_grad for t in point_mesh_cases._big_scene())
    # the points lie around the tube: at about its radius from the ring's centre line
    ring = points[:, :2].norm(dim=1) - point_mesh_cases.BIG_TORUS["R"]
    tube = torch.stack([ring, points[:, 2]], 1).norm(dim=1) / point_mesh_cases.BIG_TORUS["r"]
    assert (tube - 1).abs().max() < 0.4 and (tube - 1).abs().mean() < 0.05


def test_statistics_on_fixed_numbers():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([7.0]) == 7.0
    assert quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.25) == 2.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.75) == 3.25
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.0) == 1.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 1.0) == 4.0
    assert spread([1.0, 2.0, 3.0, 4.0, 5.0]) == 2.0
    assert spread([1.0, 2.0, 3.0, 4.0]) == 1.5
    assert spread([5.0, 5.0, 5.0]) == 0.0
    assert spread([1.0, 2.0, 3.0, 100.0]) == pytest.approx(25.5)  # 27.25 - 1.75: robust
    s = Summary.of([10.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.median, s.q25, s.q75, s.spread, s.min, s.max, s.count) == (3, 2, 4, 2, 1, 10, 5)
    with pytest.raises(InputError):
        median([])
    with pytest.raises(InputError):
        quantile([1.0], 1.5)


def test_time_interleaved_counts_and_errors():
    calls = {"a": 0, "b": 0}

    def a():
        calls["a"] += 1

    def b():
        calls["b"] += 1
        if calls["b"] > 1:
            raise RuntimeError("boom")

    timings = time_interleaved(
        {"a": a, "b": b}, torch.device("cpu"), repeats=4, warmup=1, min_sample_time=0.0
    )
    assert len(timings["a"].samples) == 4 and timings["a"].error is None
    assert all(t >= 0 for t in timings["a"].samples)
    assert isinstance(timings["b"].error, RuntimeError)


def test_settings_and_contender_checks():
    quick = Settings.make("cpu", quick=True)
    full = Settings.make("cpu")
    assert quick.repeats < full.repeats
    assert Settings.make("cpu", repeats=5).repeats == 5
    with pytest.raises(InputError):
        Settings.make("cpu", repeats=0)
    with pytest.raises(InputError):
        Contender("x", lambda _: None, kind="other")


def test_cpu_probe_measures_one_call():
    (case,) = select_cases(["packed_to_padded"])
    with CpuProbe() as probe:
        fig = probe.measure(case, case.quick_sizes[0], "torch")
        bad = probe.measure(case, case.quick_sizes[0], "no_such_contender")
    assert fig.error is None and fig.peak_bytes >= 0 and fig.method
    assert bad.peak_bytes is None and "no_such_contender" in bad.error


def test_json_path_in_a_missing_folder_or_under_a_file_is_refused(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    for target, what in ((tmp_path / "gone" / "b.json", "does not exist"),
                         (afile / "b.json", "is a file, not a folder")):
        result = runner.invoke(app, ["bench", "packed_to_padded", "--quick", "--json",
                                     str(target)])
        assert result.exit_code == 2 and what in result.stderr, result.output


def test_settings_filters_are_checked():
    """Thread counts and sizes must be whole numbers >= 1 (repeats dropped, order kept)."""
    settings = Settings.make("cpu", threads=[2, 1, 2], sizes=[500], contenders=["r3d", "r3d"])
    assert settings.threads == (2, 1) and settings.only_contenders == ("r3d",)
    (case,) = select_cases(["packed_to_padded"])
    assert settings.sizes(case) == (500,)
    assert [c.name for c in settings.contenders(case)] == ["r3d"]
    for bad in ({"threads": [0]}, {"sizes": [-1]}, {"threads": [1.5]}, {"sizes": [True]}):
        with pytest.raises(InputError, match="whole numbers"):
            Settings.make("cpu", **bad)


def test_measure_at_each_thread_count_with_efficiency():
    """Every contender is timed at each thread count; ratios compare contenders at the same
    count, the efficiency each contender against itself on the fewest threads; torch's thread
    count is left as it was."""
    (case,) = select_cases(["packed_to_padded"])
    settings = Settings.make("cpu", quick=True, memory=False, threads=[1, 2],
                             sizes=[2000], contenders=["r3d", "torch"])
    before = torch.get_num_threads()
    records = measure(case, 2000, settings)
    assert torch.get_num_threads() == before
    got = {(r.contender, r.threads): r for r in records}
    assert set(got) == {("r3d", 1), ("r3d", 2), ("torch", 1), ("torch", 2)}
    for (name, n), r in got.items():
        assert r.status == "ok" and r.size == 2000
        base = got[name, 1]
        assert r.efficiency == pytest.approx(base.median_s / (n * r.median_s))
        assert r.ratio_vs_native == pytest.approx(r.median_s / got["r3d", n].median_s)
    assert got["r3d", 1].efficiency == pytest.approx(1.0)


def test_scaling_rows_of_fake_records():
    """One row per case, size and contender measured on every count: times, then the
    efficiency on each count but the first."""
    records = []
    for n, t in ((1, 4e-3), (2, 2.5e-3)):
        for r in _fake_group("packed_to_padded", 10):
            r.threads, r.median_s = n, t * (2 if r.contender == "torch" else 1)
            r.efficiency = 4e-3 / (n * t)
            records.append(r)
    counts, rows = report.scaling_rows(records)
    assert counts == [1, 2]
    assert rows[0] == ["packed_to_padded", "10", "r3d", "4 ms", "2.5 ms", "80%"]
    assert [row[2] for row in rows] == ["r3d", "torch"]
    assert report.scaling_rows(_fake_group("packed_to_padded", 10)) is None


def test_cli_threads_sizes_contenders():
    """--threads, --sizes and --contenders choose what is measured; the JSON has a record per
    thread count with its efficiency, and the report a thread scaling table."""
    result = runner.invoke(app, ["bench", "packed_to_padded", "--quick", "--no-memory",
                                 "--threads", "1,2", "--sizes", "3000", "--contenders", "r3d",
                                 "--json", "-"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["settings"]["threads"] == [1, 2] and doc["settings"]["only_sizes"] == [3000]
    assert [(r["contender"], r["size"], r["threads"]) for r in doc["results"]] == [
        ("r3d", 3000, 1), ("r3d", 3000, 2)]
    assert all(r["efficiency"] > 0 for r in doc["results"])
    assert "thread scaling" in result.stderr and "r3d (2 threads)" in result.stderr


@pytest.mark.parametrize(("args", "what"), [
    (["--contenders", "nobody"], "nobody"),
    (["--threads", "1,x"], "--threads"),
    (["--sizes", "0"], "sizes"),
])
def test_cli_bad_filters_exit_2(args, what):
    result = runner.invoke(app, ["bench", "packed_to_padded", "--quick", *args])
    assert result.exit_code == 2 and what in result.stderr, result.output
