"""One prepared GPU check: BrushNet against the fp32 reference in each dtype, and its sampling cost.

    bash scripts/gpu_check.sh prepare       # here: wheels + a trimmed ComfyUI copy into .whl/ (git-ignored)
    bash scripts/gpu_check.sh               # on the CUDA machine (carry .whl): installs the wheels, runs this
    .host/venv/bin/python -m benchmarks.gpu_check --cpu-smoke   # here: the same code paths, tiny, on the CPU

Part A, the tests on the device, in every dtype of ``--dtypes`` (fp32, fp16, bf16), tiny models as in
tests/_models.py (the same seeds): the BrushNet Loader node (cast once, bit-exact, placed on the device by
ComfyUI), the branch alone, one model call through ComfyUI's sampling path (CFG, scale 0.7 and 1.0) and a
3-step KSampler run. Each is compared with the independent fp32 reference of tests/_reference.py run on
the same weights (the low-precision weights upcast), on the device, TF32 off. The same comparison of the
plain model (no BrushNet) is printed beside it: the error the dtype alone gives the base UNet, so the
BrushNet error can be judged against it.

Part B, the cost: per-step time of plain, ours, naive and inactive sampling at 512 px with the full-size
SD1.5 architecture and at 1024 px with SDXL (random non-zero weights), the same graph and modes as
benchmarks/run.py (``setup_models.build_modes``), interleaved repeats after a warm-up; step times are read
between the sampler's step callbacks after a device synchronise, so model loading and conditioning set-up
are not counted. Then one full-size model call of ours against the fp32 reference.

Prints one markdown table at the end and writes it to $OUT/gpu_check.md (+ gpu_check.json) when $OUT is
set, else to out/. The files are rewritten after every result, so a run cut off by a time limit still
leaves what it measured. Exit status: 0 all hard checks passed, 1 a check failed or raised, 2 no CUDA.

Modules: ``cli`` (arguments, the run), ``host`` (ComfyUI booted on the device, model builders),
``compare`` (dtypes, relative error, TF32 off), ``report`` (the result table), ``accuracy`` (part A),
``cost`` (part B).
"""
