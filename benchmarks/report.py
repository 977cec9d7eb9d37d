"""Ratios, floors and targets of a benchmarks.run result, as a text table and a markdown table."""
from __future__ import annotations

from typing import Any

GIB = 1024 ** 3
TARGET_BELOW_FLOOR = {"sd15": 1.12}  # the stretch target at 512 px (SD1.5)


def summarize(r: dict) -> dict:
    """U2, B1, B2, the exact-computation floor, per-mode ratios (min and median) and the memory check."""
    modes, branch, steps = r["modes"], r.get("branch", {}), r["steps"]
    s: dict[str, Any] = {}
    if "plain" not in modes:
        return s
    plain = modes["plain"]
    u2_min, u2_med = plain["min"] / steps, plain["median"] / steps
    s["U2_min_s"], s["U2_median_s"] = round(u2_min, 4), round(u2_med, 4)
    for key in ("B1_ref", "B2_ref", "B1_ours", "B2_ours"):
        if key in branch:
            s[f"{key}_min_s"] = branch[key]["min"]
    if "B1_ref" in branch and "B2_ref" in branch:
        # SD1.5's branch ignores text: the exact minimum is one batch-1 forward per step. SDXL's
        # reads pooled text, so cond and uncond differ: one batch-2 forward per step.
        exact = branch["B1_ref"]["min"] if r["arch"] == "sd15" else branch["B2_ref"]["min"]
        s["floor"] = round(1 + exact / u2_min, 4)
        s["naive_floor"] = round(1 + branch["B2_ref"]["min"] / u2_min, 4)
    ratios = {}
    for name, m in modes.items():
        ratios[name] = {"min": round(m["min"] / plain["min"], 4), "median": round(m["median"] / plain["median"], 4)}
    s["ratios"] = ratios
    if "ours" in ratios and "floor" in s:
        s["ours_at_or_below_floor"] = ratios["ours"]["min"] <= s["floor"]
        if r["arch"] in TARGET_BELOW_FLOOR and not r.get("quick"):
            s["target_below_floor"] = TARGET_BELOW_FLOOR[r["arch"]]
            s["ours_meets_target"] = ratios["ours"]["min"] <= TARGET_BELOW_FLOOR[r["arch"]]
    if "ours" in modes and modes["ours"].get("runs"):
        # Where ours' extra time goes (fastest ours run vs fastest plain run), per step.
        best = min(range(len(modes["ours"]["seconds"])), key=lambda i: modes["ours"]["seconds"][i])
        run = modes["ours"]["runs"][best]
        extra = (modes["ours"]["seconds"][best] - plain["min"]) / steps
        fwd, prep = run.get("forward_s", 0.0) / steps, run.get("prepare_s", 0.0) / steps
        s["ours_extra_per_step"] = {"total_s": round(extra, 4), "branch_forward_s": round(fwd, 4),
                                    "runner_bookkeeping_s": round(prep - fwd, 4),
                                    "injection_and_noise_s": round(extra - prep, 4)}
        # Whole-run times drift by about +-10% on a shared VM (see inactive, which does plain's exact
        # work); the parts of ours measured inside its own runs do not depend on that drift.
        prepared = sorted(x.get("prepare_s", 0.0) / steps for x in modes["ours"]["runs"])
        s["ours_from_parts"] = round(1 + prepared[len(prepared) // 2] / u2_min, 4)
    if "ours" in modes:
        weights = r.get("brushnet_weight_bytes", 0)
        # The BrushNet weights are resident in this process during the plain runs too, so a
        # plain-only process peaks at plain_peak - weights; the limit is (that + weights) * 1.10.
        limit = plain["peak_rss"] * 1.10
        s["memory"] = {"plain_peak": plain["peak_rss"], "ours_peak": modes["ours"]["peak_rss"],
                       "plain_transient": plain["transient_rss"], "ours_transient": modes["ours"]["transient_rss"],
                       "brushnet_weights": weights, "limit": int(limit),
                       "ours_within_limit": modes["ours"]["peak_rss"] <= limit}
    if "loader" in r:
        s["loader_ratio"] = r["loader"]["ratio_min"]
    return s


def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def _rows(r: dict) -> list[tuple[str, str, str, str, str, str]]:
    s, steps = r["summary"], r["steps"]
    rows = []
    for name, m in r["modes"].items():
        ratio = s.get("ratios", {}).get(name, {})
        runs = m.get("runs", [{}])
        rows.append((name, f"{m['min'] / steps:.2f} / {m['median'] / steps:.2f}",
                     f"{ratio.get('min', float('nan')):.3f} / {ratio.get('median', float('nan')):.3f}",
                     str(runs[-1].get("brushnet_forwards", 0)), _gib(m["peak_rss"]), _gib(m["transient_rss"])))
    return rows


HEAD = ("mode", "s/step min / median", "ratio min / median", "branch forwards", "peak RSS", "RSS growth")


def _facts(r: dict) -> list[str]:
    s = r["summary"]
    lines = [f"{r['arch'].upper()} {r['size']}x{r['size']}, {r['steps']} steps, cfg {r['cfg']}, euler, "
             f"{r['repeat']} interleaved repeat(s), fp32 CPU, {r['threads']} threads, torch {r['torch']}; "
             f"{r['load_before']} (before), {r.get('load_after', '?')} (after)"]
    if "U2_min_s" in s:
        lines.append(f"U2 (plain step, CFG batch 2) = {s['U2_min_s']:.2f} s; branch alone (min, reference / "
                     f"ours): B1 = {s.get('B1_ref_min_s', 0):.2f} / {s.get('B1_ours_min_s', 0):.2f} s, "
                     f"B2 = {s.get('B2_ref_min_s', 0):.2f} / {s.get('B2_ours_min_s', 0):.2f} s")
    if "floor" in s:
        which = "B1" if r["arch"] == "sd15" else "B2"
        lines.append(f"exact-computation floor 1 + {which}/U2 = {s['floor']:.3f}; naive floor 1 + B2/U2 = "
                     f"{s['naive_floor']:.3f}; ours at/below floor: {s.get('ours_at_or_below_floor')}"
                     + (f"; target {s['target_below_floor']}: {s['ours_meets_target']}" if "target_below_floor" in s else ""))
    if "ours_extra_per_step" in s:
        e = s["ours_extra_per_step"]
        lines.append(f"ours' extra time per step {e['total_s']:.3f} s = branch forward {e['branch_forward_s']:.3f} s "
                     f"+ runner bookkeeping {e['runner_bookkeeping_s']:.4f} s + injection adds/other/noise "
                     f"{e['injection_and_noise_s']:.3f} s")
        lines.append(f"ours from its parts: 1 + (branch forward + bookkeeping inside sampling)/U2 = "
                     f"{s['ours_from_parts']:.3f} (the whole-run ratio of inactive, whose work equals plain's, "
                     f"shows the run-to-run noise)")
    if "memory" in s:
        m = s["memory"]
        lines.append(f"memory: ours peak {_gib(m['ours_peak'])} vs limit (plain + BrushNet weights) x 1.10 = "
                     f"{_gib(m['limit'])} (weights {_gib(m['brushnet_weights'])}): within {m['ours_within_limit']}")
    if "loader" in r:
        ld = r["loader"]
        lines.append(f"loader: fp16 single file {ld['file_bytes'] / GIB:.2f} GiB, read {ld['read']['min']:.2f} s, "
                     f"load_brushnet(auto -> {ld['dtype']}) {ld['load_brushnet_auto']['min']:.2f} s: "
                     f"{ld['ratio_min']:.2f}x (min over repeats, warm page cache)")
    lines.append("checks: " + ", ".join(f"{k}={v:.2e}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in r.get("checks", {}).items()))
    return lines


def text_table(r: dict) -> str:
    rows = [HEAD, *_rows(r)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEAD))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(_facts(r) + [""] + lines)


def markdown_table(r: dict) -> str:
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" for _ in HEAD) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(r)]
    return "\n".join(lines + [""] + [f"- {f}" for f in _facts(r)])
