"""Formats AOT check results: a text report per config and a markdown table over configs.

Works on the JSON form (CheckResult.to_json()), so a table can be rebuilt from saved files.
"""

from __future__ import annotations

from typing import Any, Sequence

GIB = 2**30


def gib(n: float) -> str:
  return f"{n / GIB:.2f}"


def seconds(s: float) -> str:
  """Human-scale time: 12.3 s, 45.6 ms, 7.8 us."""
  if s >= 1:
    return f"{s:.2f} s"
  if s >= 1e-3:
    return f"{s * 1e3:.2f} ms"
  return f"{s * 1e6:.1f} us"


def mesh_str(mesh: dict[str, int]) -> str:
  return "x".join(str(mesh[a]) for a in ("data", "fsdp", "tensor"))


def _header(r: dict[str, Any]) -> list[str]:
  m = r["model"]
  remat = f"remat {m['remat_policy']}" if m["remat"] else "no remat"
  return [
      f"config {r['config_name']}: {r['topology']} ({r['accelerator_type']}, {r['num_chips']} "
      f"chips, {r['hbm_bytes'] / GIB:.0f} GiB HBM each), mesh (data, fsdp, tensor) = "
      f"{mesh_str(r['mesh'])}",
      f"model: d_model {m['d_model']}, {m['num_layers']} layers, params {m['param_dtype']}, "
      f"compute {m['compute_dtype']}, {remat}; {r['algorithm']} kl_beta {r['kl_beta']}; update "
      f"batch {r['update_batch']} x {r['seq_len']}; sampler {r['num_slots']} slots x cache "
      f"{r['cache_len']}, prefill {r['prefill_len']}",
  ]


def format_report(r: dict[str, Any]) -> str:
  """The per-config text report aot_check prints."""
  lines = _header(r)
  cols = ("program", "args", "out", "alias", "temp", "resident", "total GiB", "headroom",
          "TFLOP/chip", "GB/chip", "vs analytic", "roofline", "bound")
  rows = [cols]
  for p in r["programs"]:
    rows.append((p["name"], gib(p["argument_bytes"]), gib(p["output_bytes"]),
                 gib(p["alias_bytes"]), gib(p["temp_bytes"]), gib(p["resident_bytes"]),
                 gib(p["total_bytes"]), f"{p['headroom']:.0%}",
                 f"{p['flops_per_chip'] / 1e12:.3f}", f"{p['bytes_per_chip'] / 1e9:.2f}",
                 f"{p['flops_ratio']:.3f}", seconds(p["roofline_s"]), p["roofline_bound"]))
  rows.append(("reshard", "", "", "", "", "", gib(r["reshard_bytes"]),
               f"{r['reshard_headroom']:.0%}", "", "", "", "", ""))
  widths = [max(len(str(row[i])) for row in rows) for i in range(len(cols))]
  lines += ["  ".join(str(c).rjust(w) for c, w in zip(row, widths)) for row in rows]
  lines += [f"  {p['name']}: {p['work']}; resident beside it: {p['resident_what']}"
            for p in r["programs"]]
  lines.append("  reshard: train state + ref params + old and new sampler params (update_params)")
  failures = r["failures"]
  lines.append("bars: all met" if not failures else "bars NOT met:\n  " + "\n  ".join(failures))
  return "\n".join(lines)


def markdown_table(results: Sequence[dict[str, Any]]) -> str:
  """One row per (config, program) for benchmarks/RESULTS.md."""
  lines = [
      "| config | topology | mesh (d,f,t) | program | args GiB | temp GiB | total GiB / HBM "
      "| headroom | TFLOP/chip | vs 6PT(+attn) | GB/chip | roofline |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ]
  for r in results:
    hbm = r["hbm_bytes"] / GIB
    for p in r["programs"]:
      lines.append(
          f"| {r['config_name']} | {r['topology']} | {mesh_str(r['mesh'])} | {p['name']} "
          f"| {gib(p['argument_bytes'])} | {gib(p['temp_bytes'])} | {gib(p['total_bytes'])} / "
          f"{hbm:.0f} | {p['headroom']:.0%} | {p['flops_per_chip'] / 1e12:.3f} "
          f"| {p['flops_ratio']:.3f} | {p['bytes_per_chip'] / 1e9:.2f} "
          f"| {seconds(p['roofline_s'])} ({p['roofline_bound']}) |")
    for name, error in r.get("compile_errors", {}).items():
      lines.append(f"| {r['config_name']} | {r['topology']} | {mesh_str(r['mesh'])} | {name} "
                   f"| did not compile: {error} | | | | | | | |")
    lines.append(f"| {r['config_name']} | {r['topology']} | {mesh_str(r['mesh'])} | reshard | | "
                 f"| {gib(r['reshard_bytes'])} / {hbm:.0f} | {r['reshard_headroom']:.0%} "
                 "| | | | |")
  return "\n".join(lines)
