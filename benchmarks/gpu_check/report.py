"""The result table: one markdown and one JSON file, rewritten after every cell."""
from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("BrushEdit")
STATUS_ORDER = ["", "ok", "high", "skipped", "ERROR", "FAIL"]


@dataclass
class Row:
    part: str
    dtype: str
    cells: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    limit: str = ""
    raw: dict = field(default_factory=dict)

    @property
    def worst(self) -> str:
        return max(self.status.values(), key=STATUS_ORDER.index, default="")


class Table:
    """The result table; rewritten to disk after every cell so a cut-off run leaves what it has."""

    def __init__(self, out_dir: Path, header: dict) -> None:
        self.out_dir, self.header = out_dir, header
        self.rows: dict[tuple[str, str], Row] = {}
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def put(self, part: str, dtype: str, kind: str, text: str, status: str = "", limit: str = "",
            raw: Any = None) -> None:
        row = self.rows.setdefault((part, dtype), Row(part, dtype))
        row.cells[kind], row.status[kind] = text, status
        if limit:
            row.limit = limit
        if raw is not None:
            row.raw[kind] = raw
        log.info("[gpu_check] %5.1f s  %s | %s | %s: %s %s", time.perf_counter() - self.header["_t0"], part, dtype,
                 kind, text, status)
        self.flush()

    @property
    def failed(self) -> bool:
        return any(r.worst in ("FAIL", "ERROR") for r in self.rows.values())

    def markdown(self) -> str:
        h = self.header
        lines = [f"## BrushEdit GPU check: {h['device']}",
                 "",
                 f"torch {h['torch']}, ComfyUI {h['comfyui']}, python {h['python']}; "
                 f"{h['mode']}; wall {time.perf_counter() - h['_t0']:.0f} s",
                 "",
                 "| check | dtype | SD1.5 | SDXL | limit | status |",
                 "|---|---|---|---|---|---|"]
        for r in self.rows.values():
            lines.append(f"| {r.part} | {r.dtype} | {r.cells.get('sd15', '')} | {r.cells.get('sdxl', '')} | "
                         f"{r.limit} | {r.worst} |")
        lines += ["", "Errors: max |ours - reference| / max |reference| over the output; reference = "
                      "tests/_reference.py in fp32 on the same (dtype-rounded) weights, on the device; TF32 off in "
                      "part A (both sides). "
                      "'plain' rows: the base UNet alone in that dtype against the same reference (the dtype's own "
                      "error). limit: 'high' above it (informative); FAIL/ERROR are hard failures. "
                      "Part B: s/step = median time between sampler step callbacks (device synchronised), "
                      "CFG batch; ratio = mode / plain."]
        return "\n".join(lines) + "\n"

    def flush(self) -> None:
        try:
            (self.out_dir / "gpu_check.md").write_text(self.markdown())
            data = {"header": {k: v for k, v in self.header.items() if not k.startswith("_")},
                    "rows": [{"check": r.part, "dtype": r.dtype, "cells": r.cells, "status": r.status,
                              "limit": r.limit, "raw": r.raw} for r in self.rows.values()]}
            (self.out_dir / "gpu_check.json").write_text(json.dumps(data, indent=2, default=str))
        except OSError as err:  # never let the report kill the check
            log.warning("[gpu_check] could not write the report: %s", err)


def guarded(table: Table, part: str, dtype: str, kind: str, fn: Callable[[], None]) -> None:
    """Run one check; an exception becomes an ERROR cell (traceback in the log), never a crash."""
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the report must go on
        traceback.print_exc()
        msg = f"{type(err).__name__}: {err}".replace("|", "/").replace("\n", " ")
        table.put(part, dtype, kind, msg[:110], "ERROR")
