# Which repositories the gate watches and may act on. Three ways, combinable:
#   - the repositories this module creates (var.repository_names, the design's demo-api);
#   - explicit names of repositories created elsewhere (var.existing_repository_names);
#   - name globs (var.gated_repository_patterns): "team-a/*" (a prefix), "*-prod",
#     or "*" alone for every repository of the account.
# The same selection drives the EventBridge patterns (exact values, `prefix` or
# `wildcard` matching) and the IAM resources (ARNs, with the same `*`).

locals {
  gated_repository_names = sort(distinct(concat(var.repository_names, var.existing_repository_names)))

  gate_all_repositories = contains(var.gated_repository_patterns, "*")

  # A glob with a single trailing `*` is a prefix (cheapest match); any other glob
  # with a `*` is a wildcard; a "glob" without `*` is an exact name.
  gated_name_globs    = [for p in var.gated_repository_patterns : p if strcontains(p, "*") && p != "*"]
  gated_name_prefixes = [for p in local.gated_name_globs : trimsuffix(p, "*") if endswith(p, "*") && length(split("*", p)) == 2]
  gated_name_wildcards = [
    for p in local.gated_name_globs : p if !(endswith(p, "*") && length(split("*", p)) == 2)
  ]
  gated_exact_names = sort(distinct(concat(
    local.gated_repository_names,
    [for p in var.gated_repository_patterns : p if !strcontains(p, "*")],
  )))

  # Every repository selector as an IAM-style glob on the name ("*" = all).
  # GATE_REPOSITORIES is these, comma-separated (lambda.tf).
  gated_repository_globs = local.gate_all_repositories ? ["*"] : distinct(concat(local.gated_exact_names, local.gated_name_globs))

  # ARNs of the gated repositories in this account, in each region the gate
  # serves (IAM resources; local.gate_regions, main.tf). An IAM `*` matches any
  # characters, `/` included, like the EventBridge wildcard.
  repository_arn_prefix = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/"
  gated_repository_arns = flatten([
    for r in local.gate_regions : [for g in local.gated_repository_globs : "arn:${local.partition}:ecr:${r}:${local.account_id}:repository/${g}"]
  ])
  # Every repository of the account in each region the gate serves: the sweep
  # lists them (DescribeRepositories without names) and picks the gated ones.
  all_repository_arns = [for r in local.gate_regions : "arn:${local.partition}:ecr:${r}:${local.account_id}:repository/*"]

  # EventBridge matchers of the repository name: exact strings, then
  # {"prefix": ...}, then {"wildcard": ...}.
  repository_name_matchers = concat(
    local.gated_exact_names,
    [for p in local.gated_name_prefixes : { prefix = p }],
    [for w in local.gated_name_wildcards : { wildcard = w }],
  )

  # The same on the repository ARN (`resources` of Inspector2 Scan), in two
  # forms. On this account's default bus only this account's and region's
  # events arrive: its ARNs. On the hub bus (members.tf) arrive the events that
  # member accounts, and this account's other regions, forward: any account and
  # region. (Each list is built on its own: a conditional between a list of
  # strings and a list of objects is a type error.)
  repository_arn_exact = local.gate_all_repositories ? [] : [
    for n in local.gated_exact_names : "${local.repository_arn_prefix}${n}"
  ]
  repository_arn_prefixes = local.gate_all_repositories ? ["arn:${local.partition}:ecr:"] : [
    for p in local.gated_name_prefixes : "${local.repository_arn_prefix}${p}"
  ]
  repository_arn_wildcards = local.gate_all_repositories ? [] : [
    for w in local.gated_name_wildcards : "${local.repository_arn_prefix}${w}"
  ]
  repository_arn_matchers = concat(
    local.repository_arn_exact,
    [for p in local.repository_arn_prefixes : { prefix = p }],
    [for w in local.repository_arn_wildcards : { wildcard = w }],
  )

  forwarded_repository_arn_matchers = concat(
    [for p in(local.gate_all_repositories ? ["arn:${local.partition}:ecr:"] : []) : { prefix = p }],
    [for g in(local.gate_all_repositories ? [] : local.gated_repository_globs) : { wildcard = "arn:${local.partition}:ecr:*:*:repository/${g}" }],
  )
}
