"""Test-only stand-ins for the OTHER packs' nodes that the earlier pack's examples use.

The earlier pack's example workflows also use nodes of other custom packs (segment anything,
VideoHelperSuite, AnimateDiff-Evolved, ELLA, IPAdapter plus, UltimateSDUpscale, controlnet_aux).
Those packs are not installed here, so each such node type is replaced by a stand-in built from
the workflow file itself: the same type name, the saved input sockets and widgets (in saved
order) and output sockets. A stand-in returns type-correct values (images passed through, a box
mask at the image size, the model passed through, CLIP-encoded text), so the graph around them,
with this pack's nodes, runs for real. Nothing here is registered outside the test process.
"""
from __future__ import annotations

from typing import Any

import torch

CONTROL_VALUES = {"fixed", "randomize", "increment", "decrement"}
UI_ONLY_KEYS = {"videopreview", "choose folder to upload", "choose video to upload"}
BIG = 2**62


def _widget_spec(value: Any) -> tuple:
    if isinstance(value, bool):
        return ("BOOLEAN", {"default": value})
    if isinstance(value, int):
        return ("INT", {"default": value, "min": -BIG, "max": BIG})
    if isinstance(value, float):
        return ("FLOAT", {"default": value, "min": -1e9, "max": 1e9, "step": 0.001})
    return ("STRING", {"default": str(value)})


def input_types(node: dict) -> dict:
    """INPUT_TYPES for a stand-in of ``node`` (a node entry of a UI-format workflow)."""
    required: dict[str, tuple] = {}
    optional: dict[str, tuple] = {}
    for inp in node.get("inputs", []):
        if not inp.get("widget"):  # unconnected sockets were optional inputs of the real node
            (required if inp.get("link") is not None else optional)[inp["name"]] = (inp["type"],)
    values = node.get("widgets_values")
    if isinstance(values, dict):
        for name, value in values.items():
            if name not in UI_ONLY_KEYS and not isinstance(value, (dict, list)):
                required[name] = _widget_spec(value)
    else:
        values = list(values or [])
        k = 0
        while k < len(values):
            spec = _widget_spec(values[k])
            name = f"widget_{k}"
            if spec[0] == "INT" and k + 1 < len(values) and values[k + 1] in CONTROL_VALUES:
                spec = ("INT", dict(spec[1], control_after_generate=True))
                k += 1
            required[name] = spec
            k += 1
    return {"required": required, "optional": optional}


def _image(inputs: dict) -> torch.Tensor:
    for v in inputs.values():
        if isinstance(v, torch.Tensor) and v.ndim == 4 and v.shape[-1] in (3, 4):
            return v[..., :3]
    g = torch.linspace(0, 1, 128)
    img = torch.stack([g[None, :].expand(128, 128), g[:, None].expand(128, 128), torch.full((128, 128), 0.5)], -1)
    return img[None].repeat(2, 1, 1, 1)  # a small "batch of frames"


def _output(kind: str, inputs: dict) -> Any:
    if kind == "IMAGE":
        return _image(inputs)
    if kind == "MASK":
        img = _image(inputs)
        b, h, w = img.shape[:3]
        mask = torch.zeros(b, h, w)
        mask[:, h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1.0
        return mask
    if kind == "CONDITIONING":
        clip = next((v for v in inputs.values() if hasattr(v, "encode_from_tokens_scheduled")), None)
        text = next((v for v in inputs.values() if isinstance(v, str)), "")
        if clip is not None:
            return clip.encode_from_tokens_scheduled(clip.tokenize(text))
        return [[torch.zeros(1, 77, 768), {}]]
    same = next((v for k, v in inputs.items() if k.upper() == kind or type(v).__name__ == kind), None)
    if same is not None:
        return same
    if kind == "MODEL":
        return next(v for v in inputs.values() if hasattr(v, "model_options"))
    if kind == "INT":
        return 1
    if kind == "FLOAT":
        return 1.0
    if kind == "STRING":
        return ""
    return {"stand_in_for": kind}


def make_stand_in(node: dict) -> type:
    outputs = [o["type"] for o in node.get("outputs", [])]
    names = [o.get("name", o["type"]) for o in node.get("outputs", [])]
    spec = input_types(node)

    class StandIn:
        CATEGORY = "tests/stand-ins"
        RETURN_TYPES = tuple(outputs)
        RETURN_NAMES = tuple(names)
        FUNCTION = "run"
        OUTPUT_NODE = False

        @classmethod
        def INPUT_TYPES(cls):  # noqa: N802 (ComfyUI's V1 API name)
            return spec

        def run(self, **inputs):
            return tuple(_output(kind, inputs) for kind in outputs)

    StandIn.__name__ = "StandIn_" + "".join(c if c.isalnum() else "_" for c in node["type"])
    return StandIn


def register(workflow: dict, known: set[str]) -> list[str]:
    """Register stand-ins (in this process's ComfyUI) for the workflow's node types the host lacks."""
    import nodes

    added = []
    for node in workflow.get("nodes", []):
        kind = node["type"]
        if kind in known or kind in ("Note", "MarkdownNote", "Reroute", "PrimitiveNode") or kind in added:
            continue
        nodes.NODE_CLASS_MAPPINGS[kind] = make_stand_in(node)
        added.append(kind)
    return added


def unregister(kinds: list[str]) -> None:
    import nodes

    for kind in kinds:
        nodes.NODE_CLASS_MAPPINGS.pop(kind, None)
