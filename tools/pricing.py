"""AWS on-demand list prices for `python -m tools.plan`: one dated table, each rate with the page it comes from.

Compiled 2026-11-23 from AWS's public pricing pages (the `source` of each rate) for US East (N. Virginia), Linux,
on-demand, no free tier, no Savings Plans or reservations. Cross-checked where a second public source was at hand:
Fargate (Vantage's 2026 table), RDS t4g and gp3 (Infracost's golden fixtures, 2026 guides), NAT gateway, Amazon MQ m5.
AWS changes prices without notice: for a quote, use the AWS Pricing Calculator. To update, edit a rate and `AS_OF`.

Other regions: no second table is kept. `price_book(region)` multiplies the us-east-1 rates by a per-service ratio,
documented below (`REGION_FACTORS`), taken from the same pages for that region. The factors are approximate (within
about 5% for the items this stack uses); the estimate names the method it used.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

AS_OF = "2026-11-23"
BASE_REGION = "us-east-1"
HOURS_PER_MONTH = 730  # the month AWS's pricing pages and calculator use

_FARGATE = "https://aws.amazon.com/fargate/pricing/"
_RDS = "https://aws.amazon.com/rds/postgresql/pricing/"
_CACHE = "https://aws.amazon.com/elasticache/pricing/"
_MQ = "https://aws.amazon.com/amazon-mq/pricing/"
_VPC = "https://aws.amazon.com/vpc/pricing/"
_ELB = "https://aws.amazon.com/elasticloadbalancing/pricing/"
_SECRETS = "https://aws.amazon.com/secrets-manager/pricing/"
_CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
_KMS = "https://aws.amazon.com/kms/pricing/"
_S3 = "https://aws.amazon.com/s3/pricing/"
_ECR = "https://aws.amazon.com/ecr/pricing/"
_EC2 = "https://aws.amazon.com/ec2/pricing/on-demand/"
_ROUTE53 = "https://aws.amazon.com/route53/pricing/"


@dataclass(frozen=True)
class Rate:
    usd: float
    unit: str  # what one `usd` buys, e.g. "vCPU-hour"
    source: str


def _hourly(table: dict[str, float], prefix: str, unit: str, source: str) -> dict[str, Rate]:
    return {f"{prefix}.{name}": Rate(usd, unit, source) for name, usd in table.items()}


# RDS for PostgreSQL, Single-AZ instance-hours. A Multi-AZ (one standby) deployment bills two instances: twice these.
_RDS_POSTGRES = {
    "db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065, "db.t4g.large": 0.129,
    "db.t4g.xlarge": 0.258, "db.t4g.2xlarge": 0.517,
    "db.t3.micro": 0.018, "db.t3.small": 0.036, "db.t3.medium": 0.072, "db.t3.large": 0.145,
    "db.t3.xlarge": 0.290, "db.t3.2xlarge": 0.580,
    "db.m5.large": 0.178, "db.m5.xlarge": 0.356, "db.m5.2xlarge": 0.712,
    "db.m6g.large": 0.159, "db.m6g.xlarge": 0.318, "db.m6g.2xlarge": 0.636,
    "db.m6i.large": 0.178, "db.m6i.xlarge": 0.356, "db.m6i.2xlarge": 0.712,
    "db.m7g.large": 0.168, "db.m7g.xlarge": 0.337, "db.m7g.2xlarge": 0.674,
    "db.r6g.large": 0.225, "db.r6g.xlarge": 0.450, "db.r6g.2xlarge": 0.899,
    "db.r6i.large": 0.250, "db.r6i.xlarge": 0.500, "db.r6i.2xlarge": 1.000,
    "db.r7g.large": 0.239, "db.r7g.xlarge": 0.478, "db.r7g.2xlarge": 0.956,
}
# ElastiCache for Redis OSS node-hours (every node of a replication group bills, primary and replicas alike).
_CACHE_NODES = {
    "cache.t4g.micro": 0.016, "cache.t4g.small": 0.032, "cache.t4g.medium": 0.065,
    "cache.t3.micro": 0.017, "cache.t3.small": 0.034, "cache.t3.medium": 0.068,
    "cache.m6g.large": 0.149, "cache.m6g.xlarge": 0.297, "cache.m6g.2xlarge": 0.594,
    "cache.m7g.large": 0.158, "cache.m7g.xlarge": 0.315,
    "cache.r6g.large": 0.206, "cache.r6g.xlarge": 0.411, "cache.r6g.2xlarge": 0.822,
    "cache.r7g.large": 0.219, "cache.r7g.xlarge": 0.437,
}
# Amazon MQ for RabbitMQ broker-hours, per broker node (a CLUSTER_MULTI_AZ deployment runs three).
_MQ_RABBITMQ = {
    "mq.t3.micro": 0.030,
    "mq.m5.large": 0.288, "mq.m5.xlarge": 0.576, "mq.m5.2xlarge": 1.152, "mq.m5.4xlarge": 2.304,
}

# ElastiCache for Valkey node-hours list at 80% of the Redis OSS rates below (same page).
VALKEY_NODE_FACTOR = 0.8

US_EAST_1: dict[str, Rate] = {
    # ECS on Fargate, per second with a one-minute minimum; 20 GB of ephemeral storage per task included.
    "fargate.x86_64.vcpu": Rate(0.04048, "vCPU-hour", _FARGATE),
    "fargate.x86_64.memory": Rate(0.004445, "GB-hour", _FARGATE),
    "fargate.arm64.vcpu": Rate(0.03238, "vCPU-hour", _FARGATE),
    "fargate.arm64.memory": Rate(0.00356, "GB-hour", _FARGATE),
    "fargate.ephemeral_storage": Rate(0.000111, "GB-hour above 20 GB", _FARGATE),
    **_hourly(_RDS_POSTGRES, "rds.postgres", "instance-hour", _RDS),
    "rds.gp3.single_az": Rate(0.115, "GB-month", _RDS),
    "rds.gp3.multi_az": Rate(0.230, "GB-month", _RDS),
    "rds.gp2.single_az": Rate(0.115, "GB-month", _RDS),
    "rds.gp2.multi_az": Rate(0.230, "GB-month", _RDS),
    "rds.backup_storage": Rate(0.095, "GB-month beyond the instance's storage", _RDS),
    **_hourly(_CACHE_NODES, "elasticache.redis", "node-hour", _CACHE),
    "elasticache.backup_storage": Rate(0.085, "GB-month", _CACHE),
    **_hourly(_MQ_RABBITMQ, "mq.rabbitmq", "broker-hour", _MQ),
    "mq.rabbitmq.storage": Rate(0.10, "GB-month", _MQ),
    "nat.hour": Rate(0.045, "NAT gateway-hour", _VPC),
    "nat.data": Rate(0.045, "GB processed", _VPC),
    "ipv4.public": Rate(0.005, "public IPv4 address-hour", _VPC),
    "vpce.interface": Rate(0.01, "endpoint ENI-hour (per AZ)", "https://aws.amazon.com/privatelink/pricing/"),
    "vpce.data": Rate(0.01, "GB processed", "https://aws.amazon.com/privatelink/pricing/"),
    "transfer.internet_out": Rate(0.09, "GB out to the internet beyond 100 GB/month free", _EC2),
    "transfer.inter_az": Rate(0.02, "GB between AZs (0.01 each way)", _EC2),
    "alb.hour": Rate(0.0225, "ALB-hour", _ELB),
    "alb.lcu": Rate(0.008, "LCU-hour", _ELB),
    "secretsmanager.secret": Rate(0.40, "secret-month", _SECRETS),
    "secretsmanager.api": Rate(0.05, "10,000 API calls", _SECRETS),
    "cloudwatch.alarm": Rate(0.10, "standard-resolution alarm-month", _CLOUDWATCH),
    "cloudwatch.dashboard": Rate(3.00, "dashboard-month", _CLOUDWATCH),
    "logs.ingest": Rate(0.50, "GB ingested", _CLOUDWATCH),
    "logs.vended_ingest": Rate(0.50, "GB of vended logs (VPC flow logs) ingested", _CLOUDWATCH),
    "logs.storage": Rate(0.03, "GB-month archived", _CLOUDWATCH),
    "kms.key": Rate(1.00, "customer managed key-month", _KMS),
    "kms.requests": Rate(0.03, "10,000 requests", _KMS),
    "s3.standard": Rate(0.023, "GB-month (first 50 TB)", _S3),
    "s3.put": Rate(0.005, "1,000 PUT/COPY/POST/LIST requests", _S3),
    "s3.get": Rate(0.0004, "1,000 GET requests", _S3),
    "ecr.storage": Rate(0.10, "GB-month", _ECR),
    "route53.zone": Rate(0.50, "hosted zone-month (first 25)", _ROUTE53),
}

# Ratio of a region's list price to us-east-1's, per service (the key's first segment). Missing services are 1.0.
# us-east-2 and us-west-2 list the same rates as us-east-1 for every service above. eu-west-1 (Ireland), from the
# same pages: Fargate identical; NAT 0.048; ALB 0.0252; PrivateLink 0.011; RDS db.t4g.micro 0.018 and gp3 0.127;
# ElastiCache and Amazon MQ about 9-10% higher; CloudWatch Logs ingestion 0.57; the rest identical.
REGION_FACTORS: dict[str, dict[str, float]] = {
    "us-east-1": {},
    "us-east-2": {},
    "us-west-2": {},
    "eu-west-1": {
        "nat": 0.048 / 0.045,
        "alb": 0.0252 / 0.0225,
        "vpce": 1.10,
        "rds": 1.11,
        "elasticache": 1.09,
        "mq": 1.10,
        "logs": 0.57 / 0.50,
    },
}


class UnknownRegionError(ValueError):
    pass


@dataclass(frozen=True)
class PriceBook:
    region: str
    rates: dict[str, Rate]
    method: str  # how the rates were obtained, printed with the estimate

    def get(self, key: str) -> Rate | None:
        return self.rates.get(key)


def price_book(region: str = BASE_REGION, tables: Path | None = None) -> PriceBook:
    """The region's refreshed table (`tools/prices/<region>.json`, from `python -m tools.pricing refresh`) where there
    is one; otherwise the us-east-1 table above, times the region's factors."""
    table = (tables or TABLES) / f"{region}.json"
    if table.is_file():
        return load_table(table)
    if region not in REGION_FACTORS:
        known = ", ".join(sorted(set(REGION_FACTORS) | {p.stem for p in (tables or TABLES).glob("*.json")}))
        raise UnknownRegionError(f"no prices for region '{region}' (known: {known}); add its factors to tools/pricing.py"
                                 f" or refresh its table: python -m tools.pricing refresh --region {region}")
    factors = REGION_FACTORS[region]
    if region == BASE_REGION:
        method = f"us-east-1 on-demand list prices as of {AS_OF}"
    elif not factors:
        method = f"us-east-1 on-demand list prices as of {AS_OF} ({region} lists the same rates)"
    else:
        shown = ", ".join(f"{svc} x{f:.3f}" for svc, f in sorted(factors.items()))
        method = (f"us-east-1 on-demand list prices as of {AS_OF}, times approximate {region} ratios "
                  f"({shown}; everything else x1.000)")
    rates = {key: Rate(rate.usd * factors.get(key.split(".", 1)[0], 1.0), rate.unit, rate.source)
             for key, rate in US_EAST_1.items()}
    return PriceBook(region, rates, method)


