"""/object_info of the real server lists every node of the pack, with a tooltip on every input and output."""
from __future__ import annotations

import _harness

LEGACY = {"BrushNetLoader", "BrushNet", "BlendInpaint", "CutForInpaint"}


def pack_node_ids() -> list[str]:
    return [cls.GET_SCHEMA().node_id for cls in _harness.pack_module("nodes").all_nodes()]


def test_every_pack_node_is_served(object_info) -> None:
    ids = pack_node_ids()
    assert LEGACY <= set(ids)
    missing = [i for i in ids if i not in object_info]
    assert not missing


def test_every_input_and_output_has_a_tooltip(object_info) -> None:
    problems = []
    for node_id in pack_node_ids():
        info = object_info[node_id]
        for section in ("required", "optional"):
            for name, spec in info["input"].get(section, {}).items():
                opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                if not opts.get("tooltip"):
                    problems.append(f"{node_id}.{name}")
        tips = info.get("output_tooltips") or []
        if len(tips) != len(info["output"]) or not all(tips):
            problems.append(f"{node_id} outputs")
        if not info.get("description"):
            problems.append(f"{node_id} description")
    assert not problems, problems


def test_legacy_interfaces_keep_their_order(object_info) -> None:
    bn = object_info["BrushNet"]
    assert bn["input_order"]["required"] == ["model", "vae", "image", "mask", "brushnet", "positive", "negative",
                                             "scale", "start_at", "end_at"]
    assert bn["output"] == ["MODEL", "CONDITIONING", "CONDITIONING", "LATENT"]
    assert object_info["BrushNetLoader"]["input_order"]["required"] == ["brushnet"]
    assert object_info["BrushNetLoader"]["input_order"]["optional"] == ["dtype"]
    assert object_info["BrushNetLoader"]["output"] == ["BRMODEL"]
    blend = object_info["BlendInpaint"]
    assert blend["input_order"]["required"] == ["inpaint", "original", "mask", "kernel", "sigma"]
    assert blend["input_order"]["optional"][0] == "origin" and blend["output"] == ["IMAGE", "MASK"]
    cut = object_info["CutForInpaint"]
    assert cut["input_order"]["required"] == ["image", "mask", "width", "height"]
    assert cut["output"] == ["IMAGE", "MASK", "VECTOR"]
