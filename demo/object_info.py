"""/object_info entries computed in-process from ComfyUI's registered node classes."""
from __future__ import annotations

from typing import Any


def node_info(node_class: Any) -> dict:
    """The same dictionary ComfyUI's /object_info serves for one node class."""
    if hasattr(node_class, "GET_NODE_INFO_V1"):
        return node_class.GET_NODE_INFO_V1()
    inputs = node_class.INPUT_TYPES()
    info = {
        "input": inputs,
        "input_order": {k: list(v.keys()) for k, v in inputs.items()},
        "output": list(node_class.RETURN_TYPES),
        "output_name": list(getattr(node_class, "RETURN_NAMES", node_class.RETURN_TYPES)),
        "output_node": bool(getattr(node_class, "OUTPUT_NODE", False)),
    }
    return info


def all_object_info() -> dict:
    import nodes

    return {name: node_info(cls) for name, cls in nodes.NODE_CLASS_MAPPINGS.items()}
