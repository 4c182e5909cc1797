# Plans of the root module for issue 21, with mocked AWS as in
# defaults.tftest.hcl: team exception documents (exceptions_parameter_path:
# the environment variable, the GetParametersByPath grant on that path only,
# the paths refused) and the size of the policy parameter (Standard up to 4096
# bytes as stored, Advanced above, refused above 8192), and the OpenVEX
# documents the policy names as parameters (GetParameter on each).
# modules/team-exceptions is planned in examples.tftest.hcl.

mock_provider "aws" {
  source = "./tests/mocks/hub"
  # The mock cannot render a policy; the tests read the statements instead.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"}}]}" }
  }
}

variables {
  lambda_zip_path = "tests/fixtures/bootstrap.zip"
}

# --- team exception documents ------------------------------------------------------

run "exceptions_off_by_default" {
  command = plan

  assert {
    condition     = !contains(keys(aws_lambda_function.gate.environment[0].variables), "EXCEPTIONS_PARAMETER_PATH")
    error_message = "no EXCEPTIONS_PARAMETER_PATH without exceptions_parameter_path"
  }

  assert {
    condition = (
      length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "ssm:GetParametersByPath")]) == 0 &&
      length([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadTeamExceptions"]) == 0
    )
    error_message = "no ssm:GetParametersByPath without exceptions_parameter_path"
  }

  assert {
    condition     = output.exceptions_parameter_path == null
    error_message = "output exceptions_parameter_path is null when off"
  }
}

run "exceptions_path_set" {
  command = plan

  variables {
    exceptions_parameter_path = "/ecr-scan-gate/exceptions/"
  }

  override_resource {
    target          = aws_ssm_parameter.gate_policy
    override_during = plan
    values = {
      arn = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"
    }
  }

  assert {
    condition     = aws_lambda_function.gate.environment[0].variables["EXCEPTIONS_PARAMETER_PATH"] == "/ecr-scan-gate/exceptions/"
    error_message = "EXCEPTIONS_PARAMETER_PATH must be the path as given, both slashes kept"
  }

  # The path itself (as the request names it, with or without its trailing
  # slash) and what is under it: nothing else, no sibling sharing the prefix.
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadTeamExceptions"]).effect == "Allow" &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadTeamExceptions"]).actions == toset(["ssm:GetParametersByPath"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadTeamExceptions"]).resources == toset([
        "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/exceptions",
        "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/exceptions/*",
      ])
    )
    error_message = "ssm:GetParametersByPath on the exceptions path and under it only"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "ssm:GetParametersByPath")]) == 1
    error_message = "ssm:GetParametersByPath is granted by SsmReadTeamExceptions alone"
  }

  # The other SSM read is unchanged: GetParameter on the policy alone, nothing
  # under the path.
  assert {
    condition = (
      length([for s in data.aws_iam_policy_document.gate.statement : s if length([for a in s.actions : a if startswith(a, "ssm:")]) > 0]) == 2 &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadParameters"]).actions == toset(["ssm:GetParameter"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadParameters"]).resources == toset(["arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"])
    )
    error_message = "SSM: GetParameter on the policy and GetParametersByPath on the path, nothing else"
  }

  # Decision: no KMS grant of its own (aws/ssm needs none; the module's key is
  # covered by KmsDecryptParameters, through SSM).
  assert {
    condition     = toset([for s in data.aws_iam_policy_document.gate.statement : s.sid if length([for a in s.actions : a if startswith(a, "kms:")]) > 0]) == toset(["KmsDecryptParameters", "KmsUseModuleKey"])
    error_message = "the exceptions path adds no KMS statement"
  }

  assert {
    condition     = output.exceptions_parameter_path == "/ecr-scan-gate/exceptions/"
    error_message = "output exceptions_parameter_path"
  }
}

