terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}

# One provider per account and region. Each assumes a deployment role in its
# account (create these roles first, or use profiles instead of assume_role).
provider "aws" {
  alias  = "hub"
  region = var.hub_region

  assume_role {
    role_arn = "arn:aws:iam::${var.hub_account_id}:role/${var.deployment_role_name}"
  }
}

provider "aws" {
  alias  = "member_a"
  region = var.member_a_region

  assume_role {
    role_arn = "arn:aws:iam::${var.member_a_account_id}:role/${var.deployment_role_name}"
  }
}

provider "aws" {
  alias  = "member_b"
  region = var.member_b_region

  assume_role {
    role_arn = "arn:aws:iam::${var.member_b_account_id}:role/${var.deployment_role_name}"
  }
}
