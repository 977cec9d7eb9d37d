"""Soak benchmark: one real ComfyUI server, many mixed graphs, resident memory after every run.

    .host/venv/bin/python -m benchmarks.soak                      # 15 cycles of 7 graphs + 1 = 106 runs
    .host/venv/bin/python -m benchmarks.soak --cycles 2 --no-sdxl # a few minutes

Not a test (``tests/e2e/test_soak.py`` runs a reduced version in CI). One cycle runs, in this order:

    sd15        SD1.5 BrushNet inpaint + Blend Inpaint
    powerpaint  PowerPaint v2 (object removal) on the same SD1.5 model, PowerPaint CLIP Loader
    text_mask   GroundingDINO + SAM "the cake" -> Mask Adjust -> SD1.5 BrushNet
    sdxl        SDXL BrushNet inpaint (model switch: ~2 GB stand-in with full-size text encoders)
    planner     BrushEdit Planner (rules) -> Text to Mask -> Plan Mask -> BrushNet, caption from the plan
    crop_blend  Cut For Inpaint on a 1150x690 photo -> BrushNet at 128 px -> Blend Inpaint pasted back
    bad_input   Plan Mask "remove" without a mask: must fail with the pack's own message

then ``POST /free`` (unload models, drop caches), and the last run repeats the first graph. Every model
is a small random-weight stand-in of the real architecture in its real file format (the names users
have, see ``demo/example_models.py``). Every graph uses a fixed seed, so each kind's image must be
byte-identical in every cycle (run 1 against the last run in particular).

Reported: the server's RSS after every run and after every ``/free`` (``/proc/<pid>/status``), the
plateau (for each graph kind, every RSS of the last half of the runs within ``--plateau`` (3 %) of the
first RSS of that half), ComfyUI's "memory leak" warnings in the server log (must be none), the
SHA-256 of every saved image, run times. JSON goes to ``benchmarks/results/soak-<time>.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # last: ComfyUI's own `nodes` module must win over this repository's nodes/

from demo import example_models as em  # noqa: E402
from demo.server import ComfyServer, PromptError, output_images  # noqa: E402

SMALL = 128
STEPS = 2
POWERPAINT = "powerpaint_small/diffusion_pytorch_model.safetensors"
POWERPAINT_TEXT = "powerpaint_small/pytorch_model.bin"
CLIP_L = "clip_l_sd15_standin.safetensors"
KINDS = ("sd15", "powerpaint", "text_mask", "sdxl", "planner", "crop_blend", "bad_input")
#: the message the bad_input graph must fail with (the pack's, not ComfyUI's raw lazy-input error)
BAD_INPUT_MESSAGE = "category 'remove' needs a mask of"
LEAK_MARKERS = ("memory leak", "Potential memory leak")


# ----------------------------------------------------------------------------------------- models
def _host_paths() -> None:
    """ComfyUI's folder on sys.path (CPU only) so the stand-in writers can use ComfyUI's model classes."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import _harness  # noqa: F401  (puts ComfyUI first on sys.path)
    from comfy.cli_args import args

    args.cpu = True


def write_text_mask_models(models_dir: Path) -> None:
    """Tiny random GroundingDINO / SAM in the original .pth layouts under the names users have."""
    import torch

    sys.path.insert(0, str(ROOT / "tests" / "text_mask"))
    import tm_tiny

    sams, gdino = models_dir / "sams", models_dir / "grounding-dino"
    if (sams / em.SAM).exists() and (gdino / em.GROUNDING_DINO).exists():
        return
    sams.mkdir(parents=True, exist_ok=True)
    gdino.mkdir(parents=True, exist_ok=True)
    torch.save(tm_tiny.sam_to_original(tm_tiny.tiny_sam().state_dict()), sams / em.SAM)
    torch.save(tm_tiny.gdino_to_original(tm_tiny.tiny_gdino().state_dict()), gdino / em.GROUNDING_DINO)
    tm_tiny.write_vocab(str(gdino))


def write_powerpaint_models(models_dir: Path) -> None:
    """A PowerPaint v2 BrushNet matched to the small SD1.5 stand-in, its text-encoder file (task tokens
    only) and a CLIP-L text encoder taken from the SD1.5 stand-in checkpoint as the loader's base."""
    import safetensors.torch
    import torch

    from brushnet_core.powerpaint.model import PowerPaintConfig, PowerPaintModel
    from demo.random_weights import randomize_

    bn = models_dir / "brushnet" / POWERPAINT
    text = models_dir / "brushnet" / POWERPAINT_TEXT
    clip = models_dir / "text_encoders" / CLIP_L
    if not bn.exists():
        cfg = PowerPaintConfig(block_out_channels=(320, 320, 320, 320), cross_attention_dim=768)
        model = randomize_(PowerPaintModel(cfg), seed=11).eval()
        bn.parent.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, str(bn))
        del model
    if not text.exists():
        gen = torch.Generator().manual_seed(12)
        prefix = "text_model.embeddings.token_embedding.trainable_embeddings."
        torch.save({prefix + w: torch.randn(10, 768, generator=gen) * 0.02 for w in ("P_ctxt", "P_shape", "P_obj")},
                   str(text))
    if not clip.exists():
        ckpt = models_dir / "checkpoints" / em.SD15_CHECKPOINT
        head = "cond_stage_model.transformer."
        with safetensors.safe_open(str(ckpt), framework="pt") as fh:
            sd = {k[len(head):]: fh.get_tensor(k) for k in fh.keys() if k.startswith(head + "text_model.")}
        clip.parent.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_file(sd, str(clip))


