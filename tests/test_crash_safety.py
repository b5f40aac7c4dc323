"""Crash-safe runs: ``r3d fit`` and ``r3d train`` killed with SIGKILL at seeded random moments
leave no half-written output, ``--resume`` continues from the last checkpoint, and the final
result equals an uninterrupted run's, bit for bit (as after Ctrl-C, tests/test_fit.py); a full
disk (a file-size limit) gives a one-line error naming the file and leaves the earlier outputs
as they were.

By default each kill-and-resume test runs one seed (fit: 3 kills, train: 2, to keep the file
under a minute); ``R3D_KILL_SEEDS=N`` runs N seeds of 3 kills each (the heavy variant, about
25 s per seed and command)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image, ImageSequence
from test_cli_fit import RECIPE, views  # noqa: F401 (views: a fixture)
from test_learn import data, tiny  # noqa: F401 (data: a fixture)

from r3d.errors import FileFormatError
from r3d.fit.recipe import load_recipe
from r3d.fit.run import fit, resume_recipe
from r3d.io import load_obj
from r3d.io.atomic import is_atomic_temp
from r3d.learn.recipe import train_recipe_to_dict
from r3d.runs.checkpoints import recipe_text
from r3d.runs.outdir import MARKER, output_folder, prepare_output_dir, run_files

HEAVY = "R3D_KILL_SEEDS" in os.environ
SEEDS = range(int(os.environ.get("R3D_KILL_SEEDS", "1")))
KILLS = 3  # per seed (train: 2 unless HEAVY)
FIT_SETTINGS = ["iterations=40", "outputs.every=8", "outputs.checkpoint_every=4"]


# ---- what a folder may hold -----------------------------------------------------------------


def _check_file(path: Path) -> None:
    """Asserts that ``path`` is a whole file of its kind."""
    kind = path.suffix if path.name != MARKER else ".json"
    if kind in (".png", ".gif"):
        with Image.open(path) as image:
            for frame in ImageSequence.Iterator(image):
                frame.load()
    elif kind == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif kind == ".yaml":
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
    elif kind == ".obj":
        assert len(load_obj(path)[0]) > 0, path
    elif kind == ".pt":
        assert isinstance(torch.load(path, weights_only=True)["iteration"], int), path
    elif kind == ".html":
        assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), path
    elif kind == ".csv":
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
        assert len(rows) >= 2 and len({len(r) for r in rows}) == 1, path
    else:
        raise AssertionError(f"{path}: an output of a kind this test does not check")


def check_whole(out: Path, killed: bool) -> None:
    """Every file under ``out`` is whole; the only other files allowed are the temporaries of
    atomic writes a killed run left (``killed``), never after a run that ended."""
    for root, _, names in os.walk(out):
        for name in names:
            path = Path(root) / name
            if is_atomic_temp(name):
                assert killed, f"{path}: a temporary file left after a run that ended"
            else:
                _check_file(path)


# ---- killing runs ----------------------------------------------------------------------------


def timed_run(cmd: list[str], cwd: Path) -> float:
    """Runs ``cmd`` to the end (exit 0); returns its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return time.perf_counter() - start


def _iteration(checkpoint: Path) -> int | None:
    """The iteration of the checkpoint at ``checkpoint`` (None: none there)."""
    return torch.load(checkpoint, weights_only=True)["iteration"] if checkpoint.is_file() \
        else None


def _kill_moment(proc: subprocess.Popen, checkpoint: Path, start: int | None, total: int,
                 seconds: float, rng: random.Random) -> None:
    """Waits for a seeded random moment of ``proc``'s run: a random time after it writes the
    checkpoint of a random iteration past ``start`` (up to 0.05 s: into the next iterations;
    after the last one up to 1 s: into writing the outputs); a random time into a run with
    nothing left to run (its outputs written again); or ``proc``'s end."""
    if start is not None and start >= total:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=rng.uniform(0.2, 0.8) * seconds)
        return
    target = rng.randint((start or 0) + 1, total)
    while proc.poll() is None and (_iteration(checkpoint) or 0) < target:
        time.sleep(0.02)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=rng.uniform(0.0, 1.0 if target == total else 0.05))


