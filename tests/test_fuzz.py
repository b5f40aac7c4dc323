"""The loader fuzzer (tools/fuzz): reproducible inputs, the oracle's verdicts (a 10**12-vertex
header must fail before allocating, an allocation beyond the budget is a finding, an exception
that is not r3d's is a crash), and a short run from the command line."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from fuzzing.formats import FORMATS, ply_boundaries  # noqa: E402 - found through ROOT/tools
from fuzzing.mutate import Kind, mutate  # noqa: E402
from fuzzing.oracle import MEMORY_CONSTANT, MEMORY_FACTOR, run_input  # noqa: E402
from fuzzing.runner import generate  # noqa: E402

from r3d.errors import FileFormatError  # noqa: E402

SEEDS = [("a", b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n"),
         ("b", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")]


def test_inputs_are_reproducible_from_the_seed():
    first = [generate(SEEDS, "ply_ascii", 7, i) for i in range(50)]
    assert first == [generate(SEEDS, "ply_ascii", 7, i) for i in range(50)]
    assert first != [generate(SEEDS, "ply_ascii", 8, i) for i in range(50)]
    assert len({data for _, data in first}) > 25  # the mutations vary


def test_every_kind_of_document_mutates():
    import random

    for fmt in FORMATS.values():
        rng = random.Random(fmt.name)
        data = b'{"a": [1, 2.5, {"b": "c"}]}\n' if fmt.kind.document else SEEDS[0][1]
        assert any(mutate(rng, data, fmt.kind) != data for _ in range(10)), fmt.name


def test_ply_boundaries_are_the_header_end_and_the_elements():
    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\n"
              b"property float y\nelement face 1\nproperty list uchar int vertex_indices\n"
              b"end_header\n")
    data = header + bytes(16) + b"\x03" + bytes(12)
    assert ply_boundaries(data) == [len(header), len(header) + 8, len(header) + 16]
    assert Kind(text=False, boundaries=ply_boundaries).offsets(data)[-1] == len(data)


def _huge_ply(tmp_path: Path, binary: bool) -> Path:
    fmt = b"binary_little_endian" if binary else b"ascii"
    path = tmp_path / "huge.ply"
    path.write_bytes(b"ply\nformat " + fmt + b" 1.0\nelement vertex 1000000000000\n"
                     b"property float x\nproperty float y\nproperty float z\nend_header\n"
                     + (bytes(12) if binary else b"0 0 0\n"))
    return path


@pytest.mark.parametrize("binary", [False, True])
def test_a_header_claiming_10_to_the_12_vertices_fails_before_allocating(tmp_path, binary):
    outcome = run_input(FORMATS["ply_le"].load, _huge_ply(tmp_path, binary), 200)
    assert outcome.result == "error", outcome
    assert outcome.peak_bytes < MEMORY_CONSTANT


def _glb(doc: dict) -> bytes:
    chunk = json.dumps(doc).encode()
    chunk += b" " * (-len(chunk) % 4)
    body = struct.pack("<II", len(chunk), 0x4E4F534A) + chunk
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


HUGE_COUNTS = {
    "off": b"OFF\n1000000000000 1 0\n0 0 0\n3 0 0 0\n",
    "ply_be": b"ply\nformat binary_big_endian 1.0\nelement vertex 4294967295\n"
              b"property double x\nelement face 1000000000000\n"
              b"property list uint uint vertex_indices\nend_header\n" + bytes(8),
    "stl_binary": bytes(80) + struct.pack("<I", 0xFFFFFFFF) + bytes(50),
    "binvox": b"#binvox 1\ndim 100000 100000 100000\ndata\n\x01\xff",
    "glb": _glb({"asset": {"version": "2.0"}, "meshes": [{"primitives": [
        {"attributes": {"POSITION": 0}}]}], "accessors": [
        {"componentType": 5126, "count": 10**12, "type": "VEC3"}]}),
}


@pytest.mark.parametrize("name", sorted(HUGE_COUNTS))
def test_huge_counts_fail_before_allocating(tmp_path, name):
    path = tmp_path / FORMATS[name].file
    path.write_bytes(HUGE_COUNTS[name])
    outcome = run_input(FORMATS[name].load, path, len(HUGE_COUNTS[name]))
    assert outcome.result == "error", outcome


def test_an_allocation_beyond_the_budget_is_a_memory_finding(tmp_path):
    def greedy(path):
        return np.ones(10**12, np.uint8)  # a loader that trusts a count in the file

    outcome = run_input(greedy, tmp_path, 100)
    assert outcome.result == "memory" and "allocation failed" in outcome.detail


def test_memory_touched_beyond_the_budget_is_a_memory_finding(tmp_path):
    """Under the address-space cap (the budget plus ADDRESS_SLACK) the resident set holds the
    load to the budget."""
    over = MEMORY_CONSTANT + 100 * MEMORY_FACTOR + (64 << 20)

    def wasteful(path):
        return np.ones(over, np.uint8)  # touched: every page resident

    outcome = run_input(wasteful, tmp_path, 100)
    assert outcome.result == "memory" and "resident set" in outcome.detail, outcome


def test_r3d_errors_pass_and_other_exceptions_are_crashes(tmp_path):
    def refuses(path):
        raise FileFormatError(path, "bad")

    def breaks(path):
        return {}["missing"]

    assert run_input(refuses, tmp_path, 10).result == "error"
    crash = run_input(breaks, tmp_path, 10)
    assert crash.result == "crash" and crash.detail.startswith("KeyError")
    assert run_input(lambda path: 1, tmp_path, 10).result == "ok"


def test_a_short_run_from_the_command_line(tmp_path):
    summary = tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fuzz"), "--inputs", "30", "--seed", "3",
         "--format", "ply_ascii,obj,gltf", "--json", str(summary), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(summary.read_text())
    assert doc["inputs"] == 30 and doc["findings"] == []
    assert set(doc["formats"]) == {"ply_ascii", "obj", "gltf"}
    assert "r3d-error" in proc.stdout and "total" in proc.stdout
