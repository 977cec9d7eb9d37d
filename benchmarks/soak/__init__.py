"""Soak benchmark: one real ComfyUI server, many mixed graphs, resident memory after every run.

    .host/venv/bin/python -m benchmarks.soak                      # 15 cycles of 7 graphs + 1 = 106 runs
    .host/venv/bin/python -m benchmarks.soak --cycles 2 --no-sdxl # a few minutes

Not a test (``tests/e2e/test_soak.py`` runs a reduced version in CI). One cycle runs, in this order:

    sd15        SD1.5 BrushNet inpaint + Blend Inpaint
    powerpaint  PowerPaint v2 (object removal) on the same SD1.5 model, PowerPaint CLIP Loader
    text_mask   GroundingDINO + SAM "the cake" -> Mask Adjust -> SD1.5 BrushNet
    sdxl        SDXL BrushNet inpaint (model switch: ~2 GB stand-in with full-size text encoders)
    planner     BrushEdit Planner (rules) -> Text to Mask -> Plan Mask -> BrushNet, caption from the plan
    crop_blend  Cut For Inpaint on a 1150x690 photo -> BrushNet at 128 px -> Blend Inpaint pasted back
    bad_input   Plan Mask "remove" without a mask: must fail with the pack's own message

then ``POST /free`` (unload models, drop caches), and the last run repeats the first graph. Every model
is a small random-weight stand-in of the real architecture in its real file format (the names users
have, see ``demo/example_models.py``). Every graph uses a fixed seed, so each kind's image must be
byte-identical in every cycle (run 1 against the last run in particular).

Reported: the server's RSS after every run and after every ``/free`` (``/proc/<pid>/status``), the
plateau (for each graph kind, every RSS of the last half of the runs within ``--plateau`` (3 %) of the
first RSS of that half), ComfyUI's "memory leak" warnings in the server log (must be none), the
SHA-256 of every saved image, run times. JSON goes to ``benchmarks/results/soak-<time>.json``.

Modules: ``models`` (the stand-ins and input images), ``graphs`` (the API prompts and the schedule),
``runs`` (running a graph, RSS, ``/free``, the summary), ``__main__`` (the command line).
"""
