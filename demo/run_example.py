"""The README's main command: run the SD1.5 BrushNet inpaint workflow through a headless ComfyUI.

    bash scripts/run_example.sh [--checkpoint PATH --brushnet PATH] [--image PATH --mask PATH]

Without real weights it writes small RANDOM-WEIGHT stand-ins (the output is noise, by design) and
still runs every node of the workflow on the real server. With --checkpoint/--brushnet (or the
environment variables BRUSHEDIT_SD15_CHECKPOINT / BRUSHEDIT_SD15_BRUSHNET) it makes a real inpaint.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from . import example_models as em
from .server import ComfyServer, output_images
from .workflow_api import ui_to_api

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / ".host" / "demo"
BANNER = """
==========================================================================================
  NO REAL WEIGHTS CONFIGURED: using small RANDOM-WEIGHT models generated on this machine.
  Every node of the workflow runs for real, but the inpainted region will be NOISE.
  For a real inpaint: --checkpoint <SD1.5 .safetensors> --brushnet <BrushNet folder or file>
==========================================================================================
"""


def _watch_progress(server: ComfyServer, stop: threading.Event) -> None:
    """Print the server's per-step progress messages (websocket), best effort."""
    try:
        import aiohttp
    except ImportError:
        return

    async def listen() -> None:
        url = f"ws://127.0.0.1:{server.port}/ws?clientId={server.client_id}"
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url) as ws:
                while not stop.is_set():
                    try:
                        msg = await ws.receive(timeout=1.0)
                    except asyncio.TimeoutError:
                        continue
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    data = json.loads(msg.data)
                    if data.get("type") == "progress":
                        d = data["data"]
                        print(f"  step {d['value']}/{d['max']} (node {d.get('node')})", flush=True)
                    elif data.get("type") == "executing" and data["data"].get("node"):
                        print(f"  running node {data['data']['node']}", flush=True)

    try:
        asyncio.run(listen())
    except Exception:  # progress display only; the result is checked through /history
        pass


def prepare_models(args: argparse.Namespace, models_dir: Path) -> tuple[dict, bool]:
    """Model names for the workflow; random stand-ins when no real weights are given."""
    ckpt = args.checkpoint or os.environ.get("BRUSHEDIT_SD15_CHECKPOINT")
    brushnet = args.brushnet or os.environ.get("BRUSHEDIT_SD15_BRUSHNET")
    if bool(ckpt) != bool(brushnet):
        sys.exit("give both --checkpoint and --brushnet (or neither, for the random-weight demo)")
    if ckpt:
        names = {"ckpt": Path(ckpt).name, "brushnet": "user_brushnet/" + Path(brushnet).name}
        for src, dst in ((Path(ckpt), models_dir / "checkpoints" / names["ckpt"]),
                         (Path(brushnet), models_dir / "brushnet" / names["brushnet"])):
            if not src.exists():
                sys.exit(f"not found: {src}")
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_symlink() or dst.exists():
                dst.unlink() if not dst.is_dir() or dst.is_symlink() else shutil.rmtree(dst)
            dst.symlink_to(src.resolve())
        if Path(brushnet).is_dir():
            names["brushnet"] += "/diffusion_pytorch_model.safetensors"
        return names, True
    print(BANNER, flush=True)
    sys.path.insert(0, str(ROOT / ".host" / "ComfyUI"))
    from comfy.cli_args import args as comfy_args

    comfy_args.cpu = True
    t0 = time.time()
    em.write_sd15_stand_ins(models_dir, with_lora_controlnet=False)
    print(f"[demo] random stand-in models ready in {models_dir} ({time.time() - t0:.0f} s)", flush=True)
    return {"ckpt": em.SD15_CHECKPOINT, "brushnet": em.SD15_BRUSHNET}, False


def build_prompt(object_info: dict, names: dict, steps: int) -> dict:
    workflow = json.loads((ROOT / "workflows" / "sd15_brushnet_inpaint.json").read_text())
    prompt = ui_to_api(workflow, object_info)
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "CheckpointLoaderSimple":
            inputs["ckpt_name"] = names["ckpt"]
        elif node["class_type"] == "BrushNetLoader":
            inputs["brushnet"] = names["brushnet"]
        elif node["class_type"] == "KSampler":
            inputs["steps"] = steps
    return prompt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="an SD1.5 checkpoint (.safetensors) for a real inpaint")
    p.add_argument("--brushnet", help="a BrushNet folder or file for a real inpaint")
    p.add_argument("--image", default=str(ROOT / "tests" / "data" / "examples" / "test_image.jpg"))
    p.add_argument("--mask", default=str(ROOT / "tests" / "data" / "examples" / "test_mask.jpg"))
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default 25 real, 8 random)")
    p.add_argument("--out", default=str(ROOT / "out" / "brushedit_example.png"))
    args = p.parse_args(argv)

    t_start = time.time()
    models_dir = DEMO_DIR / "models"
    names, real = prepare_models(args, models_dir)
    server = ComfyServer(models_dir, DEMO_DIR / "server")
    server.input_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(args.image, server.input_dir / em.EXAMPLE_IMAGE)
    shutil.copy(args.mask, server.input_dir / em.EXAMPLE_MASK)
    print(f"[demo] starting ComfyUI on {server.url} (log: {server.log_path})", flush=True)
    with server:
        print(f"[demo] server up after {server.startup_seconds:.1f} s", flush=True)
        prompt = build_prompt(server.get("/object_info"), names, args.steps or (25 if real else 8))
        stop = threading.Event()
        watcher = threading.Thread(target=_watch_progress, args=(server, stop), daemon=True)
        watcher.start()
        time.sleep(0.5)
        t0 = time.time()
        prompt_id = server.queue(prompt)
        print(f"[demo] queued prompt {prompt_id}: {len(prompt)} nodes", flush=True)
        entry = server.wait(prompt_id)
        stop.set()
        files = output_images(entry, server.output_dir)
        if not files:
            print("[demo] the workflow finished but saved no image", file=sys.stderr)
            return 1
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(files[0], out)
        print(f"[demo] workflow ran in {time.time() - t0:.1f} s (total {time.time() - t_start:.1f} s)")
    if not real:
        print("[demo] NOTE: random weights -> the inpainted region is noise; the rest of the photo is kept by Blend Inpaint.")
    print(f"[demo] result: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
