"""``python -m benchmarks.soak``: the command line (see the package docstring)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Optional

from benchmarks.soak import __doc__ as soak_doc
from benchmarks.soak.graphs import KINDS, schedule
from benchmarks.soak.models import ROOT, write_inputs, write_models
from benchmarks.soak.runs import Run, rss_of, soak, summarize
from demo.server import ComfyServer


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=soak_doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=15, help="cycles of every graph kind (default 15: 106 runs)")
    ap.add_argument("--no-sdxl", action="store_true", help="leave out the SDXL graph (its stand-in is ~2 GB)")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "soak", help="models, server dirs, log")
    ap.add_argument("--plateau", type=float, default=0.03, help="plateau tolerance (default 0.03 = 3 %%)")
    ap.add_argument("--port", type=int, default=None)
    args = ap.parse_args(argv)
    kinds = tuple(k for k in KINDS if not (args.no_sdxl and k == "sdxl"))
    order = schedule(args.cycles, kinds)
    models = write_models(args.work / "models", sdxl=not args.no_sdxl)
    server = ComfyServer(models, args.work / "server", port=args.port)
    write_inputs(server.input_dir)
    print(f"[soak] {len(order)} graphs, {args.cycles} cycles of {', '.join(kinds)}; starting ComfyUI", flush=True)
    server.start()
    print(f"[soak] server pid {server.proc.pid} up in {server.startup_seconds:.0f} s, RSS "
          f"{rss_of(server.proc.pid) / 2**20:.0f} MiB; log {server.log_path}", flush=True)

    def show(run: Run) -> None:
        state = "ok" if run.ok else f"error: {run.error[:90]}"
        print(f"[soak] {run.index:4d} {run.kind:11s} {run.seconds:7.1f} s  RSS {run.rss / 2**20:8.1f} MiB  {state}",
              flush=True)

    try:
        runs, frees = soak(server, order, len(kinds), on_run=show)
        log_text = server.log_path.read_text(errors="replace")
        report = summarize(runs, frees, log_text, args.plateau)
        still_serving = bool(server.get("/system_stats"))
    finally:
        server.stop()
    report.update({"cycles": args.cycles, "kinds": list(kinds), "server_still_serving": still_serving,
                   "series": [asdict(r) for r in runs]})
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=1))
    brief = {k: v for k, v in report.items() if k != "series"}
    print(json.dumps(brief, indent=1))
    print(f"[soak] report: {path}")
    good = (not report["failed_unexpectedly"] and report["bad_input_messages_ok"] and report["plateau_ok"]
            and not report["leak_warnings"] and report["first_vs_last"]["identical"]
            and all(v["identical"] for v in report["identical_per_kind"].values()))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
