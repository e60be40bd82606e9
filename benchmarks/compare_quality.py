"""Whether one emoji_quality run beats another on the same prompts, or only seems to.

    python benchmarks/compare_quality.py BASE.json NEW.json [--rows BASE_ROW NEW_ROW] [--out FILE]

Both files come from benchmarks/emoji_quality.py over the same prompts (same split and limit;
the same file twice compares two of its rows), or both from benchmarks/emoji_stages.py, whose
prior rows are compared by each emoji's cos(predicted z_i, true z_i), provided both were
measured by the same CLIP (a cosine means something else in each CLIP's space; files that
predate the CLIP's digest are taken as they are). For every row the two
share, or the two rows named by --rows (e.g. 'prior: diffusion_prior' 'prior: ar_prior': two
priors), and each measure (i2i top-1, i2i top-5, i2t top-5, i2i top-1 in any skin tone, and the
border where both runs kept it prompt by prompt; or the cosine), it prints both values, their
difference with a 95% paired bootstrap interval over the prompts, and on how many prompts each
of the two did better (got right where the other did not; with several samples a prompt, more
often; for the cosine, came closer; for the border, whiter). Pairing matters:
the prompts' own difficulty is shared by both runs and cancels, so a paired interval is
narrower than the two runs' own intervals suggest.
A difference whose interval holds 0 is reported as "no clear difference".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from emoji_quality import RATES  # benchmarks/emoji_quality.py
from unclip_core.metrics import bootstrap_interval

from common import to_json  # benchmarks/common.py


def load(path: str) -> dict:
    """A run as {model, overrides, split, prompts, prompt_names, rows}; each row has `per_prompt`:
    measure -> one value a prompt."""
    result = json.loads(Path(path).read_text())
    if "results" in result:  # emoji_stages.py: settings + result rows, the prior rows with each emoji's cosine
        settings = result["settings"]
        rows = [{"row": row["stage"], "per_prompt": {"cos_true": torch.tensor(row["cos_true_per_emoji"], dtype=torch.double)}}
                for row in result["results"] if "cos_true_per_emoji" in row]
        if not rows:
            raise SystemExit(f"{path} keeps no per-emoji cosines: run benchmarks/emoji_stages.py --only prior again to write them")
        return {"model": settings["model"], "overrides": settings["overrides"], "split": settings["split"], "prompts": settings["emoji"],
                "prompt_names": settings.get("prompt_names"), "encoder_digest": settings.get("encoder_digest"), "rows": rows}
    # A rate added to the benchmark later is missing from older files: each row keeps the ones it has.
    rows = [{"row": row["row"], "per_prompt": {name: hit_rates(row, kind, k) for name, kind, k in RATES if f"{kind}_ranks" in row}
             | ({"border": torch.tensor(row["border_per_prompt"], dtype=torch.double)} if "border_per_prompt" in row else {})}
            for row in result["rows"] if "i2i_ranks" in row]
    if not rows:
        raise SystemExit(f"{path} keeps no per-prompt ranks: run benchmarks/emoji_quality.py again to write them")
    return {**result, "rows": rows}


def hit_rates(row: dict, kind: str, k: int) -> torch.Tensor:
    """Per prompt, the share of its samples whose rank is within k (ranks are stored one a prompt, or a list a prompt)."""
    ranked = torch.tensor(row[f"{kind}_ranks"])
    return (ranked.view(len(ranked), -1) <= k).double().mean(1)


def pairs(base: dict, new: dict, rows: list[str] | None) -> list[tuple[dict, dict]]:
    """(base row, new row) pairs: the two rows named, or every row the two runs share by name."""
    if base.get("prompt_names") != new.get("prompt_names"):
        raise SystemExit("the two runs evaluated different prompts: give both the same --split and --limit")
    if None not in (base.get("encoder_digest"), new.get("encoder_digest")) and base["encoder_digest"] != new["encoder_digest"]:
        raise SystemExit("the two runs' cosines were measured by different CLIPs, whose spaces do not compare: "
                         "compare ranks among all emoji instead (benchmarks/emoji_quality.py, or emoji_clip_captions.py for priors on their own CLIPs)")
    before = {row["row"]: row for row in base["rows"]}
    after = {row["row"]: row for row in new["rows"]}
    if rows:
        for label, found in zip(rows, (before, after)):
            if label not in found:
                raise SystemExit(f"no row {label!r} with per-prompt values; the rows are: {', '.join(found)}")
        return [(before[rows[0]], after[rows[1]])]
    shared = [(before[label], row) for label, row in after.items() if label in before]
    if not shared:
        raise SystemExit("the two runs share no row with per-prompt values: name two with --rows")
    return shared


def compare(base: dict, new: dict, rows: list[str] | None = None) -> list[dict]:
    """One entry per row pair and measure: both values, the difference, its interval, the prompts where each was ahead."""
    out = []
    for before, row in pairs(base, new, rows):
        shared = [name for name in row["per_prompt"] if name in before["per_prompt"]]
        if not shared:
            raise SystemExit(f"{before['row']!r} and {row['row']!r} share no measure: compare two runs of the same benchmark")
        for name in shared:
            values = row["per_prompt"][name]
            # Each prompt's value (a hit rate over its samples, or a cosine), base and new side by side.
            pair = torch.stack([before["per_prompt"][name], values], dim=-1)
            low, high = bootstrap_interval(pair, lambda r: r[..., 1].mean(1) - r[..., 0].mean(1))
            verdict = "no clear difference" if low <= 0 <= high else ("better" if low > 0 else "worse")
            label = row["row"] if row["row"] == before["row"] else f"{before['row']} -> {row['row']}"
            base_value, new_value = pair.mean(0).tolist()
            out.append({"row": label, "rate": name, "base": base_value, "new": new_value, "difference": new_value - base_value,
                        "ci95": [low, high], "base_ahead": int((pair[:, 0] > pair[:, 1]).sum()),
                        "new_ahead": int((pair[:, 1] > pair[:, 0]).sum()), "verdict": verdict})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("--rows", nargs=2, metavar=("BASE_ROW", "NEW_ROW"), default=None,
                        help="compare these two rows (by their names in the table) instead of the rows both runs share")
    parser.add_argument("--out", default=None, help="also write the comparison as JSON")
    args = parser.parse_args()
    base, new = load(args.base), load(args.new)
    entries = compare(base, new, args.rows)
    print(f"{base['prompts']} {base['split']} prompts; base {base['model']} {base['overrides']}, new {new['model']} {new['overrides']}\n")
    width, rate_width = max(len(e["row"]) for e in entries), max(len(e["rate"]) for e in entries)
    print(f"{'row':<{width}} {'rate':<{rate_width}} {'base':>6} {'new':>6} {'new-base':>8} {'95% interval':>15} {'base ahead':>10} {'new ahead':>9}  verdict")
    for e in entries:
        low, high = e["ci95"]
        if e["rate"] in ("cos_true", "border"):  # a cosine or a mean pixel value, in its own units
            values = f"{e['base']:>6.3f} {e['new']:>6.3f} {e['difference']:>+8.3f} {f'[{low:+.3f}, {high:+.3f}]':>15}"
        else:  # a rate, the difference in points
            values = f"{e['base']:>6.1%} {e['new']:>6.1%} {100 * e['difference']:>+8.1f} {f'[{100 * low:+.1f}, {100 * high:+.1f}]':>15}"
        print(f"{e['row']:<{width}} {e['rate']:<{rate_width}} {values} {e['base_ahead']:>10} {e['new_ahead']:>9}  {e['verdict']}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(to_json({"base": args.base, "new": args.new, "rows": args.rows, "prompts": base["prompts"],
                                           "split": base["split"], "comparisons": entries}))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