# --------------------------------------------------------------------------------------------- refreshed tables
#
# `python -m tools.pricing refresh --region R --offers DIR` rebuilds R's table from the AWS Price List bulk JSON files
# (one offer file per service and region, `OFFER_URL`) saved in DIR as <offerCode>.json or <offerCode>/index.json, and
# writes tools/prices/R.json, which `price_book(R)` then reads instead of the factors. Each rate is found by `RULES`:
# the offer, the product family, attributes that must match, and the usage type (without its region prefix, e.g.
# `USE1-` or `EU-`); tiered prices take the first paid tier. Rates no rule finds (KMS, ECR, Route 53, public IPv4 and
# PrivateLink live in offers this refresh does not read; an instance class a region does not sell) are carried over
# from the previous table, each listed under "carried" in the file.

TABLES = Path(__file__).resolve().parent / "prices"
OFFERS = ("AmazonEC2", "AmazonRDS", "AmazonElastiCache", "AmazonECS", "AWSELB", "AmazonMQ", "AWSSecretsManager",
          "AmazonCloudWatch", "AmazonS3")
OFFER_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/current/{region}/index.json"
_REGION_PREFIX = re.compile(r"^[A-Z]{2,4}[0-9]?-(?=[A-Z])")


@dataclass(frozen=True)
class Rule:
    key: str  # the rate's key in the table
    offer: str
    family: str | None  # productFamily, when it narrows the match
    usage: str | None  # the usage type without its region prefix
    attributes: tuple[tuple[str, str], ...] = ()  # attributes that must match exactly
    per: float = 1.0  # the table's unit in the offer's units (10,000 API calls = 10,000 x the per-call price)


