terraform {
  required_version = ">= 1.11.0"

  required_providers {
    datadog = {
      source  = "DataDog/datadog"
      version = ">= 3.40"
    }
  }
}

# Credentials from DD_API_KEY / DD_APP_KEY (and DD_HOST for another site).
provider "datadog" {}