def write_models(models_dir: Path, sdxl: bool = True) -> Path:
    """Every stand-in the soak graphs load (skips files that exist). Returns ``models_dir``."""
    _host_paths()
    models_dir = Path(models_dir)
    em.write_sd15_stand_ins(models_dir, with_lora_controlnet=False)
    write_text_mask_models(models_dir)
    write_powerpaint_models(models_dir)
    if sdxl:
        em.write_sdxl_stand_ins(models_dir)
    import gc

    gc.collect()
    return models_dir


def write_inputs(input_dir: Path) -> None:
    """The example photo and mask at 128 px, and the large photo with its (other-size) mask."""
    from PIL import Image

    examples = ROOT / "tests" / "data" / "examples"
    input_dir.mkdir(parents=True, exist_ok=True)
    pairs = [("test_image.jpg", em.EXAMPLE_IMAGE, (SMALL, SMALL)), ("test_mask.jpg", em.EXAMPLE_MASK, (SMALL, SMALL)),
             ("example_4.jpeg", em.LARGE_IMAGE, None), ("example_4_mask.jpg", em.LARGE_MASK, None)]
    for src, dst, size in pairs:
        if (input_dir / dst).exists():
            continue
        img = Image.open(examples / src).convert("RGB")
        (img.resize(size) if size else img).save(input_dir / dst)


# ----------------------------------------------------------------------------------------- graphs
def _tail(p: dict, ckpt: str, bn: str, image: list, mask: list, prefix: str, seed: int) -> dict:
    """KSampler -> VAEDecode -> BlendInpaint -> SaveImage after a BrushNet/PowerPaint node ``bn``."""
    p["ks"] = {"class_type": "KSampler", "inputs": {
        "seed": seed, "steps": STEPS, "cfg": 7.5, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
        "model": [bn, 0], "positive": [bn, 1], "negative": [bn, 2], "latent_image": [bn, 3]}}
    p["dec"] = {"class_type": "VAEDecode", "inputs": {"samples": ["ks", 0], "vae": [ckpt, 2]}}
    p["blend"] = {"class_type": "BlendInpaint", "inputs": {"inpaint": ["dec", 0], "original": image, "mask": mask,
                                                            "kernel": 10, "sigma": 10.0}}
    p["save"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": f"soak/{prefix}", "images": ["blend", 0]}}
    return p


def _base(checkpoint: str, brushnet: str, text: str = "a clean wooden table", image: str = em.EXAMPLE_IMAGE) -> dict:
    return {
        "img": {"class_type": "LoadImage", "inputs": {"image": image}},
        "ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "bnl": {"class_type": "BrushNetLoader", "inputs": {"brushnet": brushnet, "dtype": "auto"}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["ckpt", 1]}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, low quality", "clip": ["ckpt", 1]}},
    }


def _brushnet(p: dict, mask: list, image: list | None = None) -> None:
    p["bn"] = {"class_type": "BrushNet", "inputs": {
        "model": ["ckpt", 0], "vae": ["ckpt", 2], "image": image or ["img", 0], "mask": mask, "brushnet": ["bnl", 0],
        "positive": ["pos", 0], "negative": ["neg", 0], "scale": 1.0, "start_at": 0, "end_at": 10000}}


def _drawn_mask(p: dict, name: str = em.EXAMPLE_MASK) -> list:
    p["msk"] = {"class_type": "LoadImageMask", "inputs": {"image": name, "channel": "red"}}
    return ["msk", 0]


def sd15(seed: int = 1, steps: int = STEPS) -> dict:
    p = _base(em.SD15_CHECKPOINT, em.SD15_BRUSHNET)
    mask = _drawn_mask(p)
    _brushnet(p, mask)
    p = _tail(p, "ckpt", "bn", ["img", 0], mask, "sd15", seed)
    p["ks"]["inputs"]["steps"] = steps
    return p


def sdxl(seed: int = 2) -> dict:
    p = _base(em.SDXL_CHECKPOINT, em.SDXL_BRUSHNET, text="a wooden bench in a park")
    mask = _drawn_mask(p)
    _brushnet(p, mask)
    return _tail(p, "ckpt", "bn", ["img", 0], mask, "sdxl", seed)