def _rules() -> list[Rule]:
    rules = [
        Rule("fargate.x86_64.vcpu", "AmazonECS", None, "Fargate-vCPU-Hours:perCPU"),
        Rule("fargate.x86_64.memory", "AmazonECS", None, "Fargate-GB-Hours"),
        Rule("fargate.arm64.vcpu", "AmazonECS", None, "Fargate-ARM-vCPU-Hours:perCPU"),
        Rule("fargate.arm64.memory", "AmazonECS", None, "Fargate-ARM-GB-Hours"),
        Rule("fargate.ephemeral_storage", "AmazonECS", None, "Fargate-EphemeralStorage-GB-Hours"),
        Rule("rds.gp3.single_az", "AmazonRDS", "Database Storage", "RDS:GP3-Storage", (("databaseEngine", "PostgreSQL"),)),
        Rule("rds.gp3.multi_az", "AmazonRDS", "Database Storage", "RDS:Multi-AZ-GP3-Storage",
             (("databaseEngine", "PostgreSQL"),)),
        Rule("rds.gp2.single_az", "AmazonRDS", "Database Storage", "RDS:GP2-Storage", (("databaseEngine", "PostgreSQL"),)),
        Rule("rds.gp2.multi_az", "AmazonRDS", "Database Storage", "RDS:Multi-AZ-GP2-Storage",
             (("databaseEngine", "PostgreSQL"),)),
        Rule("rds.backup_storage", "AmazonRDS", None, "RDS:ChargedBackupUsage"),
        Rule("mq.rabbitmq.storage", "AmazonMQ", "Broker Storage", None, (("brokerEngine", "RabbitMQ"),)),
        Rule("nat.hour", "AmazonEC2", "NAT Gateway", "NatGateway-Hours"),
        Rule("nat.data", "AmazonEC2", "NAT Gateway", "NatGateway-Bytes"),
        Rule("transfer.internet_out", "AmazonEC2", "Data Transfer", "DataTransfer-Out-Bytes"),
        Rule("transfer.inter_az", "AmazonEC2", "Data Transfer", "DataTransfer-Regional-Bytes", per=2.0),  # each way
        Rule("alb.hour", "AWSELB", "Load Balancer-Application", "LoadBalancerUsage"),
        Rule("alb.lcu", "AWSELB", "Load Balancer-Application", "LCUUsage"),
        Rule("secretsmanager.secret", "AWSSecretsManager", None, "AWSSecretsManager-Secrets"),
        Rule("secretsmanager.api", "AWSSecretsManager", None, "AWSSecretsManager-APIRequest", per=10_000),
        Rule("cloudwatch.alarm", "AmazonCloudWatch", None, "CW:AlarmMonitorUsage"),
        Rule("cloudwatch.dashboard", "AmazonCloudWatch", None, "DashboardsUsageHour"),
        Rule("logs.ingest", "AmazonCloudWatch", None, "DataProcessing-Bytes"),
        Rule("logs.vended_ingest", "AmazonCloudWatch", None, "VendedLog-Bytes"),
        Rule("logs.storage", "AmazonCloudWatch", None, "TimedStorage-ByteHrs"),
        Rule("s3.standard", "AmazonS3", "Storage", "TimedStorage-ByteHrs", (("volumeType", "Standard"),)),
        Rule("s3.put", "AmazonS3", None, "Requests-Tier1", per=1_000),
        Rule("s3.get", "AmazonS3", None, "Requests-Tier2", per=1_000),
    ]
    single = (("deploymentOption", "Single-AZ"),)
    rules += [Rule(f"rds.postgres.{cls}", "AmazonRDS", "Database Instance", None,
                   (("instanceType", cls), ("databaseEngine", "PostgreSQL"), *single)) for cls in _RDS_POSTGRES]
    rules += [Rule(f"elasticache.redis.{node}", "AmazonElastiCache", "Cache Instance", None,
                   (("instanceType", node), ("cacheEngine", "Redis"))) for node in _CACHE_NODES]
    rules += [Rule(f"mq.rabbitmq.{kind}", "AmazonMQ", "Broker Instances", None,
                   (("instanceType", kind), ("brokerEngine", "RabbitMQ"), *single)) for kind in _MQ_RABBITMQ]
    return rules


