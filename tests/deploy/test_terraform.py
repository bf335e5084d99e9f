"""deploy/terraform checked offline: `terraform fmt`, checkov, and its properties read with hcl2.

`terraform validate` needs the AWS provider, which cannot be downloaded here; these tests
assert what the issue and CONTRACT §1/§9 require of the configuration instead.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bidserver.config import DEFAULTS
from bidserver.media import s3 as media_s3
from tests.deploy.hcl import Module, block, load
from tests.deploy.tools import REPO, output, run, tool

TERRAFORM = REPO / "deploy" / "terraform"
MODULES = TERRAFORM / "modules"
ROOTS = ("staging", "production")
DRAIN_S = 30  # CONTRACT §1: SIGTERM drains and exits within 30 s


@functools.cache
def module(name: str) -> Module:
    return load(MODULES / name)


def test_terraform_fmt_is_clean() -> None:
    terraform = tool("terraform", ".ci/setup-iac-tools (or the machine's terraform)")
    with tempfile.NamedTemporaryFile("w", suffix=".tfrc") as config:
        os.environ.setdefault("CHECKPOINT_DISABLE", "1")
        os.environ["TF_CLI_CONFIG_FILE"] = config.name
        done = run(terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM))
    assert done.returncode == 0, output(done)


def test_checkov_passes_and_every_skip_says_why() -> None:
    checkov = tool("checkov", ".ci/setup-iac-tools")
    done = run(
        checkov, "-d", str(TERRAFORM), "--framework", "terraform", "--quiet", "--compact",
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, output(done)
    for folder in [MODULES / m for m in os.listdir(MODULES)] + [TERRAFORM / r for r in ROOTS]:
        for skip in load(folder).comments:
            check, _, reason = skip.partition(":")
            assert re.fullmatch(r"CKV2?_AWS_\d+", check), skip
            assert len(reason.split()) >= 5, f"{folder.name}: skip without a reason: {skip}"


def test_waf_rate_rule_is_2000_per_5_minutes_per_ip_on_the_alb() -> None:
    waf = module("waf")
    acl = waf.one("aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL"
    rate = next(r for r in acl["rule"] if r["name"] == "rate-per-ip")
    statement = block(rate, "statement", "rate_based_statement")
    assert (statement["limit"], statement["evaluation_window_sec"]) == (2000, 300)
    assert statement["aggregate_key_type"] == "IP"
    assert "block" in block(rate, "action")
    managed = waf.locals["managed_rule_groups"]
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= set(managed)
    association = waf.one("aws_wafv2_web_acl_association", "alb")
    assert association["resource_arn"] == "${var.alb_arn}"


def test_everything_at_rest_is_encrypted() -> None:
    rds = module("rds")
    for name in ("this", "replica"):
        db = rds.one("aws_db_instance", name)
        assert db["storage_encrypted"] is True
        assert db["kms_key_id"] == "${var.kms_key_arn}"
        assert db["performance_insights_kms_key_id"] == "${var.kms_key_arn}"
    redis = module("redis").one("aws_elasticache_replication_group")
    assert redis["at_rest_encryption_enabled"] is True
    assert redis["transit_encryption_enabled"] is True
    assert redis["auth_token"] == "${var.auth_token}"
    for name in os.listdir(MODULES):
        mod = module(name)
        buckets = mod.of_type("aws_s3_bucket")
        encrypted = mod.of_type("aws_s3_bucket_server_side_encryption_configuration")
        assert set(buckets) == set(encrypted), f"{name}: a bucket without encryption"
        for log_group, body in mod.of_type("aws_cloudwatch_log_group").items():
            assert body.get("kms_key_id") == "${var.kms_key_arn}", f"{name}.{log_group}"
        for secret, body in mod.of_type("aws_secretsmanager_secret").items():
            assert body.get("kms_key_id"), f"{name}.{secret}"
        for topic, body in mod.of_type("aws_sns_topic").items():
            assert body.get("kms_master_key_id"), f"{name}.{topic}"
    assert module("secrets").one("aws_kms_key")["enable_key_rotation"] is True


def test_in_transit_only_https_reaches_the_outside() -> None:
    alb = module("alb")
    https = alb.one("aws_lb_listener", "https")
    assert https["protocol"] == "HTTPS"
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    http = alb.one("aws_lb_listener", "http")
    assert block(http, "default_action")["type"] == "redirect"
    assert block(http, "default_action", "redirect")["protocol"] == "HTTPS"
    photos = module("photos").one("aws_cloudfront_distribution", "photos")
    assert block(photos, "default_cache_behavior")["viewer_protocol_policy"] == "redirect-to-https"


def _ingress_only_from_tasks(mod: Module) -> None:
    rules = mod.of_type("aws_vpc_security_group_ingress_rule")
    assert rules, "no ingress rule"
    for rule in rules.values():
        assert "cidr_ipv4" not in rule
        assert rule["referenced_security_group_id"] == "${var.tasks_security_group_id}"


def test_no_database_is_public() -> None:
    rds = module("rds")
    for db in rds.of_type("aws_db_instance").values():
        assert db["publicly_accessible"] is False
    _ingress_only_from_tasks(rds)
    _ingress_only_from_tasks(module("redis"))
    for root in ROOTS:
        mods = load(TERRAFORM / root).modules
        assert mods["rds"]["data_subnet_ids"] == "${module.network.data_subnet_ids}"
        assert mods["redis"]["data_subnet_ids"] == "${module.network.data_subnet_ids}"
    # The data subnets have no route out at all.
    network = module("network")
    assert "route" not in network.one("aws_route_table", "data")
    subnets = network.of_type("aws_subnet")
    assert all("map_public_ip_on_launch" not in s for s in subnets.values())


def test_postgres_16_multi_az_with_7_day_pitr_and_performance_insights() -> None:
    db = module("rds").one("aws_db_instance")
    assert str(db["engine_version"]).startswith("16")
    assert db["multi_az"] is True
    assert db["backup_retention_period"] == 7
    assert db["performance_insights_enabled"] is True
    assert db["deletion_protection"] == "${var.deletion_protection}"
    params = {
        p["name"]: p["value"] for p in module("rds").one("aws_db_parameter_group")["parameter"]
    }
    assert params["rds.force_ssl"] == "1"
    assert load(TERRAFORM / "production").locals["deletion_protection"] is True
    redis = module("redis").one("aws_elasticache_replication_group")
    assert str(redis["engine_version"]).startswith("7")
    assert redis["multi_az_enabled"] is True
    assert redis["automatic_failover_enabled"] is True


def test_health_checks_ask_ready() -> None:
    alb = module("alb")
    assert block(alb.one("aws_lb_target_group"), "health_check")["path"] == "/ready"
    ecs = module("ecs")
    assert '["CMD", "python", "-m", "bidserver.healthcheck"]' in ecs.text
    assert "/ready" in (REPO / "bidserver" / "healthcheck.py").read_text()


def test_drain_times_fit_the_30_second_drain() -> None:
    alb = module("alb")
    assert alb.locals["drain_seconds"] == DRAIN_S
    assert alb.one("aws_lb_target_group")["deregistration_delay"] == DRAIN_S
    stop_timeout = module("ecs").locals["stop_timeout"]
    # ECS waits stopTimeout after SIGTERM before SIGKILL: more than the drain, within
    # Fargate's maximum of 120 s.
    assert DRAIN_S < stop_timeout <= 120
    assert "stopTimeout            = local.stop_timeout" in module("ecs").text
    # The balancer's idle timeout outlives the node's 20 s WebSocket pings.
    assert alb.one("aws_lb")["idle_timeout"] >= 60
    assert "STOPSIGNAL SIGTERM" in (REPO / "Dockerfile").read_text()


def test_the_read_only_task_writes_only_where_the_image_lets_its_user() -> None:
    ecs = module("ecs").text
    assert "readonlyRootFilesystem = true" in ecs
    assert 'containerPath = "/var/lib/bidserver"' in ecs
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'VOLUME ["/var/lib/bidserver"]' in dockerfile
    assert "TMPDIR=/var/lib/bidserver/tmp" in dockerfile


def _policy(path: Path, resource: str) -> str:
    text = path.read_text()
    start = text.index(f'resource "aws_iam_role_policy" "{resource}"')
    end = text.find("\nresource ", start + 1)
    return text[start : end if end > 0 else len(text)]


# The S3 client calls of bidserver/media/s3.py and the IAM action each needs. A call added
# there without a row here fails the test below, so the task role follows the code.
_S3_CALLS = {
    "put_object": "s3:PutObject",
    "get_object": "s3:GetObject",
    "delete_object": "s3:DeleteObject",
}


def test_the_task_role_may_do_in_s3_exactly_what_the_photo_adapter_does() -> None:
    calls = set(re.findall(r"\bs3\.(\w+)\(", inspect.getsource(media_s3)))
    assert calls, "no S3 call found in bidserver/media/s3.py"
    assert {_S3_CALLS[call] for call in calls} | {"s3:ListBucket"} == media_s3.IAM_ACTIONS
    task = _policy(MODULES / "ecs" / "iam.tf", "task")
    assert set(re.findall(r'"(s3:[A-Za-z*]+)"', task)) == media_s3.IAM_ACTIONS
    # Objects for the object actions, the bucket itself only for ListBucket; KMS via S3 only.
    assert '"s3:PutObject", "s3:GetObject", "s3:DeleteObject"]' in task
    assert 'Resource = "${var.media_bucket_arn}/*"' in task
    assert 'Action = "s3:ListBucket", Resource = var.media_bucket_arn }' in task
    assert '"kms:ViaService" = "s3.${var.region}.amazonaws.com"' in task
    assert "kms:Encrypt" not in task


def test_the_task_environment_names_only_real_settings() -> None:
    ecs = module("ecs").text
    named = set(re.findall(r"\b(BIDSERVER_[A-Z_]+)\s*=", ecs))
    assert {"BIDSERVER_MEDIA_BUCKET", "BIDSERVER_MEDIA_URL"} <= named
    assert named - set(DEFAULTS) == set(), "not settings of bidserver/config.py"
    assert "AWS_DEFAULT_REGION" in ecs  # the region the S3 adapter's SDK reads


def _service() -> dict[str, Any]:
    return module("ecs").one("aws_ecs_service")


def test_blue_green_with_test_listener_bake_time_and_rollback() -> None:
    service = _service()
    assert block(service, "deployment_configuration")["strategy"] == "BLUE_GREEN"
    breaker = block(service, "deployment_circuit_breaker")
    assert (breaker["enable"], breaker["rollback"]) == (True, True)
    alarms = block(service, "alarms")
    assert (alarms["enable"], alarms["rollback"]) == (True, True)
    balancer = block(service["dynamic"][0], "load_balancer")
    assert balancer["for_each"] == {"ws": "${local.ports.ws}", "rest": "${local.ports.rest}"}
    advanced = block(balancer, "content", "advanced_configuration")
    assert set(advanced) == {
        "alternate_target_group_arn",
        "production_listener_rule",
        "test_listener_rule",
        "role_arn",
    }
    assert module("alb").one("aws_lb_listener", "https")["for_each"] == {
        "production": 443,
        "test": 8443,
    }
    for root in ROOTS:
        mods = load(TERRAFORM / root).modules
        assert "alb-5xx" in mods["ecs"]["rollback_alarm_names"]
        assert isinstance(load(TERRAFORM / root).locals["bake_time_minutes"], int)


def test_tasks_cluster_port_is_open_only_between_tasks() -> None:
    ecs = module("ecs")
    cluster = ecs.one("aws_vpc_security_group_ingress_rule", "cluster")
    assert cluster["referenced_security_group_id"] == "${aws_security_group.tasks.id}"
    assert cluster["from_port"] == cluster["to_port"] == "${local.ports.cluster}"
    assert ecs.locals["ports"]["cluster"] == 8766
    from_alb = ecs.one("aws_vpc_security_group_ingress_rule", "from_alb")
    assert from_alb["referenced_security_group_id"] == "${var.alb_security_group_id}"
    assert "cidr_ipv4" not in from_alb


def test_task_settings_and_secrets_follow_the_contract() -> None:
    ecs = module("ecs")
    env = ecs.locals["environment"]
    for name in ("BIDSERVER_HOST", "BIDSERVER_CLUSTER_PORT", "BIDSERVER_LEASE_MS"):
        assert name in ecs.text
    assert "BIDSERVER_TRUSTED_PROXIES" in ecs.text
    assert isinstance(env, str)  # a merge() expression: checked by text above
    secrets = module("secrets").locals["values"]
    assert set(secrets) == {
        "BIDSERVER_JWT_SECRET",
        "BIDSERVER_CLUSTER_SECRET",
        "BIDSERVER_DATABASE_URL",
        "BIDSERVER_REDIS_URL",
    }
    assert "rediss://" in secrets["BIDSERVER_REDIS_URL"]
    assert "sslmode=require" in secrets["BIDSERVER_DATABASE_URL"]
    cluster = ecs.one("aws_ecs_cluster")
    assert block(cluster, "setting") == {"name": "containerInsights", "value": "enhanced"}
    policies = ecs.of_type("aws_appautoscaling_policy")
    assert set(policies) == {"cpu", "connections"}


@pytest.mark.parametrize("root", ROOTS)
def test_each_root_deploys_by_digest_and_wires_every_module(root: str) -> None:
    mod = load(TERRAFORM / root)
    assert set(mod.modules) == {
        "secrets", "network", "alb", "waf", "photos", "rds", "redis", "ecs", "monitoring",
    }  # fmt: skip
    assert "@sha256:[0-9a-f]{64}$" in mod.text
    for name, call in mod.modules.items():
        assert (TERRAFORM / root / call["source"]).resolve() == MODULES / name


def test_alarms_cover_what_the_issue_lists() -> None:
    mon = module("monitoring")
    alarms = mon.locals["alarms"]
    metrics = {a["metric"] for a in alarms.values()}
    assert {
        "HTTPCode_Target_5XX_Count",
        "TargetResponseTime",
        "CPUUtilization",
        "FreeStorageSpace",
        "DatabaseMemoryUsagePercentage",
        "bidserver_persist_fenced_total",
    } <= metrics
    assert alarms["alb-p99-latency"]["stat"] == "p99"
    assert mon.one("aws_cloudwatch_metric_alarm", "replica_lag")["metric_name"] == "ReplicaLag"
    assert (
        mon.one("aws_cloudwatch_metric_alarm", "unhealthy")["metric_name"] == "UnHealthyHostCount"
    )
    assert mon.of_type("aws_cloudwatch_dashboard")
