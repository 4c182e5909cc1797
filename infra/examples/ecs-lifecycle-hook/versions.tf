terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The module's range. A service that names the hook in Terraform itself
      # (aws_ecs_service deployment_configuration, README.md) needs >= 6.4.
      version = ">= 5.100, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = "ecr-scan-gate"
      ManagedBy = "terraform"
    }
  }
}
