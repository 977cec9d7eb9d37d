"""A tiny builder for UI-format (LiteGraph) workflows, driven by /object_info.

Used to (re)generate the example workflows in workflows/ so their widget order always matches
the nodes' real inputs: ``python -m demo.build_workflows``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .workflow_api import _is_widget


@dataclass(frozen=True)
class Ref:
    node_id: int
    slot: int = 0


class UIGraph:
    def __init__(self, object_info: dict) -> None:
        self.info = object_info
        self.nodes: list[dict] = []
        self.links: list[list] = []

    def note(self, text: str, pos: tuple[int, int], size: tuple[int, int] = (420, 220)) -> None:
        self.nodes.append({"id": len(self.nodes) + 1, "type": "MarkdownNote", "pos": list(pos), "size": list(size),
                           "flags": {}, "order": len(self.nodes), "mode": 0, "inputs": [], "outputs": [],
                           "properties": {}, "widgets_values": [text], "color": "#432", "bgcolor": "#653"})

    def add(self, kind: str, pos: tuple[int, int], widgets: dict[str, Any] | None = None, title: str | None = None,
            **links: Ref) -> Ref:
        """Add a node; ``widgets`` by input name (others take their defaults), ``links`` by input name."""
        info = self.info[kind]
        widgets = dict(widgets or {})
        node_id = len(self.nodes) + 1
        inputs, values = [], []
        order = info.get("input_order") or {s: list(info["input"].get(s, {})) for s in ("required", "optional")}
        for section in ("required", "optional"):
            for name in order.get(section, []):
                spec = info["input"][section][name]
                if _is_widget(spec):
                    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                    if name in widgets:
                        value = widgets.pop(name)
                    elif "default" in opts:
                        value = opts["default"]
                    elif isinstance(spec[0], list) and spec[0]:
                        value = spec[0][0]
                    elif spec[0] == "COMBO" and opts.get("options"):
                        value = opts["options"][0]
                    else:
                        value = ""
                    values.append(value)
                    if opts.get("control_after_generate"):
                        values.append("fixed")
                    if opts.get("image_upload"):
                        pass
                    if name in links:
                        inputs.append({"name": name, "type": spec[0] if isinstance(spec[0], str) else "COMBO",
                                       "widget": {"name": name}, "link": self._link(links.pop(name), node_id, len(inputs), spec)})
                elif name in links or section == "required":
                    link = self._link(links.pop(name), node_id, len(inputs), spec) if name in links else None
                    inputs.append({"name": name, "type": spec[0], "link": link})
        if any(isinstance(s, (list, tuple)) and len(s) > 1 and isinstance(s[1], dict) and s[1].get("image_upload")
               for s in info["input"].get("required", {}).values()):
            values.append("image")
        if widgets or links:
            raise ValueError(f"{kind}: unknown inputs {sorted(widgets) + sorted(links)}")
        outputs = [{"name": n, "type": t, "links": [], "slot_index": i}
                   for i, (t, n) in enumerate(zip(info["output"], info.get("output_name", info["output"])))]
        node = {"id": node_id, "type": kind, "pos": list(pos), "size": [320, 120], "flags": {},
                "order": len(self.nodes), "mode": 0, "inputs": inputs, "outputs": outputs,
                "properties": {"Node name for S&R": kind}, "widgets_values": values}
        if title:
            node["title"] = title
        self.nodes.append(node)
        return Ref(node_id)

    def _link(self, ref: Ref, to_id: int, to_slot: int, spec: Any) -> int:
        link_id = len(self.links) + 1
        src = self.nodes[ref.node_id - 1]
        src["outputs"][ref.slot]["links"].append(link_id)
        self.links.append([link_id, ref.node_id, ref.slot, to_id, to_slot, src["outputs"][ref.slot]["type"]])
        return link_id

    def to_json(self) -> dict:
        return {"last_node_id": len(self.nodes), "last_link_id": len(self.links), "nodes": self.nodes,
                "links": self.links, "groups": [], "config": {}, "extra": {"ds": fit_view(self.nodes)},
                "version": 0.4}


#: the window a saved view is fitted to (1920x1080 less the frontend's menus), and the view's margin
VIEW_WIDTH, VIEW_HEIGHT, VIEW_MARGIN = 1880, 960, 40
#: drawn nodes are taller than their saved size (widgets, image previews): room kept below the lowest
DRAWN_EXTRA_HEIGHT = 200


def fit_view(nodes: list[dict]) -> dict:
    """The saved view (``extra.ds``) that shows every node on a 1920x1080 window at most at scale 0.8:
    the frontend draws only nodes on screen, so an output node outside the view shows no image until
    the user pans to it."""
    left = min(n["pos"][0] for n in nodes) - VIEW_MARGIN
    top = min(n["pos"][1] for n in nodes) - VIEW_MARGIN
    right = max(n["pos"][0] + n["size"][0] for n in nodes) + VIEW_MARGIN
    bottom = max(n["pos"][1] + n["size"][1] for n in nodes) + DRAWN_EXTRA_HEIGHT + VIEW_MARGIN
    scale = min(0.8, VIEW_WIDTH / (right - left), VIEW_HEIGHT / (bottom - top))
    return {"scale": round(scale, 3), "offset": [-left, -top]}
