"""Every node's saved-workflow interface (id, input names, order, types, defaults, outputs) is unchanged.

``interface.json`` was written from the pack before the nodes/ renovation (#15). A saved workflow
stores node ids, widget values in input order and links by output slot: any change here breaks
someone's workflow. Category, display name, description, tooltips and search aliases are not saved
and are left out. File-list combos are recorded without their options (they depend on the models
folder). Regenerate only for a deliberate, documented interface change:
``BRUSHEDIT_WRITE_INTERFACE=1 pytest nodes/test_interface.py``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import _harness

REFERENCE = Path(__file__).with_name("interface.json")


def _input(spec: list) -> dict:
    kind, opts = spec[0], (spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {})
    out: dict = {"type": "COMBO" if isinstance(kind, list) else kind}
    if kind == "COMBO" or isinstance(kind, list):
        options = kind if isinstance(kind, list) else opts.get("options", [])
        if "default" in opts:  # fixed choices (file lists have no default)
            out["options"] = list(options)
    for key in ("default", "min", "max", "step", "multiline", "lazy"):
        if key in opts:
            out[key] = opts[key]
    return out


def interface() -> dict:
    found = {}
    for cls in _harness.pack_module("nodes").all_nodes():
        info = cls.GET_NODE_INFO_V1()
        inputs = {section: {name: _input(spec) for name, spec in info["input"].get(section, {}).items()}
                  for section in ("required", "optional")}
        found[info["name"]] = {
            "input_order": info["input_order"],
            "inputs": inputs,
            "output": list(info["output"]),
            "output_name": list(info["output_name"]),
            "output_is_list": list(info["output_is_list"]),
            "output_node": info["output_node"],
        }
    return found


def test_node_interfaces_are_unchanged() -> None:
    now = interface()
    if os.environ.get("BRUSHEDIT_WRITE_INTERFACE"):
        REFERENCE.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    before = json.loads(REFERENCE.read_text())
    assert sorted(now) == sorted(before), "node ids changed"
    changed = [node for node in before if now[node] != before[node]]
    assert not changed, {node: (before[node], now[node]) for node in changed}
