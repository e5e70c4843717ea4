"""The pull-request comment of one stack's preview: what the change costs, above the `pulumi preview` diff.

    python -m tools.pr_comment --stack prod --cost cost-prod.json --preview-file preview.txt > comment.md
    PREVIEW_OUTPUT="$(...)" python -m tools.pr_comment --stack prod --cost cost-prod.json      # the workflow's way

`--cost` is the JSON of `python -m tools.plan STACK --against BASE --json PATH` (computed offline, before the job
has any credentials); a missing or unreadable file gives a comment that says the estimate is unavailable. The comment
starts with a hidden marker (`MARKER`) by which the workflow finds and edits it on every push. No links: the price
table is named by its date and region only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- twinstack-preview:{stack} -->"
MAX_COMMENT = 65_536  # GitHub's limit on a comment's body
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TOP = 3  # the largest changes listed


def money(x: float) -> str:
    return f"${x:,.2f}"


def signed(x: float) -> str:
    x = round(x, 2)
    return f"{'+' if x > 0 else '-' if x < 0 else ''}${abs(x):,.2f}"


def percent(before: float, after: float) -> str:
    if round(after - before, 2) == 0:
        return "0.0%"
    if round(before, 2) == 0:
        return "new"
    return f"{(after - before) / before:+.1%}"


def cost_table(cost: dict[str, Any]) -> str:
    """The short table: before → after (Δ and %), fixed and assumed usage apart, and the three largest changes."""
    stack = cost["stack"]
    if not cost.get("priced"):
        return f"**Monthly estimate ({stack})**: none: this stack is not on AWS at either revision."
    before, after, delta = cost["before"], cost["after"], cost["delta"]
    b_total, a_total = before["fixed"] + before["usage"], after["fixed"] + after["usage"]
    rows = [f"**Monthly estimate ({stack})**: {money(b_total)} → {money(a_total)} "
            f"({signed(delta['total'])}, {percent(b_total, a_total)})", "",
            "| $/month | before | after | Δ | % |", "|---|---:|---:|---:|---:|"]
    for label, x, y, d in (("fixed", before["fixed"], after["fixed"], delta["fixed"]),
                           ("assumed usage", before["usage"], after["usage"], delta["usage"]),
                           ("**total**", b_total, a_total, delta["total"])):
        rows.append(f"| {label} | {x:,.2f} | {y:,.2f} | {signed(d)} | {percent(x, y)} |")
    lines = sorted(cost.get("lines", []), key=lambda c: (-abs(c["delta"]), c["part"], c["item"]))[:TOP]
    rows.append("")
    if lines:
        rows.append("- Largest changes: " + "; ".join(
            f"{signed(c['delta'])} {c['part']}: {_cell(c['item'])}{' (assumed usage)' if c['usage'] else ''}"
            for c in lines) + ".")
    else:
        rows.append("- Largest changes: none; no line item changed.")
    rows.append(_resources(cost))
    rows.append(f"- Prices: {cost.get('prices') or 'unknown'} (region {cost.get('region') or 'unknown'}), "
                f"estimated offline from both revisions' resource graphs (base {str(cost.get('against', ''))[:12]}).")
    return "\n".join(rows)


def _resources(cost: dict[str, Any]) -> str:
    res = cost.get("resources", {})
    parts = []
    for what in ("added", "removed", "replaced"):
        kinds = res.get(what) or {}
        parts.append(f"{what} " + (", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items()) or "none"))
    path = cost.get("criticalPath") or {}
    first = "changed" if path.get("changed") else "unchanged"
    return f"- Resources: {'; '.join(parts)}. First-deploy critical path: {first}."


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def body(stack: str, cost: dict[str, Any] | None, preview: str, outcome: str = "success") -> str:
    head = [MARKER.format(stack=stack), f"#### `pulumi preview` of {stack}", ""]
    head.append(cost_table(cost) if cost else f"**Monthly estimate ({stack})**: unavailable (the estimate step "
                                                "failed; its log says why).")
    head.append("")
    preview = ANSI.sub("", preview or "").strip()
    if outcome not in ("success", ""):
        head.append(f"`pulumi preview` {outcome}" + (": its output below." if preview else "; see the run's log."))
        head.append("")
    fence = "```"
    while fence in preview:
        fence += "`"
    opening, closing = f"\n<details open><summary>pulumi preview</summary>\n\n{fence}diff\n", f"\n{fence}\n</details>\n"
    text = "\n".join(head)
    room = MAX_COMMENT - len(text) - len(opening) - len(closing) - 200
    if len(preview) > room:
        preview = preview[:max(room, 0)] + "\n… (trimmed: the whole preview is in the run's log)"
    return text + opening + (preview or "(no output)") + closing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pr_comment", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--cost", type=Path, help="the JSON of `python -m tools.plan STACK --against REF --json`")
    parser.add_argument("--preview-file", type=Path, help="the preview's output (default: $PREVIEW_OUTPUT)")
    parser.add_argument("--outcome", default="success", help="the preview step's outcome (success, failure, ...)")
    args = parser.parse_args(argv)
    cost = None
    if args.cost is not None and args.cost.is_file():
        try:
            cost = json.loads(args.cost.read_text())
        except json.JSONDecodeError:
            cost = None
    preview = args.preview_file.read_text() if args.preview_file else os.environ.get("PREVIEW_OUTPUT", "")
    sys.stdout.write(body(args.stack, cost, preview, args.outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
