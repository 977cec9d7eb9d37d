"""(Re)generate the subgraph blueprints in subgraphs/ from the live node definitions.

ComfyUI lists every ``custom_nodes/<pack>/subgraphs/*.json`` at ``/global_subgraphs``; the frontend
offers each in the node library ("Subgraph Blueprints", named after the file). A blueprint file is
a workflow holding one subgraph node whose definition is in ``definitions.subgraphs``; its inputs
come in from node -10, its outputs go out to node -20, and ``properties.proxyWidgets`` shows inner
widgets on the node. Run: ``.host/venv/bin/python -m demo.build_blueprints``.
"""
from __future__ import annotations

import json
import sys
import uuid
from typing import Callable

from . import example_models as em
from .build_workflows import NEGATIVE, ROOT
from .ui_graph import Ref, UIGraph

SUBGRAPHS = ROOT / "subgraphs"
IN, OUT = -10, -20


def _slot(ref: Ref, slot: int) -> Ref:
    return Ref(ref.node_id, slot)


class BlueprintGraph(UIGraph):
    """A UIGraph whose ``source``/``sink`` placeholders become the subgraph's inputs and outputs."""

    def __init__(self, object_info: dict) -> None:
        super().__init__(dict(object_info))
        self.io_inputs: list[tuple[str, str, int]] = []  # (name, type, placeholder id)
        self.io_outputs: list[tuple[str, str, int]] = []
        self.promoted: list[tuple[int, str]] = []

    def source(self, name: str, kind: str) -> Ref:
        key = f"__in_{name}"
        self.info[key] = {"input": {"required": {}}, "output": [kind], "output_name": [name]}
        ref = self.add(key, (0, 0))
        self.io_inputs.append((name, kind, ref.node_id))
        return ref

    def sink(self, name: str, kind: str, value: Ref) -> None:
        key = f"__out_{name}"
        self.info[key] = {"input": {"required": {"value": [kind]}}, "output": [], "output_name": []}
        ref = self.add(key, (0, 0), value=value)
        self.io_outputs.append((name, kind, ref.node_id))

    def promote(self, ref: Ref, widget: str) -> None:
        self.promoted.append((ref.node_id, widget))

    def to_blueprint(self, name: str, description: str) -> dict:
        placeholders = {nid for _, _, nid in self.io_inputs + self.io_outputs}
        in_index = {nid: i for i, (_, _, nid) in enumerate(self.io_inputs)}
        out_index = {nid: i for i, (_, _, nid) in enumerate(self.io_outputs)}
        links, in_links, out_links = [], [[] for _ in self.io_inputs], [[] for _ in self.io_outputs]
        for link_id, origin, oslot, target, tslot, kind in self.links:
            if origin in in_index:
                in_links[in_index[origin]].append(link_id)
                origin, oslot = IN, in_index[origin]
            if target in out_index:
                out_links[out_index[target]].append(link_id)
                target, tslot = OUT, out_index[target]
            links.append({"id": link_id, "origin_id": origin, "origin_slot": oslot, "target_id": target,
                          "target_slot": tslot, "type": kind})
        nodes = [dict(n, outputs=[dict(o) for o in n["outputs"]]) for n in self.nodes if n["id"] not in placeholders]
        sg_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"comfyui-brushedit/blueprint/{name}"))
        last_node, last_link = len(self.nodes), len(self.links)
        sg_inputs = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sg_id}/in/{n}")), "name": n, "type": t,
                      "linkIds": in_links[i], "localized_name": n, "pos": [-60, 40 + 20 * i]}
                     for i, (n, t, _) in enumerate(self.io_inputs)]
        sg_outputs = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sg_id}/out/{n}")), "name": n, "type": t,
                       "linkIds": out_links[i], "localized_name": n, "pos": [2600, 40 + 20 * i]}
                      for i, (n, t, _) in enumerate(self.io_outputs)]
        wrapper = {
            "id": last_node + 1, "type": sg_id, "pos": [0, 0], "size": [420, 260], "flags": {}, "order": 0, "mode": 0,
            "inputs": [{"name": n, "localized_name": n, "type": t, "link": None} for n, t, _ in self.io_inputs],
            "outputs": [{"name": n, "localized_name": n, "type": t, "links": []} for n, t, _ in self.io_outputs],
            "properties": {"proxyWidgets": [[str(nid), w] for nid, w in self.promoted]},
            "widgets_values": [], "title": name,
        }
        return {
            "revision": 0, "last_node_id": last_node + 1, "last_link_id": last_link, "nodes": [wrapper], "links": [],
            "version": 0.4,
            "definitions": {"subgraphs": [{
                "id": sg_id, "version": 1,
                "state": {"lastGroupId": 0, "lastNodeId": last_node + 1, "lastLinkId": last_link, "lastRerouteId": 0},
                "revision": 0, "config": {}, "name": name,
                "inputNode": {"id": IN, "bounding": [-200, 0, 120, 40 + 20 * len(sg_inputs)]},
                "outputNode": {"id": OUT, "bounding": [2560, 0, 120, 40 + 20 * len(sg_outputs)]},
                "inputs": sg_inputs, "outputs": sg_outputs, "widgets": [], "nodes": nodes, "links": links,
                "groups": [], "extra": {},
            }]},
            "extra": {"BlueprintDescription": description},
        }