RULES = _rules()


class OfferError(ValueError):
    pass


def read_offer(folder: Path, offer: str) -> dict | None:
    for path in (folder / f"{offer}.json", folder / offer / "index.json"):
        if path.is_file():
            doc = json.loads(path.read_text())
            if doc.get("offerCode") != offer or "products" not in doc or "terms" not in doc:
                raise OfferError(f"{path}: not an AWS Price List offer file for {offer}")
            return doc
    return None


def _in_region(attributes: dict, region: str) -> bool:
    code = attributes.get("regionCode") or attributes.get("fromRegionCode")
    return code is None or code == region


def _usage(attributes: dict) -> str:
    return _REGION_PREFIX.sub("", str(attributes.get("usagetype", "")))


def _on_demand_usd(doc: dict, sku: str) -> float | None:
    """The SKU's on-demand USD price; of tiered dimensions, the first paid tier (the first 10 TB, the first 50 TB)."""
    dimensions = [d for term in (doc["terms"].get("OnDemand", {}).get(sku) or {}).values()
                  for d in (term.get("priceDimensions") or {}).values()]
    prices = sorted((float(d.get("beginRange") or 0), float(d["pricePerUnit"]["USD"])) for d in dimensions
                    if "USD" in (d.get("pricePerUnit") or {}))
    paid = [usd for _, usd in prices if usd > 0]
    return paid[0] if paid else (prices[0][1] if prices else None)