def kill_and_resume(fresh: list[str], resume: list[str], out: Path, total: int, seconds: float,
                    seed: int, kills: int = KILLS) -> list[int | None]:
    """Runs ``fresh`` (or ``resume`` once ``out`` holds a checkpoint) of a run of ``total``
    iterations until a run ends, killing each of the first ``kills`` launches with SIGKILL
    at a seeded random moment (:func:`_kill_moment`; ``seconds``: an uninterrupted run's time)
    and checking the folder after each. Returns the checkpoint's iteration before each launch
    (None: none yet); prints them (``pytest -s``)."""
    rng = random.Random(f"{fresh[1]}:{seed}")  # the command's own sequence of moments
    starts: list[int | None] = []
    log = out.parent / f"{out.name}.log"
    for launch in range(kills + 1):
        starts.append(_iteration(out / "checkpoint.pt"))
        with log.open("w") as stderr:
            proc = subprocess.Popen(resume if starts[-1] is not None else fresh, cwd=out.parent,
                                    stdout=subprocess.DEVNULL, stderr=stderr)
            if launch < kills:
                _kill_moment(proc, out / "checkpoint.pt", starts[-1], total, seconds, rng)
                proc.kill()  # SIGKILL (nothing when it has ended)
            proc.wait()
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, log.read_text()
        check_whole(out, killed=True)
    assert proc.returncode == 0, log.read_text()
    print(f"{out}: seed {seed}, launches from iterations {starts}, the last one ending the run")
    check_whole(out, killed=False)
    assert run_files(out) is not None  # the run ended: its marker lists its files
    return starts


def checkpoints(a: Path, b: Path) -> tuple[dict, dict]:
    return (torch.load(a / "checkpoint.pt", weights_only=True),
            torch.load(b / "checkpoint.pt", weights_only=True))


def assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b[key]), key
        else:
            assert value == b[key], key