# Another name, another partition of names: the grant follows the variable, the
# gate's own parameters stay apart.
run "exceptions_path_custom" {
  command = plan

  variables {
    name                       = "gate"
    gate_policy_parameter_name = "/platform/gate/policy"
    exceptions_parameter_path  = "/platform/gate/team-exceptions/"
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadTeamExceptions"]).resources == toset([
        "arn:aws:ssm:ap-northeast-1:123456789012:parameter/platform/gate/team-exceptions",
        "arn:aws:ssm:ap-northeast-1:123456789012:parameter/platform/gate/team-exceptions/*",
      ]) &&
      aws_lambda_function.gate.environment[0].variables["EXCEPTIONS_PARAMETER_PATH"] == "/platform/gate/team-exceptions/"
    )
    error_message = "the grant and the environment follow exceptions_parameter_path"
  }
}

run "exceptions_path_without_trailing_slash" {
  command = plan

  variables {
    exceptions_parameter_path = "/ecr-scan-gate/exceptions"
  }

  expect_failures = [var.exceptions_parameter_path]
}

run "exceptions_path_without_leading_slash" {
  command = plan

  variables {
    exceptions_parameter_path = "ecr-scan-gate/exceptions/"
  }

  expect_failures = [var.exceptions_parameter_path]
}

# "/" would be every parameter of the account and region.
run "exceptions_path_root" {
  command = plan

  variables {
    exceptions_parameter_path = "/"
  }

  expect_failures = [var.exceptions_parameter_path]
}

run "exceptions_path_with_a_wildcard" {
  command = plan

  variables {
    exceptions_parameter_path = "/ecr-scan-gate/*/"
  }

  expect_failures = [var.exceptions_parameter_path]
}

# /ecr-scan-gate/ holds /ecr-scan-gate/policy (and the Slack webhook URL).
run "exceptions_path_holding_the_gate_parameters" {
  command = plan

  variables {
    exceptions_parameter_path = "/ecr-scan-gate/"
  }

  expect_failures = [var.exceptions_parameter_path]
}

run "exceptions_path_reserved_prefix" {
  command = plan

  variables {
    exceptions_parameter_path = "/aws/exceptions/"
  }

  expect_failures = [var.exceptions_parameter_path]
}

# --- the policy parameter's tier ------------------------------------------------------

run "policy_tier_standard_by_default" {
  command = plan

  assert {
    condition     = aws_ssm_parameter.gate_policy.tier == "Standard" && output.gate_policy_parameter_tier == "Standard"
    error_message = "the default policy is a Standard parameter"
  }
}

# 4096 bytes exactly: still Standard.
run "policy_tier_standard_at_4096_bytes" {
  command = plan

  variables {
    gate_policy = { fail = { CRITICAL = 1 }, allowlist = [{ id = "CVE-2024-0001", reason = format("%04024d", 0) }] }
  }

  assert {
    condition     = length(aws_ssm_parameter.gate_policy.value) == 4096 && aws_ssm_parameter.gate_policy.tier == "Standard"
    error_message = "a 4096-byte policy is Standard"
  }
}

run "policy_tier_advanced_at_4097_bytes" {
  command = plan

  variables {
    gate_policy = { fail = { CRITICAL = 1 }, allowlist = [{ id = "CVE-2024-0001", reason = format("%04025d", 0) }] }
  }

  assert {
    condition     = length(aws_ssm_parameter.gate_policy.value) == 4097 && aws_ssm_parameter.gate_policy.tier == "Advanced"
    error_message = "a 4097-byte policy is Advanced"
  }
}

# The brief's case: a gate_policy_json of 5000 characters.
run "policy_tier_advanced_for_5000_characters_of_json" {
  command = plan

  variables {
    gate_policy_json = jsonencode({ fail = { CRITICAL = 1 }, allowlist = [{ id = "CVE-2024-0001", reason = format("%04928d", 0) }] })
  }

  assert {
    condition = (
      length(var.gate_policy_json) == 5000 &&
      aws_ssm_parameter.gate_policy.tier == "Advanced" &&
      output.gate_policy_parameter_tier == "Advanced" &&
      jsondecode(aws_ssm_parameter.gate_policy.value).fail == { CRITICAL = 1 }
    )
    error_message = "a 5000-character policy is stored whole in an Advanced parameter"
  }
}

