"""``r3d bench --load N``: the background load processes start, load, and are always gone after
the run (normal end, error, Ctrl-C, the parent killed). No test here asserts a timing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from typer.testing import CliRunner

from r3d.bench import Case, Contender, Settings, iter_measurements
from r3d.bench.load import MAX_PROCESSES, BackgroundLoad
from r3d.cli.main import app
from r3d.errors import InputError

runner = CliRunner()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _load_children() -> list[int]:
    """The load processes whose parent is this process."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if ppid == os.getpid() and b"r3d.bench._load" in cmdline:
            found.append(int(entry))
    return found


def _wait_gone(pids: list[int], seconds: float = 15.0) -> list[int]:
    """The pids still alive after waiting up to ``seconds`` for them to end."""
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")


def test_load_processes_run_inside_the_block_and_are_gone_after():
    with BackgroundLoad(2) as load:
        pids = load.pids
        assert len(pids) == 2
        assert sorted(pids) == sorted(_load_children())
        assert all(_alive(p) for p in pids)
    assert load.pids == []
    assert [p for p in pids if _alive(p)] == []  # stop() waited for them


def test_zero_load_starts_nothing_and_bad_counts_are_refused():
    with BackgroundLoad(0) as load:
        assert load.pids == [] and _load_children() == []
    for bad in (-1, 1.5, True, MAX_PROCESSES + 1):
        with pytest.raises(InputError, match="load"):
            BackgroundLoad(bad)
    with pytest.raises(InputError, match="load"):
        Settings.make("cpu", load=-1)


def _case(setup) -> Case:
    """An unregistered one-size case with one trivial native contender."""
    return Case("load_probe", (1,), (1,), setup, (Contender("r3d", lambda x: x, "native"),))


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_load_stops_when_the_run_raises(error):
    seen: list[int] = []

    def setup(size: int, device: torch.device):
        seen.extend(_load_children())
        raise error("setup failed")

    settings = Settings.make("cpu", quick=True, memory=False, load=2)
    with pytest.raises(error, match="setup failed"):
        list(iter_measurements([_case(setup)], settings))
    assert len(seen) == 2
    assert [p for p in seen if _alive(p)] == []


def test_measurements_run_under_the_load_and_it_stops_after():
    seen: list[int] = []

    def setup(size: int, device: torch.device):
        seen.extend(_load_children())
        return size

    settings = Settings.make("cpu", quick=True, memory=False, load=1)
    (records,) = list(iter_measurements([_case(setup)], settings))
    assert records[0].status == "ok"
    assert len(seen) == 1 and not _alive(seen[0])


def test_load_processes_end_when_their_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import time\n"
         "from r3d.bench.load import BackgroundLoad\n"
         "load = BackgroundLoad(2)\n"
         "load.start()\n"
         "print(*load.pids, flush=True)\n"
         "time.sleep(300)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        parent.send_signal(signal.SIGKILL)  # no clean-up code runs in the parent
        parent.wait()
        parent.stdout.close()
    assert _wait_gone(pids) == []


def test_cli_load_is_in_the_header_and_the_json(tmp_path):
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "packed_to_padded", "--quick", "--no-memory",
                                 "--load", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "under load: 1 background process" in " ".join(result.stdout.split())
    assert json.loads(out.read_text())["settings"]["load"] == 1
    assert _load_children() == []


def test_cli_bad_load_exits_2():
    for bad in ("-1", "65"):
        assert runner.invoke(app, ["bench", "--quick", "--load", bad]).exit_code == 2
