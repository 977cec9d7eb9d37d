"""Start the real ComfyUI server headless on 127.0.0.1 and talk to it over HTTP (stdlib only)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
COMFY_DIR = Path(os.environ.get("BRUSHEDIT_COMFY_DIR", ROOT / ".host" / "ComfyUI"))
MODEL_FOLDERS = ["checkpoints", "loras", "controlnet", "vae", "clip", "brushnet", "inpaint", "sams",
                 "grounding-dino", "LLM", "diffusion_models", "text_encoders"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ComfyServer:
    """A ComfyUI server process using ``models_dir`` (via extra_model_paths) and its own input/output dirs."""

    def __init__(self, models_dir: Path, work_dir: Path, port: int | None = None) -> None:
        self.models_dir, self.work_dir = Path(models_dir), Path(work_dir)
        self.port = port or free_port()
        self.input_dir, self.output_dir = self.work_dir / "input", self.work_dir / "output"
        self.log_path = self.work_dir / "comfyui.log"
        self.proc: subprocess.Popen | None = None
        self.client_id = uuid.uuid4().hex
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300.0) -> "ComfyServer":
        for d in (self.input_dir, self.output_dir, self.models_dir):
            d.mkdir(parents=True, exist_ok=True)
        yaml_path = self.work_dir / "extra_model_paths.yaml"
        lines = ["brushedit:", f"  base_path: {self.models_dir}"] + [f"  {f}: {f}" for f in MODEL_FOLDERS]
        yaml_path.write_text("\n".join(lines) + "\n")
        cmd = [sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
               "--extra-model-paths-config", str(yaml_path), "--input-directory", str(self.input_dir),
               "--output-directory", str(self.output_dir), "--disable-auto-launch"]
        log = open(self.log_path, "w")
        t0 = time.time()
        self.proc = subprocess.Popen(cmd, cwd=COMFY_DIR, stdout=log, stderr=subprocess.STDOUT)
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.proc.returncode}; log: {self.log_path}\n{self.log_tail()}")
            try:
                self.get("/system_stats", timeout=2)
                self.startup_seconds = time.time() - t0
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"ComfyUI did not answer within {timeout:.0f} s; log: {self.log_path}\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def get(self, path: str, timeout: float = 30) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return json.loads(r.read().decode())

    def post(self, path: str, body: dict, timeout: float = 60) -> tuple[int, Any]:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read().decode() or "null")
        except urllib.error.HTTPError as err:
            text = err.read().decode(errors="replace")
            try:
                return err.code, json.loads(text)
            except json.JSONDecodeError:
                return err.code, text

    def queue(self, prompt: dict) -> str:
        status, body = self.post("/prompt", {"prompt": prompt, "client_id": self.client_id})
        if status != 200:
            raise PromptRejected(status, body)
        return body["prompt_id"]

    def wait(self, prompt_id: str, timeout: float = 1800, on_progress: Callable[[dict], None] | None = None) -> dict:
        """Poll /history until the prompt finishes; return its history entry (raises on error)."""
        t0, last = time.time(), None
        while time.time() - t0 < timeout:
            try:
                hist = self.get(f"/history/{prompt_id}", timeout=120)
            except (TimeoutError, urllib.error.URLError):  # a starved CPU can delay the HTTP loop
                continue
            if prompt_id in hist:
                entry = hist[prompt_id]
                status = entry.get("status", {})
                if status.get("status_str") == "error":
                    raise PromptError(entry)
                if status.get("completed"):
                    return entry
            if on_progress is not None:
                q = self.get("/queue", timeout=120)
                state = (len(q.get("queue_running", [])), len(q.get("queue_pending", [])))
                if state != last:
                    last = state
                on_progress({"elapsed": time.time() - t0, "running": state[0], "pending": state[1]})
            time.sleep(1.0)
        raise TimeoutError(f"prompt {prompt_id} did not finish within {timeout:.0f} s")

    def __enter__(self) -> "ComfyServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class PromptRejected(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"POST /prompt rejected ({status}): {json.dumps(body)[:2000]}")
        self.status, self.body = status, body


class PromptError(RuntimeError):
    def __init__(self, entry: dict) -> None:
        msgs = [m[1] for m in entry.get("status", {}).get("messages", []) if m[0] == "execution_error"]
        detail = msgs[0] if msgs else {}
        super().__init__(f"{detail.get('node_type', '?')} (node {detail.get('node_id', '?')}): "
                         f"{detail.get('exception_message', 'failed').strip()}")
        self.entry, self.detail = entry, detail


def output_images(entry: dict, output_dir: Path) -> list[Path]:
    """Files written by SaveImage nodes of a finished prompt."""
    files = []
    for node_out in entry.get("outputs", {}).values():
        for img in node_out.get("images", []):
            if img.get("type") == "output":
                files.append(output_dir / img.get("subfolder", "") / img["filename"])
    return files
