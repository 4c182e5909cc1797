# The registry's scanning configuration, only when registry_scan_type is set:
# one per account and region, so managing it here replaces what is there. One
# rule over the gated repositories (the same globs; "*" for all). The design's
# repositories also scan on push by themselves (ecr.tf), which is all the
# design asks; this is for gating repositories that do not.

resource "aws_ecr_registry_scanning_configuration" "this" {
  count = var.registry_scan_type == null ? 0 : 1

  scan_type = var.registry_scan_type

  rule {
    # BASIC supports SCAN_ON_PUSH only; continuous scanning is Inspector's.
    scan_frequency = var.registry_scan_type == "BASIC" ? "SCAN_ON_PUSH" : var.registry_scan_frequency

    dynamic "repository_filter" {
      for_each = local.gated_repository_globs

      content {
        filter      = repository_filter.value
        filter_type = "WILDCARD"
      }
    }
  }
}
