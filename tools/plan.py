"""What a stack is, costs and takes to deploy, before you run it: offline, from the program's own resource graph.

    python -m tools.plan dev                          # Pulumi.dev.yaml
    python -m tools.plan prod --region eu-west-1      # prices for another region
    python -m tools.plan dev --example castiel        # examples/castiel.yaml, as `make up EXAMPLE=castiel` deploys it
    python -m tools.plan dev --example castiel --backend aws   # the same example on AWS
    python -m tools.plan --all                        # regenerate docs/architecture-*.md and docs/plan-tables.md
    python -m tools.plan prod --against main          # what the working copy's change costs (docs/plan.md)

Prints the resource tree with counts per part, a Mermaid architecture diagram (also written to
docs/architecture-<stack>.md), a monthly cost estimate for AWS stacks and the estimated wall time of a first
`pulumi up` with the chain of resources that sets it. Runs the real `__main__.py` under Pulumi mocks (tools/graph.py):
no cloud credentials, no Pulumi CLI.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.load import ConfigError, load
from config.model import StackConfig
from tools import change, cost, deploy_time, diagram, engine_log, fargate
from tools.graph import ROOT, Graph, ProgramError, run_stack, stack_file_config
from tools.parts import resource_tree
from tools.pricing import UnknownRegionError, price_book

DOCS = ROOT / "docs"
STACKS = ("dev", "staging", "prod")


@dataclass
class Plan:
    name: str  # the stack name (the example's name for an example)
    source: str  # the stack file, relative to the project root
    cfg: StackConfig
    graph: Graph
    region: str
    estimate: cost.Estimate | None
    schedule: deploy_time.Schedule
    diagram: diagram.Diagram
    warnings: list[str] = field(default_factory=list)  # printed once each, after the plan

    @property
    def label(self) -> str:
        return f"{self.name} ({self.cfg.backend}, {self.cfg.environment})"


def make_plan(stack: str, example: str | None = None, backend: str | None = None, region: str | None = None) -> Plan:
    path = ROOT / "examples" / f"{example}.yaml" if example else ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise SystemExit(f"no stack file {path.relative_to(ROOT)}")
    name = example or stack
    overrides: dict[str, Any] = {"twinstack:backend": backend} if backend else {}
    config, _ = stack_file_config(path)
    notes: list[str] = []
    if backend == "aws" and config.get("twinstack:backend") != "aws":  # docker sizes, priced as Fargate sizes
        services, notes = fargate.fit_services(config.get("twinstack:services"))
        if notes:
            overrides["twinstack:services"] = services
    config.update(overrides)
    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v)
           for k, v in config.items() if k.startswith("twinstack:")}
    cfg = load(name, raw).stack
    region = region or str(config.get("aws:region") or "us-east-1")
    if cfg.backend == "aws":
        price_book(region)  # an unknown region fails here, before the program runs
    with engine_log.collected() as warnings:
        graph = run_stack(name, file=path, set=overrides)
    estimate = cost.estimate(graph, region) if cfg.backend == "aws" else None
    return Plan(name, str(path.relative_to(ROOT)), cfg, graph, region, estimate, deploy_time.schedule(graph),
                diagram.build(cfg, graph), [f"--backend aws: {n}" for n in notes] + warnings)


def doc_name(plan: Plan, backend_override: str | None) -> str:
    return f"architecture-{plan.name}" + (f"-{backend_override}" if backend_override else "")


def command_for(plan: Plan, backend_override: str | None = None) -> str:
    stack, example = (("dev", plan.name) if plan.source.startswith("examples/") else (plan.name, None))
    return (f"python -m tools.plan {stack}" + (f" --example {example}" if example else "")
            + (f" --backend {backend_override}" if backend_override else ""))


def architecture_doc(plan: Plan, command: str) -> str:
    """docs/architecture-<stack>.md: the diagram GitHub renders, the counts, and the cost and time estimates."""
    parts = [f"# Architecture: {plan.label}\n",
             f"Generated from `{plan.source}` by `{command}` (the program's own resource graph, under Pulumi mocks). "
             "Regenerate it with that command; do not edit by hand.\n",
             f"```mermaid\n{plan.diagram.mermaid()}\n```\n",
             "Solid arrows: requests (proxy routes, and a service's `uses` of the data tier). Dotted: `dependsOn` "
             "(start order and calls) and monitoring scrapes. Dashed boxes: internal services with no route. "
             "Each box sits in the " + ("subnets" if plan.cfg.backend == "aws" else "docker networks")
             + " its resources are attached to in the graph.\n",
             "## Resources\n", f"```\n{resource_tree(plan.graph)}\n```\n",
             "## First deploy\n", f"```\n{deploy_time.format_schedule(plan.graph, plan.schedule)}\n```\n"]
    if plan.estimate is not None:
        parts += ["## Monthly cost\n", cost.markdown_table(plan.estimate) + "\n",
                  f"Prices: {plan.estimate.method}. Usage-based lines assume: "
                  + "; ".join(sorted({f"{line.item.split(':')[0]}: {line.assumed}" for line in plan.estimate.usage}))
                  + ".\n"]
        if plan.estimate.notes:
            parts.append("".join(f"- {note}\n" for note in plan.estimate.notes))
    return "\n".join(parts)


def readme_section(plans: dict[str, Plan]) -> str:
    """docs/plan-tables.md: dev and prod diagrams, staging and prod costs (the page adds TABLES_HEAD)."""
    dev, staging, prod = plans["dev"], plans["staging"], plans["prod"]
    assert staging.estimate is not None and prod.estimate is not None
    out = ["## Plan: architecture, cost and first-deploy time\n",
           "`make plan` (`.venv/bin/python -m tools.plan STACK [--example NAME] [--region REGION]`) prints, offline and "
           "without "
           "credentials, the resource tree with counts per part, a Mermaid diagram (written to "
           "`docs/architecture-<stack>.md`), the monthly AWS cost per part and the critical path of a first "
           "`pulumi up`. Everything is read from the resource graph the program declares; prices come from the dated "
           "table in `tools/pricing.py`. This section is generated by `.venv/bin/python -m tools.plan --all`.\n",
           f"### dev on Docker\n\n```mermaid\n{dev.diagram.mermaid()}\n```\n",
           f"First `pulumi up`: about {deploy_time.minutes(dev.schedule.total)}, set by "
           f"{deploy_time.critical_summary(dev.schedule) or 'image pulls'}.\n",
           f"### prod on AWS\n\n```mermaid\n{prod.diagram.mermaid()}\n```\n",
           f"First `pulumi up`: about {deploy_time.minutes(prod.schedule.total)} "
           f"({deploy_time.minutes(prod.schedule.low)} to {deploy_time.minutes(prod.schedule.high)}), set by "
           f"{deploy_time.critical_summary(prod.schedule)}.\n"]
    for plan in (staging, prod):
        est = plan.estimate
        assert est is not None
        out += [f"### Monthly cost: {plan.name} ({est.region})\n", cost.markdown_table(est) + "\n",
                f"Fixed ${est.total:,.2f}/month; ${est.total + est.usage_total:,.2f} with the assumed usage. "
                f"{est.method}.\n"]
        if est.notes:
            out.append("".join(f"- {note}\n" for note in est.notes))
    return "\n".join(out)


def print_plan(plan: Plan, out_file: Path | None) -> None:
    print(f"== {plan.label} from {plan.source}: {len(plan.graph.custom())} resources\n")
    print(resource_tree(plan.graph))
    print("\n== architecture (Mermaid)" + (f", written to {_shown(out_file)}" if out_file else "") + "\n")
    print(plan.diagram.mermaid())
    print()
    if plan.estimate is not None:
        print(cost.format_estimate(plan.estimate))
    else:
        print(f"Monthly cost: none on AWS ({plan.cfg.backend} backend); run with --backend aws (`make plan BACKEND=aws`) "
              "to price it on AWS.")
    print()
    print(deploy_time.format_schedule(plan.graph, plan.schedule))
    sys.stdout.flush()
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def write_all(out_dir: Path, region: str | None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    plans = {stack: make_plan(stack, region=region) for stack in STACKS}
    variants: list[tuple[Plan, str | None]] = [(plan, None) for plan in plans.values()]
    for example in sorted(p.stem for p in (ROOT / "examples").glob("*.yaml")):
        as_written = make_plan("dev", example=example, region=region)
        other = "aws" if as_written.cfg.backend == "docker" else "docker"
        variants += [(as_written, None), (make_plan("dev", example=example, backend=other, region=region), other)]
    for plan, override in variants:
        path = out_dir / f"{doc_name(plan, override)}.md"
        path.write_text(architecture_doc(plan, command_for(plan, override)))
        written.append(path)
        total = f", ${plan.estimate.total:,.2f}/month" if plan.estimate else ""
        print(f"{plan.label}: {len(plan.graph.custom())} resources{total}, first up ~"
              f"{deploy_time.minutes(plan.schedule.total)} -> {_shown(path)}")
    tables = out_dir / "plan-tables.md"
    tables.write_text(TABLES_HEAD + readme_section(plans))
    written.append(tables)
    print(f"plan tables -> {_shown(tables)}")
    for warning in dict.fromkeys(w for plan, _ in variants for w in plan.warnings):  # once each, after the rest
        print(f"warning: {warning}")
    return written


TABLES_HEAD = ("# Plan tables (generated)\n\nWritten by `make plan` (tools/plan.py); do not edit by hand. Every stack's and "
               "example's own page, with its resources, is `docs/architecture-<stack>.md`.\n\n")


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", help="dev, staging, prod (a Pulumi.<stack>.yaml)")
    parser.add_argument("--example", help="plan examples/<NAME>.yaml instead (stack name NAME)")
    parser.add_argument("--backend", choices=("docker", "aws"), help="override twinstack:backend")
    parser.add_argument("--region", help="price in this AWS region (default: the stack's aws:region)")
    parser.add_argument("--out", type=Path, default=DOCS, help="where architecture docs go (default: docs/)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no file")
    parser.add_argument("--all", action="store_true", help="write the docs for dev, staging, prod and every example")
    parser.add_argument("--against", metavar="REF", help="compare with the stack at git revision REF (a worktree)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="with --against: also write the result as JSON")
    args = parser.parse_args(argv)
    if not args.all and not args.stack:
        parser.error("give a STACK, or --all")
    if args.json and not args.against:
        parser.error("--json goes with --against REF")
    try:
        if args.all:
            write_all(args.out, args.region)
            return 0
        if args.against:
            return against(args)
        plan = make_plan(args.stack, args.example, args.backend, args.region)
        out_file = None if args.no_write else args.out / f"{doc_name(plan, args.backend)}.md"
        if out_file is not None:
            out_file.parent.mkdir(parents=True, exist_ok=True)
            out_file.write_text(architecture_doc(plan, command_for(plan, args.backend)))
        print_plan(plan, out_file)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    except ProgramError as e:
        print(f"the program failed under mocks: {e}", file=sys.stderr)
        return 1
    except UnknownRegionError as e:
        print(e, file=sys.stderr)
        return 2
    except change.ChangeError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


def compare(plan: Plan, ref: str, example: str | None = None, backend: str | None = None) -> change.Change:
    """The plan's stack (the working copy) against the same stack at git revision `ref`, priced alike."""
    before = change.graph_at(ref, plan.name if not example else "dev", example, backend)
    before_est = cost.estimate(before, plan.region) if change.is_aws(before) else None
    return change.compare(plan.name, ref, before, plan.graph, before_est, plan.estimate)


def against(args: argparse.Namespace) -> int:
    plan = make_plan(args.stack, args.example, args.backend, args.region)
    result = compare(plan, args.against, args.example, args.backend)
    print(change.format_change(result))
    if args.json:
        args.json.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
