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

from dataclasses import dataclass

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


def price_book(region: str = BASE_REGION) -> PriceBook:
    if region not in REGION_FACTORS:
        known = ", ".join(sorted(REGION_FACTORS))
        raise UnknownRegionError(f"no prices for region '{region}' (known: {known}); add its factors to tools/pricing.py")
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