def _models(g: BlueprintGraph, y: int = 700) -> tuple[Ref, Ref]:
    ckpt = g.add("CheckpointLoaderSimple", (0, y), {"ckpt_name": em.SD15_CHECKPOINT})
    bnl = g.add("BrushNetLoader", (0, y + 160), {"brushnet": em.SD15_BRUSHNET, "dtype": "auto"})
    g.promote(ckpt, "ckpt_name")
    g.promote(bnl, "brushnet")
    return ckpt, bnl


def _inpaint(g: BlueprintGraph, x: int, ckpt: Ref, bnl: Ref, image: Ref, mask: Ref, pos: Ref, neg: Ref,
             original: Ref, blend_mask: Ref, origin: Ref | None = None) -> Ref:
    bn = g.add("BrushNet", (x, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=image, mask=mask,
               brushnet=bnl, positive=pos, negative=neg)
    ks = g.add("KSampler", (x + 360, 0), {"seed": 42, "steps": 25, "cfg": 7.5, "sampler_name": "uni_pc",
                                          "scheduler": "normal"},
               model=_slot(bn, 0), positive=_slot(bn, 1), negative=_slot(bn, 2), latent_image=_slot(bn, 3))
    g.promote(ks, "seed")
    g.promote(ks, "steps")
    dec = g.add("VAEDecode", (x + 720, 0), samples=ks, vae=_slot(ckpt, 2))
    links = {"origin": origin} if origin is not None else {}
    return g.add("BlendInpaint", (x + 720, 200), {"kernel": 10, "sigma": 10.0}, inpaint=dec, original=original,
                 mask=blend_mask, **links)


def instruction_edit(g: BlueprintGraph) -> str:
    img = g.source("image", "IMAGE")
    rules = g.add("BrushEditPlannerRules", (0, 300), {})
    plan = g.add("BrushEditPlanner", (360, 300), {"instruction": "remove the cake"}, image=img, planner=rules)
    g.promote(plan, "instruction")
    dino = g.add("BrushEditGroundingDinoLoader", (0, 480), {"model_name": em.GROUNDING_DINO})
    sam = g.add("BrushEditSAMLoader", (0, 600), {"model_name": em.SAM})
    tm = g.add("BrushEditTextMask", (720, 300), {"mode": "union"}, grounding_dino=dino, sam=sam, image=img,
               prompt=_slot(plan, 2))
    pm = g.add("BrushEditPlanMask", (1080, 300), {"grow_remove_px": 20}, image=img, plan=_slot(plan, 0),
               mask=_slot(tm, 0))
    ckpt, bnl = _models(g)
    pos = g.add("CLIPTextEncode", (720, 0), {}, clip=_slot(ckpt, 1), text=_slot(plan, 3), title="Positive (target caption)")
    neg = g.add("CLIPTextEncode", (720, 150), {"text": NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    out = _inpaint(g, 1440, ckpt, bnl, img, pm, pos, neg, img, pm)
    g.sink("IMAGE", "IMAGE", _slot(out, 0))
    return ("BrushEdit instruction editing: the planner turns the instruction into a category, object and "
            "caption, text-to-mask and the category shape the mask, BrushNet inpaints, the blend keeps the rest "
            "exact. Models: an SD1.5 checkpoint, a BrushNet, GroundingDINO and SAM.")


def remove_object_by_text(g: BlueprintGraph) -> str:
    img = g.source("image", "IMAGE")
    dino = g.add("BrushEditGroundingDinoLoader", (0, 300), {"model_name": em.GROUNDING_DINO})
    sam = g.add("BrushEditSAMLoader", (0, 420), {"model_name": em.SAM})
    tm = g.add("BrushEditTextMask", (360, 300), {"prompt": "cake", "box_threshold": 0.3, "text_threshold": 0.25,
                                                 "mode": "union"}, grounding_dino=dino, sam=sam, image=img)
    g.promote(tm, "prompt")
    adj = g.add("BrushEditMaskAdjust", (720, 300), {"grow": 16, "fill_holes": True}, mask=_slot(tm, 0))
    ckpt, bnl = _models(g)
    pos = g.add("CLIPTextEncode", (720, 0), {"text": "empty background, clean surface"}, clip=_slot(ckpt, 1),
                title="Positive (what is behind)")
    neg = g.add("CLIPTextEncode", (720, 150), {"text": NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    g.promote(pos, "text")
    out = _inpaint(g, 1080, ckpt, bnl, img, adj, pos, neg, img, adj)
    g.sink("IMAGE", "IMAGE", _slot(out, 0))
    return ("Remove an object named by text: GroundingDINO + SAM find it, the mask is grown and filled, BrushNet "
            "repaints it from a background prompt, the blend keeps the rest exact.")


def brushnet_crop_and_blend(g: BlueprintGraph) -> str:
    img = g.source("image", "IMAGE")
    mask = g.source("mask", "MASK")
    cut = g.add("CutForInpaint", (0, 300), {"width": 512, "height": 512}, image=img, mask=mask)
    ckpt, bnl = _models(g)
    pos = g.add("CLIPTextEncode", (360, 0), {"text": "a wooden bench in a sunny park"}, clip=_slot(ckpt, 1),
                title="Positive")
    neg = g.add("CLIPTextEncode", (360, 150), {"text": NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    g.promote(pos, "text")
    out = _inpaint(g, 720, ckpt, bnl, _slot(cut, 0), _slot(cut, 1), pos, neg, img, mask, origin=_slot(cut, 2))
    g.sink("IMAGE", "IMAGE", _slot(out, 0))
    return ("BrushNet inpainting of a large image: crop around the mask at the model's size, inpaint, paste back "
            "at its place with the exact, outward-feathered blend.")


BLUEPRINTS: dict[str, Callable[[BlueprintGraph], str]] = {
    "Instruction edit": instruction_edit,
    "Remove object by text": remove_object_by_text,
    "BrushNet inpaint (crop and blend)": brushnet_crop_and_blend,
}


def build_all(object_info: dict) -> dict[str, dict]:
    out = {}
    for name, builder in BLUEPRINTS.items():
        g = BlueprintGraph(object_info)
        description = builder(g)
        out[name] = g.to_blueprint(name, description)
    return out


def main() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import _harness

    _harness.boot_host()
    from .object_info import all_object_info

    SUBGRAPHS.mkdir(exist_ok=True)
    for name, data in build_all(all_object_info()).items():
        (SUBGRAPHS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote subgraphs/{name}.json")


if __name__ == "__main__":
    main()
