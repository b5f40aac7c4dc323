"""``r3d doctor``: what this r3d install can do, and a self-test of its native kernels."""

from __future__ import annotations

import json

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from .app import EXIT_FAILURE, command, console, err_console

STATUS_STYLES = {"ok": "green", "MISMATCH": "bold red", "error": "red", "skipped": "yellow"}


@command
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout instead "
                                 "of tables."),
    devices: list[str] = typer.Option([], "--device", metavar="DEVICE", help="Self-test on this "
                                      "device (cpu, cuda, cuda:1; repeatable). Default: every "
                                      "device with native kernels."),
    no_self_test: bool = typer.Option(False, "--no-self-test", help="Only report; do not run "
                                      "the native ops against their pure-PyTorch twins."),
) -> None:
    """Report versions, the native module's build, the devices and which ops run natively on
    each; self-test every native op against its pure-PyTorch twin (exit 1 when one fails)."""
    from r3d import doctor as lib
    from r3d.runs.devices import resolve_device

    targets = [resolve_device(d) for d in devices] or lib.self_test_devices()
    report = lib.system_report()
    report["self_test"] = {} if no_self_test else {str(d): lib.self_test(d) for d in targets}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_report(report)
    failures = [f"{row['op']} on {device}" for device, rows in report["self_test"].items()
                for row in lib.failed(rows)]
    if failures:
        err_console.print(Text("self-test failed: " + ", ".join(failures), style="bold red"),
                          soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE)


def _print_report(report: dict) -> None:
    console.print(_system_table(report))
    console.print(_native_table(report["native"]))
    console.print(_devices_table(report["devices"]))
    console.print(_ops_table(report["native_ops"], report["devices"]))
    for device, rows in report["self_test"].items():
        console.print(_self_test_table(device, rows))
        for row in rows:
            if _kind(row["status"]) == "error":
                message = row["status"].removeprefix("error: ")
                console.print(Text(f"{row['op']} error: {message}", style="red"), soft_wrap=True)
        console.print(_summary(device, rows))


def _summary(device: str, rows: list[dict]) -> Text:
    """One line: how many ops of the self-test on ``device`` ended in each status."""
    counts = dict.fromkeys(STATUS_STYLES, 0)
    for row in rows:
        counts[_kind(row["status"])] += 1
    parts = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    return Text(f"self-test on {device}: {parts}",
                style="green" if counts["ok"] == len(rows) else "yellow")


def _kind(status: str) -> str:
    """The first word of a self-test status: ok, MISMATCH, error or skipped."""
    return status.split(":")[0].split(" ")[0]


def _table(title: str, *columns: str, header: bool = True) -> Table:
    """A table in ``r3d bench``'s style with ``columns`` (names; "-right" appended to a name
    right-justifies it)."""
    table = Table(title=f"[bold]{title}[/bold]", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_header=header)
    for column in columns:
        name, _, justify = column.partition("-")
        first = column == columns[0]
        table.add_column(name, justify=justify or "left", overflow="fold", no_wrap=first,
                         style="bold cyan" if first and not header else None)
    return table


def _system_table(report: dict) -> Table:
    table = _table("System", "key", "value", header=False)
    table.add_row("r3d", f"{report['r3d']['version']}  {report['r3d']['path']}")
    table.add_row("python", report["python"])
    table.add_row("platform", report["platform"])
    torch_info = report["torch"]
    cuda = f"CUDA {torch_info['cuda']}" if torch_info["cuda"] else "no CUDA"
    table.add_row("torch", f"{torch_info['version']} ({cuda})")
    table.add_row("torch threads", str(torch_info["threads"]))
    return table


def _native_table(native: dict) -> Table:
    table = _table("Native build (r3d._C)", "key", "value", header=False)
    table.add_row("module", native["path"] or "not found")
    if not native["imported"]:
        table.add_row("imported", Text(f"no: {native['error']}", style="bold red"))
        table.add_row("", "every op runs its pure-PyTorch implementation")
        return table
    build = native["build"]
    table.add_row("imported", Text("yes", style="green"))
    table.add_row("compiler", build["compiler"])
    openmp = f"yes ({build['openmp']}), {build['omp_max_threads']} threads" if build["openmp"] \
        else "no"
    table.add_row("OpenMP", openmp)
    table.add_row("CUDA kernels", "yes" if build["with_cuda"] else "no")
    table.add_row("nvcc CUDA", build["cuda_version"] or "-")
    table.add_row("CUDA architectures", build["cuda_architectures"] or "-")
    table.add_row("CUDA driver", _driver_version(native["cuda_driver_version"]))
    return table


def _driver_version(version: int) -> str:
    """12040 -> "12.4"; 0 -> "none"."""
    return f"{version // 1000}.{version % 1000 // 10}" if version else "none"


def _devices_table(devices: list[dict]) -> Table:
    table = _table("Devices", "device", "name", "capability", "native float32", "native float64")
    for d in devices:
        table.add_row(d["device"], d["name"], d["capability"] or "-",
                      *(_yes_no(d["native"][dtype]) for dtype in ("float32", "float64")))
    return table


def _yes_no(value: bool) -> Text:
    return Text("yes", style="green") if value else Text("no", style="yellow")


def _ops_table(ops: list[str], devices: list[dict]) -> Table:
    table = _table("Native ops", "op", *(d["device"] for d in devices))
    for op in ops:
        table.add_row(op, *(_implementation(op in d["native_ops"]) for d in devices))
    return table


def _implementation(native: bool) -> Text:
    """What runs an op on a device: its native kernel or its pure-PyTorch twin."""
    return Text("native", style="green") if native else Text("torch", style="yellow")


def _self_test_table(device: str, rows: list[dict]) -> Table:
    """A row per op; an error's message is printed under the table, not in it."""
    table = _table(f"Self-test on {device}: native vs pure-PyTorch twin, float32", "op", "status",
                   "max |diff|-right", "native ms-right", "torch ms-right")
    for row in rows:
        kind = _kind(row["status"])
        status = kind if kind == "error" else row["status"]
        table.add_row(row["op"], Text(status, style=STATUS_STYLES[kind]), _diff(row),
                      _ms(row["native_ms"]), _ms(row["torch_ms"]))
    return table


def _diff(row: dict) -> str:
    value = row["max_abs_diff"]
    if value is None:
        return "shapes differ" if row["status"] == "MISMATCH" else ""
    return "0" if value == 0 else f"{value:.1e}"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
