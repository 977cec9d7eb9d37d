"""ComfyUI glue shared by the node modules, each piece in one place.

The node modules (``nodes/*.py``) hold node classes only; they import from here, from
``nodes/compat.py`` and from ``brushnet_core``, never from each other. Bottom-up:

- ``errors``: the node-side error classes, each under its area's ``BrushEditError`` subclass.
- ``sockets``: the pack's custom socket types.
- ``schema``: schema keywords that depend on the host (``search_aliases``).
- ``folders``: model folders: registration, listing, resolving, ``validate_inputs`` checks.
- ``managed``: extra models under ComfyUI's model management, and the dtype choice.
- ``brushnet_patch``: a BrushNet or PowerPaint branch attached to a cloned ModelPatcher.
- ``inpaint``: the base-model checks and the one inpaint sequence (encode, then attach) that
  the BrushNet and PowerPaint nodes share.
"""
