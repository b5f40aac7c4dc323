"""The output folder of a run (``r3d.runs.outdir``): a new run needs a missing or empty folder,
``overwrite`` replaces only an earlier r3d run's files, ``resume`` keeps the folder, the marker
lists the run's files, a run failing on bad input leaves nothing behind."""

from __future__ import annotations

import json
import os

import pytest

from r3d.errors import FileFormatError, InputError, RunInterrupted
from r3d.runs.outdir import MARKER, output_folder, prepare_output_dir, run_files


def fake_run(folder, names, *, command="r3d test", **options) -> None:
    """A run of ``command`` that writes ``names`` (relative paths) into ``folder``."""
    with output_folder(folder, command, **options) as out:
        for name in names:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(name)


def test_a_new_folder_is_made_with_its_parents_and_marked(tmp_path):
    out = tmp_path / "a" / "b"
    fake_run(out, ["x.png", "sub/y.json"])
    marker = json.loads((out / MARKER).read_text())
    assert marker == {"format": "r3d-run", "command": "r3d test",
                      "files": ["sub/y.json", "x.png"]}
    assert run_files(out) == {"command": "r3d test", "files": ["sub/y.json", "x.png"]}


def test_an_empty_folder_is_taken(tmp_path):
    fake_run(tmp_path, ["x.png"])
    assert (tmp_path / "x.png").is_file()


def test_a_folder_with_an_earlier_run_is_refused(tmp_path):
    fake_run(tmp_path / "o", ["x.png"])
    with pytest.raises(InputError) as info:
        prepare_output_dir(tmp_path / "o", "r3d test")
    message = str(info.value)
    assert str(tmp_path / "o") in message and "--overwrite" in message
    assert "r3d test" in message and "\n" not in message


def test_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty.*--overwrite"):
        prepare_output_dir(tmp_path, "r3d test")
    with pytest.raises(InputError, match="holds others: notes.txt; move them"):
        prepare_output_dir(tmp_path, "r3d test", overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_overwrite_removes_the_earlier_runs_files(tmp_path):
    out = tmp_path / "o"
    fake_run(out, ["view_000.png", "view_001.png", "maps/depth_000.png"])
    fake_run(out, ["view_000.png"], overwrite=True)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        MARKER, "view_000.png"]
    assert run_files(out)["files"] == ["view_000.png"]


def test_overwrite_refuses_files_added_after_the_run(tmp_path):
    out = tmp_path / "o"
    fake_run(out, [f"view_{i}.png" for i in range(5)])
    (out / "mine.txt").write_text("keep me")
    (out / "deep").mkdir()
    (out / "deep" / "also.txt").write_text("keep me too")
    with pytest.raises(InputError) as info:
        prepare_output_dir(out, "r3d test", overwrite=True)
    assert "deep/also.txt, mine.txt" in str(info.value)
    assert len(list(out.glob("view_*.png"))) == 5  # nothing was deleted


def test_overwrite_refuses_to_delete_an_input(tmp_path):
    out = tmp_path / "o"
    fake_run(out, ["views/cameras.json", "fit.obj"])
    with pytest.raises(InputError, match="would delete .*views, an input of this run"):
        prepare_output_dir(out, "r3d test", overwrite=True, keep=[out / "views"])
    assert (out / "fit.obj").is_file()


def test_resume_keeps_the_folder_and_adds_to_the_list(tmp_path):
    out = tmp_path / "o"
    fake_run(out, ["checkpoint.pt", "recipe.yaml"])
    (out / "checkpoint.pt").write_text("old")
    os.utime(out / "checkpoint.pt", ns=(1, 1))  # so that a rewrite shows
    fake_run(out, ["checkpoint.pt", "fit.obj"], resume=True)
    assert (out / "recipe.yaml").is_file() and (out / "checkpoint.pt").read_text() == \
        "checkpoint.pt"
    assert run_files(out)["files"] == ["checkpoint.pt", "fit.obj", "recipe.yaml"]


def test_a_file_in_the_way(tmp_path):
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    with pytest.raises(InputError, match="afile.txt is a file$"):
        prepare_output_dir(afile, "r3d test")
    with pytest.raises(InputError) as info:
        prepare_output_dir(afile / "sub" / "deeper", "r3d test")
    assert f"{afile} is a file, not a folder" in str(info.value)


def test_overwrite_and_resume_together(tmp_path):
    with pytest.raises(InputError, match="give one of them"):
        prepare_output_dir(tmp_path, "r3d test", overwrite=True, resume=True)


def test_a_run_failing_on_bad_input_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "o"
    with pytest.raises(FileFormatError), output_folder(out, "r3d test") as folder:
        (folder / "example").mkdir()
        (folder / "example" / "view.png").write_text("x")
        raise FileFormatError("input.obj", "bad")
    assert not (tmp_path / "new").exists()


def test_a_failed_resume_keeps_the_earlier_files(tmp_path):
    fake_run(tmp_path, ["checkpoint.pt"])
    with pytest.raises(InputError), output_folder(tmp_path, "r3d test", resume=True) as folder:
        (folder / "new.txt").write_text("x")
        raise InputError("bad")
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "checkpoint.pt"]


@pytest.mark.parametrize("error", [RunInterrupted("o", 2), RuntimeError("crash")])
def test_interrupted_or_crashed_runs_list_their_files(tmp_path, error):
    with pytest.raises(type(error)), output_folder(tmp_path / "o", "r3d test") as folder:
        (folder / "checkpoint.pt").write_text("x")
        raise error
    assert run_files(tmp_path / "o")["files"] == ["checkpoint.pt"]
    fake_run(tmp_path / "o", ["fit.obj"], overwrite=True)  # and --overwrite replaces them
    assert not (tmp_path / "o" / "checkpoint.pt").exists()


def test_a_failure_before_any_file_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError), output_folder(tmp_path / "o", "r3d test"):
        raise RuntimeError("crash")
    assert not (tmp_path / "o").exists()


def test_a_broken_marker_is_not_an_r3d_run(tmp_path):
    (tmp_path / MARKER).write_text("{not json")
    (tmp_path / "x.png").write_text("x")
    assert run_files(tmp_path) is None
    with pytest.raises(InputError, match="holds others: x.png"):
        prepare_output_dir(tmp_path, "r3d test", overwrite=True)