def find_rate(doc: dict, rule: Rule, region: str) -> float | None:
    found = set()
    for sku, product in doc["products"].items():
        attributes = product.get("attributes") or {}
        if rule.family and product.get("productFamily") != rule.family:
            continue
        if not _in_region(attributes, region) or (rule.usage and _usage(attributes) != rule.usage):
            continue
        if rule.key == "transfer.internet_out" and attributes.get("toLocation", "External") != "External":
            continue
        if any(attributes.get(k) != v for k, v in rule.attributes):
            continue
        usd = _on_demand_usd(doc, sku)
        if usd is not None:
            found.add(round(usd * rule.per, 10))
    if len(found) > 1:
        raise OfferError(f"{rule.offer}: {len(found)} different prices match '{rule.key}' in {region}: {sorted(found)}")
    return found.pop() if found else None


def refresh(offers: Path, region: str, out: Path | None = None, tables: Path | None = None) -> dict:
    """Rebuild `region`'s table from the offer files in `offers`; write it to `out` (default tools/prices/<region>.json)."""
    previous = price_book(region, tables) if (region in REGION_FACTORS or ((tables or TABLES) / f"{region}.json")
                                              .is_file()) else price_book(BASE_REGION, tables)
    docs = {offer: read_offer(offers, offer) for offer in OFFERS}
    missing = [offer for offer, doc in docs.items() if doc is None]
    if len(missing) == len(OFFERS):
        raise OfferError(f"no offer files in {offers} (expected <offerCode>.json for {', '.join(OFFERS)})")
    rates: dict[str, dict] = {}
    carried: list[str] = []
    for rule in RULES:
        doc = docs[rule.offer]
        usd = find_rate(doc, rule, region) if doc is not None else None
        if usd is None:
            continue
        old = US_EAST_1[rule.key]
        rates[rule.key] = {"usd": usd, "unit": old.unit,
                           "source": f"AWS Price List {rule.offer} {doc['version']} ({region})"}  # type: ignore[index]
    for key, rate in previous.rates.items():
        if key not in rates:
            rates[key] = {"usd": rate.usd, "unit": rate.unit, "source": rate.source}
            carried.append(key)
    dates = sorted(str(doc.get("publicationDate", ""))[:10] for doc in docs.values() if doc is not None)
    table = {"region": region, "asOf": dates[-1], "offers": {o: d["version"] for o, d in docs.items() if d},
             "missingOffers": missing, "carried": sorted(carried), "carriedFrom": previous.method,
             "rates": dict(sorted(rates.items()))}
    target = out or (tables or TABLES) / f"{region}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(table, indent=1) + "\n")
    return table


