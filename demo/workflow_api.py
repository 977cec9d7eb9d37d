"""Convert a UI-format (LiteGraph) workflow into the API format POST /prompt takes.

Widget values are matched to input names with the server's /object_info (the same source of truth
the web frontend uses): widgets appear in ``input_order``; seed-like inputs with
``control_after_generate`` are followed by one extra UI-only value; image upload widgets add a
trailing UI-only value. Note nodes are dropped and Reroutes are resolved.
"""
from __future__ import annotations

from typing import Any

FRONTEND_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


class WorkflowError(ValueError):
    """A workflow that cannot be converted, with the node and the reason."""


def _is_widget(spec: Any) -> bool:
    if not isinstance(spec, (list, tuple)) or not spec:
        return False
    kind = spec[0]
    return isinstance(kind, list) or kind in WIDGET_TYPES


def _widget_inputs(info: dict) -> list[tuple[str, dict]]:
    """(name, options) of every widget input, in the order the frontend creates them."""
    order = info.get("input_order") or {s: list(info["input"].get(s, {})) for s in ("required", "optional")}
    out = []
    for section in ("required", "optional"):
        for name in order.get(section, []):
            spec = info["input"].get(section, {}).get(name)
            if _is_widget(spec):
                out.append((name, spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}))
    return out


def ui_to_api(workflow: dict, object_info: dict) -> dict:
    """The API-format prompt for a UI-format workflow."""
    if not isinstance(workflow, dict) or "nodes" not in workflow or "links" not in workflow:
        raise WorkflowError("not a UI-format workflow (expected 'nodes' and 'links'); API-format JSON can be posted as is")
    nodes = {int(n["id"]): n for n in workflow["nodes"]}
    links = {}
    for link in workflow["links"]:
        if isinstance(link, dict):
            links[int(link["id"])] = (int(link["origin_id"]), int(link["origin_slot"]))
        else:
            links[int(link[0])] = (int(link[1]), int(link[2]))

    def source(link_id: int) -> list:
        node_id, slot = links[link_id]
        seen = set()
        while nodes[node_id]["type"] == "Reroute":
            if node_id in seen:
                raise WorkflowError(f"reroute loop at node {node_id}")
            seen.add(node_id)
            upstream = nodes[node_id]["inputs"][0].get("link")
            if upstream is None:
                raise WorkflowError(f"reroute node {node_id} has no input")
            node_id, slot = links[int(upstream)]
        return [str(node_id), slot]

    prompt: dict[str, dict] = {}
    for node_id, node in sorted(nodes.items()):
        kind = node["type"]
        if kind in FRONTEND_ONLY or node.get("mode", 0) == 2:
            continue
        if node.get("mode", 0) == 4:
            raise WorkflowError(f"node {node_id} ({kind}) is bypassed; remove it or re-enable it before converting")
        info = object_info.get(kind)
        if info is None:
            raise WorkflowError(f"node {node_id} has type '{kind}', which this server does not know (missing custom node?)")
        inputs: dict[str, Any] = {}
        linked = {}
        for inp in node.get("inputs", []):
            if inp.get("link") is not None:
                linked[inp.get("widget", {}).get("name", inp["name"])] = source(int(inp["link"]))
        values = list(node.get("widgets_values") or [])
        if isinstance(node.get("widgets_values"), dict):
            values = []
            inputs.update({k: v for k, v in node["widgets_values"].items()})
        pos = 0
        for name, opts in _widget_inputs(info):
            if pos < len(values):
                inputs[name] = values[pos]
                pos += 1
                if opts.get("control_after_generate") and pos < len(values) and isinstance(values[pos], str):
                    pos += 1
        inputs.update(linked)
        prompt[str(node_id)] = {"class_type": kind, "inputs": inputs, "_meta": {"title": node.get("title", kind)}}
    return prompt
