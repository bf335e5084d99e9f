# bidserver in staging: the root module of one environment, over deploy/terraform/modules.
# The production root is the same file with larger sizes (see `locals`); keep them in step.
#
#   terraform init -backend-config=backend.hcl   # the state bucket (RUNBOOK.md, "first apply")
#   terraform apply -var image=ACCOUNT.dkr.ecr.REGION.amazonaws.com/bidserver@sha256:…

locals {
  environment         = "staging"
  name                = "bidserver-${local.environment}"
  nat_gateways        = 1
  deletion_protection = false
  task_cpu            = 1024
  task_memory         = 2048
  min_tasks           = 2
  max_tasks           = 4
  db_instance_class   = "db.t4g.medium"
  db_storage_gb       = 20
  db_read_replica     = false
  redis_node_type     = "cache.t4g.small"
  bake_time_minutes   = 2
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "bidserver", Environment = local.environment, ManagedBy = "terraform" }
  }
}

provider "aws" {
  alias  = "us_east_1" # CloudFront's certificates live there
  region = "us-east-1"
}

module "secrets" {
  source        = "../modules/secrets"
  name          = local.name
  region        = var.region
  database_host = module.rds.address
  redis_host    = module.redis.primary_endpoint
}

module "network" {
  source       = "../modules/network"
  name         = local.name
  region       = var.region
  nat_gateways = local.nat_gateways
  kms_key_arn  = module.secrets.kms_key_arn
}

module "alb" {
  source              = "../modules/alb"
  name                = local.name
  vpc_id              = module.network.vpc_id
  vpc_cidr            = module.network.vpc_cidr
  public_subnet_ids   = module.network.public_subnet_ids
  certificate_arn     = var.certificate_arn
  test_cidrs          = var.test_cidrs
  deletion_protection = local.deletion_protection
}

module "waf" {
  source      = "../modules/waf"
  name        = local.name
  alb_arn     = module.alb.arn
  kms_key_arn = module.secrets.kms_key_arn
}

module "photos" {
  source                    = "../modules/photos"
  name                      = local.name
  kms_key_arn               = module.secrets.kms_key_arn
  log_bucket                = module.alb.log_bucket
  domain_name               = var.photos_domain_name
  certificate_arn_us_east_1 = var.photos_certificate_arn_us_east_1
  deletion_protection       = local.deletion_protection
}

module "rds" {
  source                  = "../modules/rds"
  name                    = local.name
  vpc_id                  = module.network.vpc_id
  data_subnet_ids         = module.network.data_subnet_ids
  tasks_security_group_id = module.ecs.tasks_security_group_id
  instance_class          = local.db_instance_class
  storage_gb              = local.db_storage_gb
  password                = module.secrets.database_password
  deletion_protection     = local.deletion_protection
  read_replica            = local.db_read_replica
  kms_key_arn             = module.secrets.kms_key_arn
}

module "redis" {
  source                  = "../modules/redis"
  name                    = local.name
  vpc_id                  = module.network.vpc_id
  data_subnet_ids         = module.network.data_subnet_ids
  tasks_security_group_id = module.ecs.tasks_security_group_id
  node_type               = local.redis_node_type
  auth_token              = module.secrets.redis_auth_token
  kms_key_arn             = module.secrets.kms_key_arn
}

module "ecs" {
  source                = "../modules/ecs"
  name                  = local.name
  region                = var.region
  image                 = var.image
  cpu                   = local.task_cpu
  memory                = local.task_memory
  min_tasks             = local.min_tasks
  max_tasks             = local.max_tasks
  bake_time_minutes     = local.bake_time_minutes
  vpc_id                = module.network.vpc_id
  vpc_cidr              = module.network.vpc_cidr
  app_subnet_ids        = module.network.app_subnet_ids
  alb_security_group_id = module.alb.security_group_id
  target_group_arns     = module.alb.target_group_arns
  listener_rule_arns    = module.alb.listener_rule_arns
  secret_arns           = module.secrets.secret_arns
  allowed_origins       = ["https://${var.domain_name}"]
  media_bucket          = module.photos.bucket
  media_bucket_arn      = module.photos.bucket_arn
  media_url             = module.photos.url
  kms_key_arn           = module.secrets.kms_key_arn
  # Named, not referenced: the alarms watch the service, and the service rolls back on them.
  rollback_alarm_names = [for alarm in ["alb-5xx", "alb-p99-latency", "unhealthy-ws-green", "unhealthy-rest-green"] : "${local.name}-${alarm}"]
}

module "monitoring" {
  source                     = "../modules/monitoring"
  name                       = local.name
  region                     = var.region
  kms_key_arn                = module.secrets.kms_key_arn
  alarm_emails               = var.alarm_emails
  alb_arn_suffix             = module.alb.arn_suffix
  target_group_arn_suffixes  = module.alb.target_group_arn_suffixes
  ecs_cluster_name           = module.ecs.cluster_name
  ecs_service_name           = module.ecs.service_name
  db_identifier              = module.rds.identifier
  db_replica_identifier      = module.rds.replica_identifier
  redis_replication_group_id = module.redis.replication_group_id
}