# Bytes, not characters: 1400 characters of three bytes each are 4200 bytes.
run "policy_tier_counts_bytes" {
  command = plan

  variables {
    gate_policy = { fail = { CRITICAL = 1 }, allowlist = [{ id = "CVE-2024-0001", reason = replace(format("%01400d", 0), "0", "脆") }] }
  }

  assert {
    condition     = length(aws_ssm_parameter.gate_policy.value) < 4096 && aws_ssm_parameter.gate_policy.tier == "Advanced"
    error_message = "fewer than 4096 characters but more than 4096 bytes: Advanced"
  }
}

run "policy_json_above_8192_characters" {
  command = plan

  variables {
    gate_policy_json = jsonencode({ fail = { CRITICAL = 1 }, allowlist = [{ id = "CVE-2024-0001", reason = format("%08121d", 0) }] })
  }

  expect_failures = [var.gate_policy_json]
}

run "policy_object_above_8192_characters" {
  command = plan

  variables {
    gate_policy = { fail = { CRITICAL = 1 }, allowlist = [{ id = "CVE-2024-0001", reason = format("%08121d", 0) }] }
  }

  expect_failures = [var.gate_policy]
}

# 8192 characters exactly: accepted, Advanced.
run "policy_json_at_8192_characters" {
  command = plan

  variables {
    gate_policy_json = jsonencode({ fail = { CRITICAL = 1 }, allowlist = [{ id = "CVE-2024-0001", reason = format("%08120d", 0) }] })
  }

  assert {
    condition     = length(aws_ssm_parameter.gate_policy.value) == 8192 && aws_ssm_parameter.gate_policy.tier == "Advanced"
    error_message = "an 8192-character policy fits an Advanced parameter"
  }
}

# Short as given, too long as stored: jsonencode writes each "<" as \u003c.
run "policy_above_8192_bytes_as_stored" {
  command = plan

  variables {
    gate_policy_json = "{\"fail\": {\"CRITICAL\": 1}, \"allowlist\": [{\"id\": \"CVE-2024-0001\", \"reason\": \"${replace(format("%01400d", 0), "0", "<")}\"}]}"
  }

  expect_failures = [aws_ssm_parameter.gate_policy]
}

# --- OpenVEX documents the policy names as SSM parameters -------------------------------

# {"parameter": "/name"} in the policy's vex: the function reads it at start
# (GetParameter), so the role may read it, and only it.
run "vex_parameters_named_by_the_policy" {
  command = plan

  variables {
    gate_policy_json = jsonencode({
      fail = { CRITICAL = 1 }
      vex = [
        { parameter = "/security/vex/base-images" },
        { "@context" = "https://openvex.dev/ns/v0.2.0", "@id" = "https://example.com/vex/inline", author = "security", timestamp = "2024-01-01T00:00:00Z", version = 1, statements = [] },
        { parameter = "arn:aws:ssm:ap-northeast-1:999999999999:parameter/shared/vex" },
        { parameter = "/security/vex/base-images" },
      ]
    })
  }

  override_resource {
    target          = aws_ssm_parameter.gate_policy
    override_during = plan
    values = {
      arn = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"
    }
  }

  assert {
    condition = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadParameters"]).resources == toset([
      "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy",
      "arn:aws:ssm:ap-northeast-1:123456789012:parameter/security/vex/base-images",
      "arn:aws:ssm:ap-northeast-1:999999999999:parameter/shared/vex",
    ])
    error_message = "GetParameter on the policy and on each VEX parameter the policy names"
  }
}

run "no_vex_parameters_by_default" {
  command = plan

  override_resource {
    target          = aws_ssm_parameter.gate_policy
    override_during = plan
    values = {
      arn = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"
    }
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadParameters"]).resources == toset(["arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"])
    error_message = "the default policy names no VEX parameter: GetParameter on the policy alone"
  }
}