@pytest.mark.parametrize("seed", SEEDS)
def test_fit_killed_and_resumed(views, tmp_path, r3d_exe, seed):  # noqa: F811
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    settings = [a for s in FIT_SETTINGS for a in ("--set", s)]

    def fresh(out: Path) -> list[str]:
        return [r3d_exe, "fit", "--views", str(views), "--recipe", str(recipe),
                "--out", str(out), *settings]

    seconds = timed_run(fresh(tmp_path / "whole"), tmp_path)
    cut = tmp_path / "cut"
    starts = kill_and_resume(fresh(cut), [r3d_exe, "fit", "--resume", str(cut)], cut, 40,
                             seconds, seed)
    a, b = checkpoints(tmp_path / "whole", cut)
    assert a["iteration"] == b["iteration"] == 40
    assert_same_tensors(a["model"], b["model"])
    assert a["history"] == b["history"]
    assert len(a["frames"]) == len(b["frames"]) == 5
    assert all(torch.equal(x, y) for x, y in zip(a["frames"], b["frames"], strict=True))
    assert (tmp_path / "whole" / "fit.obj").read_bytes() == (cut / "fit.obj").read_bytes()
    whole, metrics = (json.loads((d / "metrics.json").read_text())
                      for d in (tmp_path / "whole", cut))
    assert whole["mean_iou"] == metrics["mean_iou"]
    assert whole["final_loss"] == metrics["final_loss"]
    # the last launch continued from the checkpoint it found
    assert metrics["iterations_run"] == 40 - (starts[-1] or 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_train_killed_and_resumed(data, tmp_path, r3d_exe, seed):  # noqa: F811
    def fresh(out: Path) -> list[str]:
        path = tmp_path / f"{out.name}.yaml"
        recipe = tiny(out, data, "optim.epochs=2", "optim.final_lr=0.5", "outputs.eval_every=3")
        path.write_text(recipe_text(train_recipe_to_dict(recipe)))
        return [r3d_exe, "train", str(path)]

    seconds = timed_run(fresh(tmp_path / "whole"), tmp_path)
    cut = tmp_path / "cut"
    kill_and_resume(fresh(cut), [r3d_exe, "train", "--resume", str(cut)], cut, 8, seconds, seed,
                    KILLS if HEAVY else 2)
    a, b = checkpoints(tmp_path / "whole", cut)
    assert a["iteration"] == b["iteration"] == 8
    assert a["history"] == b["history"] and a["validation"] == b["validation"]
    assert_same_tensors(a["model"], b["model"])
    for name in ("log.csv", "metrics.csv"):
        assert (tmp_path / "whole" / name).read_bytes() == (cut / name).read_bytes(), name


# ---- a full disk -----------------------------------------------------------------------------


def _small_file_limit() -> None:
    """In the child: files may grow to 16 KiB; a write past that fails with EFBIG (SIGXFSZ,
    which would kill the process, ignored)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_full_disk_leaves_the_earlier_outputs(views, tmp_path, r3d_exe):  # noqa: F811
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "run"
    fit(load_recipe(recipe, ["iterations=2", f"outputs.dir={out}"]), views=views)
    before = snapshot(out)
    result = subprocess.run([r3d_exe, "fit", "--resume", str(out), "--set", "iterations=4"],
                            cwd=tmp_path, capture_output=True, text=True,
                            preexec_fn=_small_file_limit)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0] == f"error: {out / 'checkpoint.pt'}: cannot write: File too large"
    assert snapshot(out) == before  # byte for byte, and no file more (no temporary left)


def test_a_run_that_cannot_write_its_outputs_keeps_its_checkpoint(tmp_path):
    """A full disk is not bad input: the files the run wrote stay, listed, to resume."""
    out = tmp_path / "o"
    with pytest.raises(FileFormatError), output_folder(out, "r3d test") as folder:
        (folder / "checkpoint.pt").write_text("x")
        raise FileFormatError(folder / "report.html", "cannot write: No space left on device")
    assert run_files(out)["files"] == ["checkpoint.pt"]


# ---- temporaries a killed run left -----------------------------------------------------------


def test_a_killed_runs_temporaries_are_cleared(tmp_path):
    temp = ".checkpoint.pt.k2j_9x0q.tmp"
    assert is_atomic_temp(temp) and not is_atomic_temp(".notes.tmp")
    # a folder holding nothing else is empty to a new run; a resumed run clears them
    for resume in (False, True):
        (tmp_path / temp).write_bytes(b"half")
        prepare_output_dir(tmp_path, "r3d test", resume=resume)
        assert not any(tmp_path.iterdir())
    # a folder of other files keeps them: refused, nothing deleted
    (tmp_path / temp).write_bytes(b"half")
    (tmp_path / "mine.txt").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        prepare_output_dir(tmp_path, "r3d test")
    assert (tmp_path / temp).is_file()


def test_resuming_an_ended_run_rewrites_the_same_checkpoint(views, tmp_path):  # noqa: F811
    """A run killed while writing its outputs (after its last checkpoint) is resumed with
    nothing left to run: its outputs are written again, its checkpoint stays the same."""
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "run"
    fit(load_recipe(recipe, ["iterations=2", f"outputs.dir={out}"]), views=views)
    before = torch.load(out / "checkpoint.pt", weights_only=True)
    again, paths = resume_recipe(out)
    fit(again, resume=True, **paths)
    after = torch.load(out / "checkpoint.pt", weights_only=True)
    assert len(after["frames"]) == len(before["frames"]) == 1
    assert_same_tensors(after["model"], before["model"])
    with Image.open(out / "progress.gif") as gif:
        assert gif.n_frames == 2  # iteration 0 and the end