def load_table(path: Path) -> PriceBook:
    doc = json.loads(path.read_text())
    rates = {key: Rate(float(r["usd"]), r["unit"], r["source"]) for key, r in doc["rates"].items()}
    carried = len(doc.get("carried", []))
    method = (f"{doc['region']} on-demand list prices as of {doc['asOf']} (AWS Price List bulk files"
              + (f"; {carried} of {len(rates)} rates carried over" if carried else "") + ")")
    return PriceBook(doc["region"], rates, method)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pricing", description="The price table's upkeep.")
    sub = parser.add_subparsers(dest="command", required=True)
    urls = sub.add_parser("urls", help="print the bulk offer files to download for a region")
    urls.add_argument("--region", default=BASE_REGION)
    rebuild = sub.add_parser("refresh", help="rebuild tools/prices/REGION.json from downloaded offer files")
    rebuild.add_argument("--region", default=BASE_REGION)
    rebuild.add_argument("--offers", type=Path, required=True, help="a folder of <offerCode>.json files")
    rebuild.add_argument("--out", type=Path, help="where to write the table (default: tools/prices/REGION.json)")
    args = parser.parse_args(argv)
    if args.command == "urls":
        for offer in OFFERS:
            print(f"{offer}.json {OFFER_URL.format(offer=offer, region=args.region)}")
        return 0
    try:
        table = refresh(args.offers, args.region, args.out)
    except (OfferError, UnknownRegionError, json.JSONDecodeError) as e:
        print(e, file=sys.stderr)
        return 1
    written = args.out or TABLES / f"{args.region}.json"
    print(f"{written}: {len(table['rates']) - len(table['carried'])} rates from the offer files as of {table['asOf']}, "
          f"{len(table['carried'])} carried over from the previous table (listed under \"carried\")")
    if table["missingOffers"]:
        print(f"offer files not found: {', '.join(table['missingOffers'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
