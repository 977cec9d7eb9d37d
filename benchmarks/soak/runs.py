"""Running the soak: one graph at a time on the server, its RSS and image hashes, /free, the summary."""
from __future__ import annotations

import hashlib
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from benchmarks.soak.graphs import BAD_INPUT_MESSAGE, GRAPHS
from demo.server import ComfyServer, PromptError, output_images

LEAK_MARKERS = ("memory leak", "Potential memory leak")


def rss_of(pid: int) -> int:
    """Resident set size of process ``pid`` in bytes (Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class Run:
    index: int
    kind: str
    seconds: float
    rss: int
    ok: bool
    error: str = ""
    sha256: list[str] = field(default_factory=list)


def run_graph(server: ComfyServer, index: int, kind: str, prompt: dict, timeout: float = 1800) -> Run:
    t0 = time.time()
    try:
        entry = server.wait(server.queue(prompt), timeout=timeout)
        files = output_images(entry, server.output_dir)
        digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
        ok, error = True, ""
    except PromptError as err:
        ok, error, digests = False, str(err), []
    return Run(index, kind, round(time.time() - t0, 2), rss_of(server.proc.pid), ok, error, digests)


def free(server: ComfyServer, settle_s: float = 3.0) -> int:
    """POST /free (unload models, drop the executor's caches); the RSS once the worker has handled it."""
    server.post("/free", {"unload_models": True, "free_memory": True})
    time.sleep(settle_s)  # the prompt worker handles the flags, collects and empties caches
    server.get("/queue")
    return rss_of(server.proc.pid)


def leak_warnings(log_text: str) -> list[str]:
    return [line for line in log_text.splitlines() if any(m in line for m in LEAK_MARKERS)]


def plateau(runs: list[Run], tolerance: float = 0.03) -> dict[str, Any]:
    """Per kind: the RSS after each of its runs in the last half of the series, against the first of
    them; ``ok`` when all lie within ``tolerance`` of it."""
    half = runs[len(runs) // 2:]
    out: dict[str, Any] = {}
    for kind in dict.fromkeys(r.kind for r in half):
        series = [r.rss for r in half if r.kind == kind]
        start = series[0]
        worst = max(abs(v - start) / start for v in series)
        out[kind] = {"start_mib": round(start / 2**20, 1), "max_mib": round(max(series) / 2**20, 1),
                     "min_mib": round(min(series) / 2**20, 1), "max_rel_dev": round(worst, 4),
                     "n": len(series), "ok": worst <= tolerance}
    return out


def identical_outputs(runs: list[Run]) -> dict[str, Any]:
    """Per kind with images: whether every run's image equals the first run's, byte for byte."""
    out: dict[str, Any] = {}
    for kind in dict.fromkeys(r.kind for r in runs):
        digests = [r.sha256 for r in runs if r.kind == kind and r.ok]
        if digests and digests[0]:
            out[kind] = {"runs": len(digests), "identical": all(d == digests[0] for d in digests),
                         "sha256": digests[0][0][:16]}
    return out


def summarize(runs: list[Run], frees: list[int], log_text: str, tolerance: float = 0.03) -> dict[str, Any]:
    rss = [r.rss for r in runs]
    first, last = runs[0], runs[-1]
    return {
        "runs": len(runs),
        "failed_unexpectedly": [asdict(r) for r in runs if not r.ok and r.kind != "bad_input"],
        "bad_input_messages_ok": all(BAD_INPUT_MESSAGE in r.error for r in runs if r.kind == "bad_input"),
        "rss_mib": {"first": round(rss[0] / 2**20, 1), "last": round(rss[-1] / 2**20, 1),
                    "min": round(min(rss) / 2**20, 1), "max": round(max(rss) / 2**20, 1),
                    "median": round(statistics.median(rss) / 2**20, 1),
                    "max_first_half": round(max(rss[: len(rss) // 2]) / 2**20, 1),
                    "max_last_half": round(max(rss[len(rss) // 2:]) / 2**20, 1)},
        "rss_after_free_mib": [round(v / 2**20, 1) for v in frees],
        "plateau": plateau(runs, tolerance),
        "plateau_ok": all(v["ok"] for v in plateau(runs, tolerance).values()),
        "leak_warnings": leak_warnings(log_text),
        "first_vs_last": {"kind": first.kind, "first_run": first.index, "last_run": last.index,
                          "identical": first.kind == last.kind and bool(first.sha256) and first.sha256 == last.sha256},
        "identical_per_kind": identical_outputs(runs),
        "seconds_per_kind": {k: round(statistics.median([r.seconds for r in runs if r.kind == k]), 2)
                             for k in dict.fromkeys(r.kind for r in runs)},
    }


def soak(server: ComfyServer, kinds_in_order: list[str], kinds_per_cycle: int,
         on_run: Optional[Callable[[Run], None]] = None) -> tuple[list[Run], list[int]]:
    """Run the schedule on ``server``; ``/free`` after every ``kinds_per_cycle`` runs."""
    runs: list[Run] = []
    frees: list[int] = []
    for i, kind in enumerate(kinds_in_order, start=1):
        run = run_graph(server, i, kind, GRAPHS[kind]())
        runs.append(run)
        if on_run is not None:
            on_run(run)
        if i % kinds_per_cycle == 0 and i < len(kinds_in_order):
            frees.append(free(server))
    return runs, frees
