"""Every file in tests/data/fuzz/<format>/ (an input that tools/fuzz found crashing, hanging or
blowing up memory in that format's loader, before the loader was fixed) now loads or raises an
r3d error (InputError, FileFormatError, MissingFileError), within the fuzzer's memory budget
(:mod:`fuzzing.oracle`, run in this process)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from fuzzing.formats import FORMATS  # noqa: E402 - found through the path above
from fuzzing.worker import run_in_folder  # noqa: E402

FUZZ = ROOT / "tests" / "data" / "fuzz"
CASES = sorted(f"{p.parent.name}/{p.name}" for p in FUZZ.glob("*/*") if p.is_file())


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """format name -> a folder with that format's companion files (made on first use)."""
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = tmp_path_factory.mktemp(name)
            if FORMATS[name].setup is not None:
                FORMATS[name].setup(made[name])
        return made[name]

    return get


def test_regression_folders_are_formats():
    assert CASES, "tests/data/fuzz holds no regression files"
    assert {case.split("/")[0] for case in CASES} <= set(FORMATS)


@pytest.mark.parametrize("case", CASES)
def test_regression_input_loads_or_raises_an_r3d_error(case, folder):
    name = case.split("/")[0]
    outcome = run_in_folder(FORMATS[name], folder(name), (FUZZ / case).read_bytes())
    assert outcome.result in ("ok", "error"), f"{outcome.result}: {outcome.where} " \
                                              f"{outcome.detail}"
