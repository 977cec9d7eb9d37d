"""Device check for the local LLM planner (run by hand on a CUDA machine; pytest does not collect it).

    python3 tests/planner/gpu_llm_check.py        # from the repository root; BRUSHEDIT_DEVICE=cpu to dry-run

Tiny random Qwen2 and Qwen3 causal LMs built offline are loaded in bf16/fp16/fp32, moved to the device the
way ComfyUI's model management does, and driven through the real path: generate on the device, the cancel
check per generated token (stopping-criteria tensors on the device), and a plan parsed from an answer.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

import torch  # noqa: E402
import transformers  # noqa: E402
from PIL import Image  # noqa: E402

from brushnet_core.planner.llm_backend import load_llm_planner  # noqa: E402
from tiny_llm import build_tiny_llm  # noqa: E402

DEVICE = torch.device(os.environ.get("BRUSHEDIT_DEVICE", "cuda"))
ANSWER = '{"category": "remove", "object": "dog", "target_caption": "an empty lawn", "box": null, "confidence": 0.9}'


class Stop(Exception):
    pass


def manager(model: torch.nn.Module):
    def ensure_loaded() -> torch.device:
        model.to(DEVICE)
        return DEVICE
    return ensure_loaded


def main() -> int:
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, device {DEVICE}", flush=True)
    failures = 0
    for family in ("qwen2", "qwen3"):
        path = build_tiny_llm(Path(f"/tmp/brushedit-tiny-{family}-llm"), family=family)
        for dtype in ("bfloat16", "float16", "float32"):
            try:
                planner = load_llm_planner(str(path), dtype=dtype, max_new_tokens=32, manager=manager)
                t0 = time.perf_counter()
                text = planner.chat([("user", "remove the dog")], None)
                took = time.perf_counter() - t0
                param = next(planner.model.parameters())
                assert param.device.type == DEVICE.type, param.device
                assert str(param.dtype).endswith(dtype), param.dtype
                planner.model.generation_config.eos_token_id = None
                planner.max_new_tokens = 200
                calls: list = []

                def check() -> None:
                    calls.append(1)
                    if len(calls) >= 5:
                        raise Stop()

                try:
                    planner.chat([("user", "add a hat")], None, cancel_check=check)
                    raise AssertionError("generation was not cancelled")
                except Stop:
                    pass
                assert len(calls) == 5, calls
                tokens = planner.tokenizer(ANSWER, return_tensors="pt", add_special_tokens=False)["input_ids"]
                planner.model.generate = lambda **kw: torch.cat([kw["input_ids"], tokens.to(kw["input_ids"].device)], 1)
                plan = planner.plan(Image.new("RGB", (640, 480)), "Quita el perro")
                assert (plan.category, plan.object_phrase, plan.confidence) == ("remove", "dog", 0.9), plan
                print(f"ok   {family} {dtype}: generate {took * 1000:.0f} ms ({text[:30]!r}), cancel after 4 tokens, "
                      f"plan {plan.summary()}", flush=True)
            except Exception as exc:  # noqa: BLE001 - report every combination
                failures += 1
                print(f"FAIL {family} {dtype}: {type(exc).__name__}: {exc}", flush=True)
    print("all ok" if not failures else f"{failures} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