def powerpaint(seed: int = 3) -> dict:
    p = _base(em.SD15_CHECKPOINT, POWERPAINT, text="empty scene blur")
    mask = _drawn_mask(p)
    p["ppclip"] = {"class_type": "PowerPaintCLIPLoader", "inputs": {"base": CLIP_L, "powerpaint": POWERPAINT_TEXT}}
    p["pp"] = {"class_type": "PowerPaint", "inputs": {
        "model": ["ckpt", 0], "vae": ["ckpt", 2], "image": ["img", 0], "mask": mask, "powerpaint": ["bnl", 0],
        "clip": ["ppclip", 0], "positive": ["pos", 0], "negative": ["neg", 0], "fitting": 1.0,
        "function": "object removal", "scale": 1.0, "start_at": 0, "end_at": 10000, "save_memory": "none"}}
    return _tail(p, "ckpt", "pp", ["img", 0], mask, "powerpaint", seed)


def _text_mask_nodes(p: dict, prompt: Any) -> list:
    p["dino"] = {"class_type": "BrushEditGroundingDinoLoader", "inputs": {"model_name": em.GROUNDING_DINO}}
    p["sam"] = {"class_type": "BrushEditSAMLoader", "inputs": {"model_name": em.SAM}}
    p["tm"] = {"class_type": "BrushEditTextMask", "inputs": {
        "grounding_dino": ["dino", 0], "sam": ["sam", 0], "image": ["img", 0], "prompt": prompt,
        "box_threshold": 0.0, "text_threshold": 0.0, "mode": "union", "detection_size": 256}}
    return ["tm", 0]


def text_mask(seed: int = 4) -> dict:
    p = _base(em.SD15_CHECKPOINT, em.SD15_BRUSHNET, text="empty wooden table, clean background")
    p["adj"] = {"class_type": "BrushEditMaskAdjust", "inputs": {
        "mask": _text_mask_nodes(p, "cake"), "threshold": 0.0, "fill_holes": True, "grow": 16, "tapered_corners": True,
        "to_bbox": False, "bbox_padding": 0, "invert": False, "feather": 0}}
    _brushnet(p, ["adj", 0])
    return _tail(p, "ckpt", "bn", ["img", 0], ["adj", 0], "text_mask", seed)


def planner(seed: int = 5) -> dict:
    p = _base(em.SD15_CHECKPOINT, em.SD15_BRUSHNET)
    p["rules"] = {"class_type": "BrushEditPlannerRules", "inputs": {}}
    p["plan"] = {"class_type": "BrushEditPlanner", "inputs": {"image": ["img", 0], "instruction": "remove the cake",
                                                              "planner": ["rules", 0]}}
    p["pm"] = {"class_type": "BrushEditPlanMask", "inputs": {
        "image": ["img", 0], "plan": ["plan", 0], "mask": _text_mask_nodes(p, ["plan", 2]), "grow_remove_px": 20,
        "grow_local_px": 0}}
    p["pos"]["inputs"]["text"] = ["plan", 3]
    _brushnet(p, ["pm", 0])
    return _tail(p, "ckpt", "bn", ["img", 0], ["pm", 0], "planner", seed)


def crop_blend(seed: int = 6) -> dict:
    p = _base(em.SD15_CHECKPOINT, em.SD15_BRUSHNET, image=em.LARGE_IMAGE)
    mask = _drawn_mask(p, em.LARGE_MASK)
    p["cut"] = {"class_type": "CutForInpaint", "inputs": {"image": ["img", 0], "mask": mask, "width": SMALL,
                                                           "height": SMALL}}
    _brushnet(p, ["cut", 1], image=["cut", 0])
    p = _tail(p, "ckpt", "bn", ["img", 0], mask, "crop_blend", seed)
    p["blend"]["inputs"]["origin"] = ["cut", 2]
    p["blend"]["inputs"]["inpaint"] = ["dec", 0]
    return p


def bad_input(seed: int = 7) -> dict:
    """Plan Mask asked for a removal with no mask connected (the lazy-input fault of issue 16)."""
    p = {"img": {"class_type": "LoadImage", "inputs": {"image": em.EXAMPLE_IMAGE}},
         "plan": {"class_type": "BrushEditPlanner", "inputs": {"image": ["img", 0], "instruction": "remove the cake"}},
         "pm": {"class_type": "BrushEditPlanMask", "inputs": {"image": ["img", 0], "plan": ["plan", 0],
                                                              "grow_remove_px": 20, "grow_local_px": 0}},
         "prev": {"class_type": "MaskPreview", "inputs": {"mask": ["pm", 0]}}}
    return p


GRAPHS: dict[str, Callable[[], dict]] = {"sd15": sd15, "powerpaint": powerpaint, "text_mask": text_mask, "sdxl": sdxl,
                                         "planner": planner, "crop_blend": crop_blend, "bad_input": bad_input}


def schedule(cycles: int, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """``cycles`` times every kind, then the first kind once more (run 1 == last run)."""
    return [k for _ in range(cycles) for k in kinds] + [kinds[0]]


# ----------------------------------------------------------------------------------------- running
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


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
