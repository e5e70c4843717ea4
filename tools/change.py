"""What a change costs: a stack's graph at another git revision against the working copy's, priced the same way.

    python -m tools.plan prod --against main          # make plan STACK=prod AGAINST=main
    python -m tools.plan prod --against main --json cost.json   # also the machine-readable result (the PR comment)

The other revision is checked out into a temporary `git worktree` (the working copy is not touched) and its own
`tools/graph.py` records its own `__main__.py` with its own stack file, in a subprocess of this interpreter. Both
graphs are then priced by this revision's cost model and price table, so the difference is the change's, not the
model's. Resources are matched by URN (an alias, URN or spec, counts as the same resource); a resource is "replaced" when its URN
stays but an input that forces a replacement changes (`REPLACE_KEYS`: the name or identity of stateful and named
resources, as the AWS and Docker providers mark them ForceNew), or one listed in its `replaceOnChanges`. Task
definitions are immutable, so any change to one is a replacement: ECS rolls its service to the new revision.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tools import deploy_time
from tools.cost import Estimate, Line
from tools.graph import ROOT, Graph, Resource, reveal
from tools.parts import short_type
from tools.pr_comment import percent, signed

# Inputs whose change makes the provider replace the resource (ForceNew in the AWS and Docker providers), for the
# resources where a replacement matters: those holding data, and those whose name is their identity.
REPLACE_KEYS: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": ("identifier", "identifierPrefix", "engine", "dbName", "username", "kmsKeyId",
                                  "storageEncrypted", "availabilityZone", "characterSetName", "timezone",
                                  "snapshotIdentifier"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", "atRestEncryptionEnabled", "kmsKeyId",
                                                          "subnetGroupName", "port", "snapshotArns", "snapshotName"),
    "aws:mq/broker:Broker": ("brokerName", "engineType", "deploymentMode", "storageType", "subnetIds",
                             "publiclyAccessible", "encryptionOptions"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix"),
    "aws:ecr/repository:Repository": ("name",),
    "aws:efs/fileSystem:FileSystem": ("encrypted", "kmsKeyId", "performanceMode", "creationToken"),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix"),
    "aws:lb/loadBalancer:LoadBalancer": ("name", "namePrefix", "internal", "loadBalancerType"),
    "aws:lb/targetGroup:TargetGroup": ("name", "namePrefix", "port", "protocol", "vpcId", "targetType"),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "vpcId"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage"),
    "aws:ecs/taskDefinition:TaskDefinition": ("*",),  # immutable: every change is a new revision
    "random:index/randomPassword:RandomPassword": ("keepers", "length", "special"),
    "docker:index/volume:Volume": ("name", "driver", "driverOpts"),
    "docker:index/network:Network": ("name", "driver", "internal", "ipamConfigs"),
    "docker:index/container:Container": ("name", "image"),
}
# Inputs that do not change what is deployed (the provider ignores them, or Pulumi stores them only).
IGNORED = ("__defaults",)


class ChangeError(Exception):
    pass


# ------------------------------------------------------------------------------------------ the other revision


def graph_at(ref: str, stack: str, example: str | None = None, backend: str | None = None,
             repo: Path = ROOT) -> Graph:
    """The stack's graph as revision `ref` declares it: that revision's program, components and stack file."""
    sha = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    where = Path(tempfile.mkdtemp(prefix="twinstack-against-"))
    tree = where / "tree"
    try:
        _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        rel = f"examples/{example}.yaml" if example else f"Pulumi.{stack}.yaml"
        if not (tree / rel).exists():
            raise ChangeError(f"{rel} does not exist at {ref} ({sha[:12]})")
        out = where / "graph.json"
        overrides = {"twinstack:backend": backend} if backend else {}
        script = (
            "import json, sys\n"
            "from dataclasses import asdict\n"
            "from pathlib import Path\n"
            "sys.path.insert(0, str(Path.cwd()))\n"
            "from tools.graph import run_stack\n"
            "name, rel, overrides, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]\n"
            "g = run_stack(name, set=overrides, file=Path(rel).resolve())\n"
            "Path(out).write_text(json.dumps({'stack': g.stack, 'outputs': g.outputs, 'seconds': g.seconds,\n"
            "                                 'resources': [asdict(r) for r in g.resources]}))\n")
        run = subprocess.run([sys.executable, "-c", script, example or stack, rel, json.dumps(overrides), str(out)],
                             cwd=tree, capture_output=True, text=True, check=False,
                             env=_env_without_pythonpath())
        if run.returncode != 0 or not out.exists():
            tail = (run.stderr or run.stdout).strip().splitlines()[-5:]
            raise ChangeError(f"the program at {ref} ({sha[:12]}) failed under mocks: " + " | ".join(tail))
        return graph_from_json(json.loads(out.read_text()))
    finally:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
                       capture_output=True, check=False)
        shutil.rmtree(where, ignore_errors=True)
        subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True, check=False)


def graph_from_json(doc: dict[str, Any]) -> Graph:
    known = {f.name for f in fields(Resource)}
    resources = []
    for raw in doc["resources"]:
        values = {k: v for k, v in raw.items() if k in known}
        for f in fields(Resource):  # a field an older recorder did not have: its empty value
            values.setdefault(f.name, [] if f.name in ("aliases", "ignore_changes", "replace_on_changes",
                                                       "additional_secret_outputs", "dependencies") else None)
        resources.append(Resource(**values))
    return Graph(resources, doc.get("outputs", {}), float(doc.get("seconds", 0.0)), doc["stack"])


def _git(repo: Path, *args: str) -> str:
    run = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        what = args[-1].removesuffix("^{commit}")
        raise ChangeError(f"git {' '.join(args[:2])} failed for {what!r}: "
                          f"{(run.stderr or run.stdout).strip() or 'not a revision of this repository'}")
    return run.stdout.strip()


def _env_without_pythonpath() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


# ------------------------------------------------------------------------------------------------- cost lines


@dataclass(frozen=True)
class LineChange:
    part: str
    item: str  # the billed item with its quantities, as `make plan` prints it
    usage: bool  # a usage-based line (its assumption apart from the fixed cost)
    before: float
    after: float

    @property
    def delta(self) -> float:
        return round(self.after - self.before, 2)


def _key(line: Line) -> tuple[str, str, bool]:
    return line.part, line.item, line.assumed is not None


def line_changes(before: Estimate, after: Estimate) -> list[LineChange]:
    """Every line item whose monthly cost differs, largest change first. Identical items are one line with their
    count (11 alarms to 13 is one change of "CloudWatch alarm x13"); an item whose description carries what changed
    (single-AZ to Multi-AZ, an instance class) is one line gone and one line new."""
    old = {_key(line): line.monthly for line in before.lines}
    new = {_key(line): line.monthly for line in after.lines}
    labels = {_key(line): line.label for line in before.lines} | {_key(line): line.label for line in after.lines}
    changes = [LineChange(part, labels[k], usage, round(old.get(k, 0.0), 2), round(new.get(k, 0.0), 2))
               for k in sorted(set(old) | set(new)) for part, _, usage in [k]]
    changes = [c for c in changes if c.delta != 0]
    return sorted(changes, key=lambda c: (-abs(c.delta), c.part, c.item))


# ---------------------------------------------------------------------------------------------- the resources


@dataclass
class ResourceChanges:
    added: list[Resource] = field(default_factory=list)
    removed: list[Resource] = field(default_factory=list)
    replaced: list[tuple[Resource, list[str]]] = field(default_factory=list)  # with the inputs that force it

    @staticmethod
    def by_kind(resources: list[Resource]) -> dict[str, int]:
        return dict(sorted(Counter(short_type(r.type) for r in resources).items()))

    def summary(self) -> dict[str, dict[str, int]]:
        return {"added": self.by_kind(self.added), "removed": self.by_kind(self.removed),
                "replaced": self.by_kind([r for r, _ in self.replaced])}


def resource_changes(before: Graph, after: Graph) -> ResourceChanges:
    old = {r.urn: r for r in before.custom()}
    new = {r.urn: r for r in after.custom()}
    kept: dict[str, str] = {urn: urn for urn in new if urn in old}  # new URN -> the old URN of the same resource
    for urn, r in new.items():
        if urn not in kept:
            aliased = [a for a in alias_urns(r) if a in old and a not in kept.values()]
            if aliased:
                kept[urn] = aliased[0]
    out = ResourceChanges()
    out.added = [r for urn, r in new.items() if urn not in kept]
    out.removed = [r for urn, r in old.items() if urn not in set(kept.values())]
    for urn, was in kept.items():
        keys = forced_replacement(old[was], new[urn])
        if keys:
            out.replaced.append((new[urn], keys))
    return out


_SPEC_FIELD = re.compile(r'^\s*(\w+): (?:"((?:[^"\\]|\\.)*)"|(true|false))\s*$', re.MULTILINE)


def alias_urns(r: Resource) -> list[str]:
    """The URNs a resource's aliases stand for: an alias URN as is; an alias spec (`name`, `type`, `parentUrn`,
    `noParent`, as tools/graph.py records it) as the URN it names, anything it leaves out taken from the resource."""
    urns = []
    prefix, qualified, name = r.urn.rsplit("::", 2)
    for alias in r.aliases:
        if not isinstance(alias, str):
            continue
        if alias.startswith("urn:pulumi:"):
            urns.append(alias)
            continue
        spec = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _SPEC_FIELD.finditer(alias)}
        chain = qualified.split("$")[:-1]
        if spec.get("noParent") == "true":
            chain = []
        elif spec.get("parentUrn"):
            chain = spec["parentUrn"].rsplit("::", 2)[1].split("$")
            chain = [t for t in chain if t != "pulumi:pulumi:Stack"]
        urns.append(f"{prefix}::{'$'.join([*chain, spec.get('type') or r.type])}::{spec.get('name') or name}")
    return urns


def forced_replacement(before: Resource, after: Resource) -> list[str]:
    """The inputs whose change makes the provider replace `after` rather than update it (empty: an update or none)."""
    keys = list(REPLACE_KEYS.get(after.type, ())) + [k for k in after.replace_on_changes if k != "*"]
    old, new = reveal(before.inputs), reveal(after.inputs)
    if "*" in keys or "*" in after.replace_on_changes:
        keys = sorted((set(old) | set(new)) - set(IGNORED))
    return [k for k in dict.fromkeys(keys) if old.get(k) != new.get(k)]


# ------------------------------------------------------------------------------------------------- the change


@dataclass
class Change:
    stack: str
    ref: str
    before: Estimate | None
    after: Estimate | None
    lines: list[LineChange]
    resources: ResourceChanges
    before_schedule: deploy_time.Schedule
    after_schedule: deploy_time.Schedule

    @property
    def fixed_delta(self) -> float:
        return round(_total(self.after) - _total(self.before), 2)

    @property
    def usage_delta(self) -> float:
        return round(_usage(self.after) - _usage(self.before), 2)

    @property
    def delta(self) -> float:
        return round(self.fixed_delta + self.usage_delta, 2)

    def critical_path(self) -> tuple[list[str], list[str]]:
        return _chain(self.before_schedule), _chain(self.after_schedule)

    @property
    def critical_path_changed(self) -> bool:
        before, after = self.critical_path()
        return before != after

    def to_json(self) -> dict[str, Any]:
        before, after = self.critical_path()
        return {
            "stack": self.stack, "against": self.ref,
            "region": (self.after or self.before).region if (self.after or self.before) else None,
            "prices": (self.after or self.before).method if (self.after or self.before) else None,
            "priced": self.after is not None or self.before is not None,
            "before": {"fixed": round(_total(self.before), 2), "usage": round(_usage(self.before), 2)},
            "after": {"fixed": round(_total(self.after), 2), "usage": round(_usage(self.after), 2)},
            "delta": {"fixed": self.fixed_delta, "usage": self.usage_delta, "total": self.delta},
            "lines": [{**asdict(c), "delta": c.delta} for c in self.lines],
            "resources": self.resources.summary(),
            "replaced": [{"name": r.name, "type": r.type, "inputs": keys} for r, keys in self.resources.replaced],
            "criticalPath": {"changed": before != after, "before": before, "after": after,
                             "beforeSeconds": self.before_schedule.total, "afterSeconds": self.after_schedule.total},
        }


def _total(est: Estimate | None) -> float:
    return est.total if est is not None else 0.0


def _usage(est: Estimate | None) -> float:
    return est.usage_total if est is not None else 0.0


def _chain(sched: deploy_time.Schedule) -> list[str]:
    """The critical path's slow links (30 s or more): what sets the first deploy's time."""
    return [s.resource.name for s in sched.critical_path if s.duration.typical >= 30]


def compare(stack: str, ref: str, before: Graph, after: Graph, before_est: Estimate | None,
            after_est: Estimate | None) -> Change:
    empty = Estimate(stack, "", "")
    lines = line_changes(before_est or empty, after_est or empty)
    return Change(stack, ref, before_est, after_est, lines, resource_changes(before, after),
                  deploy_time.schedule(before), deploy_time.schedule(after))


def format_change(change: Change) -> str:
    """The terminal report of `python -m tools.plan STACK --against REF`."""
    b, a = change.before, change.after
    out = [f"== {change.stack}: this working copy against {change.ref}"]
    if a is None and b is None:
        out.append("Monthly cost: none on AWS (docker backend at both revisions).")
    else:
        out.append(f"Monthly cost ({(a or b).method}):")  # type: ignore[union-attr]
        out.append(f"  {'':<22}{'before':>12}{'after':>12}{'change':>12}")
        rows = [("fixed", _total(b), _total(a)), ("assumed usage", _usage(b), _usage(a)),
                ("total", _total(b) + _usage(b), _total(a) + _usage(a))]
        for label, x, y in rows:
            out.append(f"  {label:<22}{x:>12,.2f}{y:>12,.2f}{signed(y - x):>12}{percent(x, y):>9}")
        for usage, title in ((False, "fixed line items"), (True, "usage line items (assumptions in tools/cost.py)")):
            changed = [c for c in change.lines if c.usage == usage]
            out.append(f"  {title}: {'none changed' if not changed else ''}".rstrip())
            for c in changed:
                out.append(f"    {signed(c.delta):>10}  {c.part}: {c.item}  ({c.before:,.2f} -> {c.after:,.2f})")
    summary = change.resources.summary()
    for what in ("added", "removed", "replaced"):
        kinds = summary[what]
        shown = ", ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in kinds.items()) or "none"
        out.append(f"Resources {what}: {shown}")
    for r, keys in change.resources.replaced:
        out.append(f"  replaced: {r.name} [{short_type(r.type)}] because {', '.join(keys)} changed")
    before, after = change.critical_path()
    bs, as_ = change.before_schedule, change.after_schedule
    if before == after:
        out.append(f"First-deploy critical path: unchanged ({' -> '.join(after) or 'no slow step'}; about "
                   f"{deploy_time.minutes(bs.total)} -> {deploy_time.minutes(as_.total)})")
    else:
        out.append(f"First-deploy critical path: changed, about {deploy_time.minutes(bs.total)} -> "
                   f"{deploy_time.minutes(as_.total)}")
        out.append(f"  before: {' -> '.join(before) or 'no slow step'}")
        out.append(f"  after:  {' -> '.join(after) or 'no slow step'}")
    return "\n".join(out)




def is_aws(graph: Graph) -> bool:
    return any(r.type.startswith("aws:") for r in graph.custom())
