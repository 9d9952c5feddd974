"""A function's configuration as a two-column sheet (pure rendering)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from lconsole.backends.base import ConcurrencyInfo, FunctionInfo


def config_sheet(fn: FunctionInfo, concurrency: ConcurrencyInfo | None) -> Table:
    sheet = Table.grid(padding=(0, 2))
    sheet.add_column(style="bold", no_wrap=True)
    sheet.add_column()

    def row(label: str, value: object) -> None:
        sheet.add_row(label, value if isinstance(value, Text) else Text(str(value)))

    row("Runtime", f"{fn.runtime or '-'}  ({fn.architecture})")
    row("Handler", fn.handler or "-")
    row("Memory", f"{fn.memory_size} MB")
    row("Timeout", f"{fn.timeout} s")
    row("Ephemeral storage", f"{fn.ephemeral_storage} MB")
    row("Tracing", fn.tracing_mode)
    if concurrency is not None:
        reserved = concurrency.reserved
        row("Reserved concurrency", "unreserved" if reserved is None else str(reserved))
        for p in concurrency.provisioned:
            row(f"Provisioned ({p.qualifier})", f"{p.available}/{p.requested} {p.status}")
    row("State", f"{fn.state or '-'} / {fn.last_update_status or '-'}")
    row("Code", f"{fn.code_size} bytes, sha256 {fn.code_sha256[:16]}…")
    row("Last modified", fn.last_modified or "-")
    if fn.description:
        row("Description", fn.description)
    env = fn.environment
    row("Environment", "" if env else "none")
    for name in sorted(env):
        row(f"  {name}", env[name])
    row("Layers", "" if fn.layers else "none")
    for arn in fn.layers:
        row("", arn)
    return sheet
