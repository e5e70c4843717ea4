"""`python -m tools.pricing refresh` on a small trimmed fixture of the AWS Price List bulk offer format
(tests/fixtures/price-list: the nine offers, a handful of eu-central-1 products each, with the traps real files hold:
other regions, reserved terms, other engines and deployment options, tiered prices)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT, Graph
from tests.test_aws_variants import shared
from tools import cost, pricing

FIXTURE = ROOT / "tests" / "fixtures" / "price-list"
H = 730


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prices")
    run = subprocess.run([sys.executable, "-m", "tools.pricing", "refresh", "--region", "eu-central-1", "--offers",
                          str(FIXTURE), "--out", str(out / "eu-central-1.json")], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "as of 2026-11-20" in run.stdout
    return out


def test_the_fixture_is_the_bulk_offer_format() -> None:
    for offer in pricing.OFFERS:
        doc = json.loads((FIXTURE / f"{offer}.json").read_text())
        assert {"formatVersion", "disclaimer", "offerCode", "version", "publicationDate", "products", "terms"} <= set(doc)
        assert doc["offerCode"] == offer
        for sku, product in doc["products"].items():
            assert product["sku"] == sku and "productFamily" in product and "usagetype" in product["attributes"]
            [term] = doc["terms"]["OnDemand"][sku].values()
            for dimension in term["priceDimensions"].values():
                assert set(dimension) >= {"rateCode", "unit", "pricePerUnit", "beginRange", "endRange"}


def test_refresh_reads_each_rate_from_its_offer(table: Path) -> None:
    book = pricing.price_book("eu-central-1", tables=table)
    rates = {key: rate.usd for key, rate in book.rates.items()}
    assert rates["fargate.arm64.vcpu"] == 0.03725 and rates["fargate.x86_64.vcpu"] == 0.04656  # not us-east-1's
    assert rates["rds.postgres.db.t4g.micro"] == 0.019  # PostgreSQL, Single-AZ, on demand: not MySQL, Multi-AZ, reserved
    assert rates["rds.gp3.multi_az"] == 0.274
    assert rates["elasticache.redis.cache.t4g.micro"] == 0.018  # Redis, not Valkey
    assert rates["mq.rabbitmq.mq.m5.large"] == 0.317 and rates["mq.rabbitmq.storage"] == 0.11
    assert rates["nat.hour"] == rates["nat.data"] == 0.052
    assert rates["alb.hour"] == 0.027  # the application load balancer, not the network one
    assert rates["transfer.internet_out"] == 0.09  # the first paid tier
    assert rates["transfer.inter_az"] == 0.02  # 0.01 each way
    assert rates["secretsmanager.api"] == pytest.approx(0.05)  # per 10,000 calls
    assert rates["s3.standard"] == 0.0245 and rates["s3.put"] == pytest.approx(0.0054)
    assert rates["logs.ingest"] == 0.63 and rates["logs.storage"] == 0.0324
    doc = json.loads((table / "eu-central-1.json").read_text())
    # what the nine offers do not hold is carried over from the previous table, and listed as such
    assert {"kms.key", "ecr.storage", "route53.zone", "ipv4.public", "vpce.interface"} <= set(doc["carried"])
    assert rates["kms.key"] == pricing.US_EAST_1["kms.key"].usd
    assert "rds.postgres.db.t4g.micro" not in doc["carried"]
    assert book.method.startswith("eu-central-1 on-demand list prices as of 2026-11-20 (AWS Price List bulk files")


def test_a_refreshed_region_prices_a_stack_by_hand_calculation(table: Path) -> None:
    staging: Graph = shared("staging")
    est = cost.estimate(staging, "eu-central-1", pricing.price_book("eu-central-1", tables=table))
    lines = {line.item: line.monthly for line in est.lines}
    assert round(lines["NAT gateway"], 2) == round(0.052 * H, 2) == 37.96
    assert round(lines["RDS PostgreSQL db.t4g.micro, single-AZ"], 2) == round(0.019 * H, 2) == 13.87
    assert round(lines["Application Load Balancer"], 2) == round(0.027 * H, 2) == 19.71
    assert est.region == "eu-central-1" and "2026-11-20" in est.method
    with pytest.raises(pricing.UnknownRegionError, match="refresh --region eu-central-1"):
        pricing.price_book("eu-central-1")  # no table in tools/prices: a refresh away


def test_refresh_refuses_what_is_not_an_offer_file(tmp_path: Path) -> None:
    (tmp_path / "AmazonEC2.json").write_text(json.dumps({"offerCode": "AmazonS3", "products": {}, "terms": {}}))
    with pytest.raises(pricing.OfferError, match="not an AWS Price List offer file"):
        pricing.refresh(tmp_path, "eu-central-1", tmp_path / "out.json")
    with pytest.raises(pricing.OfferError, match="no offer files"):
        pricing.refresh(tmp_path / "empty", "eu-central-1", tmp_path / "out.json")


def test_two_prices_for_one_rate_are_an_error_not_a_guess(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "offers")
    path = tmp_path / "offers" / "AWSELB.json"
    doc = json.loads(path.read_text())
    sku = next(s for s, p in doc["products"].items() if p["attributes"]["usagetype"].endswith("-LoadBalancerUsage")
               and p["productFamily"] == "Load Balancer-Application")
    doc["products"]["COPY"] = {**doc["products"][sku], "sku": "COPY"}
    term = json.loads(json.dumps(doc["terms"]["OnDemand"][sku]).replace(sku, "COPY").replace("0.0270000000", "0.03"))
    doc["terms"]["OnDemand"]["COPY"] = term
    path.write_text(json.dumps(doc))
    with pytest.raises(pricing.OfferError, match=r"2 different prices match 'alb\.hour'"):
        pricing.refresh(tmp_path / "offers", "eu-central-1", tmp_path / "out.json")
