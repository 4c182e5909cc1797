# Which policy is attached where (issue 24). The other test files mock every
# aws_iam_policy_document to one text, so their plans cannot tell which document a
# role, queue, topic, key or bus takes. Here each document renders a text of its
# own (its name as the policy's Id) and each role, queue, topic, function and rule
# gets a known id or ARN, so each attachment shows the document it takes and the
# resource it is attached to: swapping two references fails.
#
# `command = apply`, against the mocked provider only (nothing leaves this
# machine): a document that names a resource of the module is read after that
# resource exists, so in a plan every such attachment is unknown. (Overrides stay
# apply-time: an `override_during = plan` override makes the mocked apply
# inconsistent with its plan.) The statements of each document are read in
# tests/infra/test_attachment_statements.py; the organisation example runs here under
# another name than the default.

mock_provider "aws" {
  source = "./tests/mocks/hub"
  # A document without an override of its own renders "unset": every attachment
  # below must show a named one.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"unset\",\"Statement\":[]}" }
  }
}

mock_provider "aws" {
  alias  = "member_a"
  source = "./tests/mocks/member_a"
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"unset\",\"Statement\":[]}" }
  }
}

mock_provider "aws" {
  alias  = "member_b"
  source = "./tests/mocks/member_b"
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"unset\",\"Statement\":[]}" }
  }
}

mock_provider "aws" {
  alias  = "hub"
  source = "./tests/mocks/hub"
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"unset\",\"Statement\":[]}" }
  }
}

# Every attachment of the root module, every option that adds one turned on.
run "root_attachments" {
  command = apply

  # slack_webhook_url: an apply of a test needs every ephemeral variable set
  # (Slack stays off: the URL is not used).
  variables {
    lambda_zip_path         = "tests/fixtures/bootstrap.zip"
    slack_webhook_url       = "https://hooks.slack.com/services/example-not-a-secret"
    member_accounts         = ["111111111111", "222222222222"]
    organization_id         = "o-abc123defg"
    ecs_execution_role_arns = ["arn:aws:iam::123456789012:role/ecs-task-execution"]
    chatbot_slack           = { team_id = "T07EA123LEP", channel_id = "C07EZ1ABC23" }
  }

  override_data {
    target = data.aws_iam_policy_document.gate_assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"gate_assume\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.gate
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"gate\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.scheduler_assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"scheduler_assume\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.scheduler
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"scheduler\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.ecs_hook_assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"ecs_hook_assume\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.ecs_hook
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"ecs_hook\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.chatbot_assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"chatbot_assume\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.chatbot
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"chatbot\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.alerts_topic
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"alerts_topic\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.dlq
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"dlq\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.kms
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"kms\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.hub_bus
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"hub_bus\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.repository
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"repository\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.sweep_queues["sweep"]
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"sweep_queues.sweep\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.sweep_queues["sweep-dlq"]
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"sweep_queues.sweep-dlq\",\"Statement\":[]}" }
  }

  override_resource {
    target = aws_iam_role.gate
    values = {
      id  = "role-id-gate"
      arn = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    }
  }

  override_resource {
    target = aws_iam_role.scheduler
    values = {
      id  = "role-id-scheduler"
      arn = "arn:aws:iam::123456789012:role/ecr-scan-gate-scheduler"
    }
  }

  override_resource {
    target = aws_iam_role.ecs_hook
    values = {
      id  = "role-id-ecs_hook"
      arn = "arn:aws:iam::123456789012:role/ecr-scan-gate-ecs-hook"
    }
  }

  override_resource {
    target = aws_iam_role.chatbot
    values = {
      id  = "role-id-chatbot"
      arn = "arn:aws:iam::123456789012:role/ecr-scan-gate-chatbot"
    }
  }

  override_resource {
    target = aws_iam_policy.chatbot_read_only
    values = {
      arn = "arn:aws:iam::123456789012:policy/ecr-scan-gate-chatbot-read-only"
    }
  }

  override_resource {
    target = aws_sns_topic.alerts
    values = {
      id  = "arn:aws:sns:ap-northeast-1:123456789012:ecr-scan-gate-alerts"
      arn = "arn:aws:sns:ap-northeast-1:123456789012:ecr-scan-gate-alerts"
    }
  }

  override_resource {
    target = aws_sqs_queue.dlq
    values = {
      id  = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-dlq"
      url = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-dlq"
      arn = "arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-dlq"
    }
  }

  override_resource {
    target = aws_sqs_queue.sweep
    values = {
      id  = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep"
      url = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep"
      arn = "arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep"
    }
  }

  override_resource {
    target = aws_sqs_queue.sweep_dlq
    values = {
      id  = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep-dlq"
      url = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep-dlq"
      arn = "arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep-dlq"
    }
  }

  override_resource {
    target = aws_kms_key.this
    values = {
      arn    = "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      key_id = "11111111-2222-3333-4444-555555555555"
    }
  }

  override_resource {
    target = aws_ssm_parameter.gate_policy
    values = {
      arn = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"
    }
  }

  override_resource {
    target = aws_cloudwatch_log_group.gate
    values = {
      arn = "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/ecr-scan-gate"
    }
  }

  override_resource {
    target = aws_lambda_function.gate
    values = {
      arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:ecr-scan-gate"
    }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.gate["ecr-image-scan"]
    values = {
      arn = "arn:aws:events:ap-northeast-1:123456789012:rule/ecr-scan-gate-ecr-image-scan"
    }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.forwarded["ecr-image-scan"]
    values = {
      arn = "arn:aws:events:ap-northeast-1:123456789012:rule/ecr-scan-gate-hub/ecr-scan-gate-ecr-image-scan"
    }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.gate["inspector2-scan"]
    values = {
      arn = "arn:aws:events:ap-northeast-1:123456789012:rule/ecr-scan-gate-inspector2-scan"
    }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.forwarded["inspector2-scan"]
    values = {
      arn = "arn:aws:events:ap-northeast-1:123456789012:rule/ecr-scan-gate-hub/ecr-scan-gate-inspector2-scan"
    }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.gate["inspector2-finding"]
    values = {
      arn = "arn:aws:events:ap-northeast-1:123456789012:rule/ecr-scan-gate-inspector2-finding"
    }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.forwarded["inspector2-finding"]
    values = {
      arn = "arn:aws:events:ap-northeast-1:123456789012:rule/ecr-scan-gate-hub/ecr-scan-gate-inspector2-finding"
    }
  }

  # Roles: trust and permissions, each its own document, on its own role.
  assert {
    condition = (
      aws_iam_role.gate.assume_role_policy == "{\"Version\":\"2012-10-17\",\"Id\":\"gate_assume\",\"Statement\":[]}" &&
      aws_iam_role_policy.gate.policy == "{\"Version\":\"2012-10-17\",\"Id\":\"gate\",\"Statement\":[]}" &&
      aws_iam_role_policy.gate.role == "role-id-gate"
    )
    error_message = "the function role: ${aws_iam_role.gate.assume_role_policy} / ${aws_iam_role_policy.gate.role}: ${aws_iam_role_policy.gate.policy}"
  }

  assert {
    condition = (
      aws_iam_role.scheduler[0].assume_role_policy == "{\"Version\":\"2012-10-17\",\"Id\":\"scheduler_assume\",\"Statement\":[]}" &&
      aws_iam_role_policy.scheduler[0].policy == "{\"Version\":\"2012-10-17\",\"Id\":\"scheduler\",\"Statement\":[]}" &&
      aws_iam_role_policy.scheduler[0].role == "role-id-scheduler"
    )
    error_message = "the scheduler role: ${aws_iam_role.scheduler[0].assume_role_policy} / ${aws_iam_role_policy.scheduler[0].role}: ${aws_iam_role_policy.scheduler[0].policy}"
  }

  assert {
    condition = (
      aws_iam_role.ecs_hook[0].assume_role_policy == "{\"Version\":\"2012-10-17\",\"Id\":\"ecs_hook_assume\",\"Statement\":[]}" &&
      aws_iam_role_policy.ecs_hook[0].policy == "{\"Version\":\"2012-10-17\",\"Id\":\"ecs_hook\",\"Statement\":[]}" &&
      aws_iam_role_policy.ecs_hook[0].role == "role-id-ecs_hook"
    )
    error_message = "the ECS hook role: ${aws_iam_role.ecs_hook[0].assume_role_policy} / ${aws_iam_role_policy.ecs_hook[0].role}: ${aws_iam_role_policy.ecs_hook[0].policy}"
  }

  # Chatbot: the read-only policy is the chatbot document, attached to the channel
  # role (by name) and the guardrail.
  assert {
    condition = (
      aws_iam_role.chatbot[0].assume_role_policy == "{\"Version\":\"2012-10-17\",\"Id\":\"chatbot_assume\",\"Statement\":[]}" &&
      aws_iam_policy.chatbot_read_only[0].policy == "{\"Version\":\"2012-10-17\",\"Id\":\"chatbot\",\"Statement\":[]}" &&
      aws_iam_role_policy_attachment.chatbot[0].role == "ecr-scan-gate-chatbot" &&
      aws_iam_role_policy_attachment.chatbot[0].policy_arn == "arn:aws:iam::123456789012:policy/ecr-scan-gate-chatbot-read-only" &&
      aws_chatbot_slack_channel_configuration.alerts[0].iam_role_arn == "arn:aws:iam::123456789012:role/ecr-scan-gate-chatbot" &&
      aws_chatbot_slack_channel_configuration.alerts[0].guardrail_policy_arns == tolist(["arn:aws:iam::123456789012:policy/ecr-scan-gate-chatbot-read-only"])
    )
    error_message = "the Chatbot role, its policy and guardrail"
  }

  # Resource policies: each on its own topic, queue, key, bus and repository.
  assert {
    condition = (
      aws_sns_topic_policy.alerts.arn == "arn:aws:sns:ap-northeast-1:123456789012:ecr-scan-gate-alerts" &&
      aws_sns_topic_policy.alerts.policy == "{\"Version\":\"2012-10-17\",\"Id\":\"alerts_topic\",\"Statement\":[]}"
    )
    error_message = "the topic policy: ${aws_sns_topic_policy.alerts.arn}: ${aws_sns_topic_policy.alerts.policy}"
  }

  assert {
    condition = (
      aws_sqs_queue_policy.dlq.queue_url == "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-dlq" &&
      aws_sqs_queue_policy.dlq.policy == "{\"Version\":\"2012-10-17\",\"Id\":\"dlq\",\"Statement\":[]}" &&
      aws_sqs_queue_policy.sweep[0].queue_url == "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep" &&
      aws_sqs_queue_policy.sweep[0].policy == "{\"Version\":\"2012-10-17\",\"Id\":\"sweep_queues.sweep\",\"Statement\":[]}" &&
      aws_sqs_queue_policy.sweep_dlq[0].queue_url == "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep-dlq" &&
      aws_sqs_queue_policy.sweep_dlq[0].policy == "{\"Version\":\"2012-10-17\",\"Id\":\"sweep_queues.sweep-dlq\",\"Statement\":[]}"
    )
    error_message = "the queue policies: dlq ${aws_sqs_queue_policy.dlq.policy}, sweep ${aws_sqs_queue_policy.sweep[0].policy}, sweep DLQ ${aws_sqs_queue_policy.sweep_dlq[0].policy}"
  }

  assert {
    condition = (
      aws_kms_key.this.policy == "{\"Version\":\"2012-10-17\",\"Id\":\"kms\",\"Statement\":[]}" &&
      aws_cloudwatch_event_bus_policy.hub[0].event_bus_name == "ecr-scan-gate-hub" &&
      aws_cloudwatch_event_bus_policy.hub[0].policy == "{\"Version\":\"2012-10-17\",\"Id\":\"hub_bus\",\"Statement\":[]}" &&
      aws_ecr_repository_policy.this["demo-api"].repository == "demo-api" &&
      aws_ecr_repository_policy.this["demo-api"].policy == "{\"Version\":\"2012-10-17\",\"Id\":\"repository\",\"Statement\":[]}"
    )
    error_message = "the key, bus and repository policies"
  }

  # Each document's statements name the resource it is attached to.
  assert {
    condition = (
      alltrue([for s in data.aws_iam_policy_document.alerts_topic.statement : s.resources == toset(["arn:aws:sns:ap-northeast-1:123456789012:ecr-scan-gate-alerts"])]) &&
      alltrue([for s in data.aws_iam_policy_document.dlq.statement : s.resources == toset(["arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-dlq"])]) &&
      one(data.aws_iam_policy_document.sweep_queues["sweep"].statement).resources == toset(["arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep"]) &&
      one(data.aws_iam_policy_document.sweep_queues["sweep-dlq"].statement).resources == toset(["arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep-dlq"]) &&
      alltrue([for s in data.aws_iam_policy_document.hub_bus[0].statement : s.resources == toset(["arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"])]) &&
      one(data.aws_iam_policy_document.ecs_hook[0].statement).resources == toset(["arn:aws:lambda:ap-northeast-1:123456789012:function:ecr-scan-gate"])
    )
    error_message = "a resource policy names another resource than the one it is attached to"
  }

  # Each Lambda permission: the function, for the one rule of its key.
  assert {
    condition = (
      toset(keys(aws_lambda_permission.events)) == toset(["ecr-image-scan", "inspector2-scan", "inspector2-finding"]) &&
      toset(keys(aws_lambda_permission.forwarded)) == toset(["ecr-image-scan", "inspector2-scan", "inspector2-finding"]) &&
      alltrue([for k, p in aws_lambda_permission.events : p.source_arn == "arn:aws:events:ap-northeast-1:123456789012:rule/ecr-scan-gate-${k}" && p.function_name == "ecr-scan-gate" && p.principal == "events.amazonaws.com" && p.source_account == "123456789012"]) &&
      alltrue([for k, p in aws_lambda_permission.forwarded : p.source_arn == "arn:aws:events:ap-northeast-1:123456789012:rule/ecr-scan-gate-hub/ecr-scan-gate-${k}" && p.function_name == "ecr-scan-gate" && p.principal == "events.amazonaws.com" && p.source_account == "123456789012"])
    )
    error_message = "the Lambda permissions: one per rule, for that rule"
  }
}

# Every attachment of modules/member (member B of the organisation example).
run "member_attachments" {
  command = apply

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_b
  }

  variables {
    hub_role_arn        = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn   = "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"
    external_id         = "ecr-scan-gate-org"
    repository_patterns = ["team-b/*"]
  }

  override_data {
    target = data.aws_iam_policy_document.member_assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"member_assume\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.member
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"member\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.forwarder_assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"forwarder_assume\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.forwarder
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"forwarder\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.forward_dlq
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"forward_dlq\",\"Statement\":[]}" }
  }

  override_resource {
    target = aws_iam_role.member
    values = {
      id  = "role-id-member"
      arn = "arn:aws:iam::222222222222:role/ecr-scan-gate-member"
    }
  }

  override_resource {
    target = aws_iam_role.forwarder
    values = {
      id  = "role-id-forwarder"
      arn = "arn:aws:iam::222222222222:role/ecr-scan-gate-forward-us-east-1"
    }
  }

  override_resource {
    target = aws_sqs_queue.forward_dlq
    values = {
      id  = "https://sqs.us-east-1.amazonaws.com/222222222222/ecr-scan-gate-forward-dlq"
      url = "https://sqs.us-east-1.amazonaws.com/222222222222/ecr-scan-gate-forward-dlq"
      arn = "arn:aws:sqs:us-east-1:222222222222:ecr-scan-gate-forward-dlq"
    }
  }

  # The ARN AWS gives the rule of that name.
  override_resource {
    target = aws_cloudwatch_event_rule.forward["ecr-image-scan"]
    values = { arn = "arn:aws:events:us-east-1:222222222222:rule/ecr-scan-gate-forward-ecr-image-scan" }
  }

  # The ARN AWS gives the rule of that name.
  override_resource {
    target = aws_cloudwatch_event_rule.forward["inspector2-scan"]
    values = { arn = "arn:aws:events:us-east-1:222222222222:rule/ecr-scan-gate-forward-inspector2-scan" }
  }

  # The ARN AWS gives the rule of that name.
  override_resource {
    target = aws_cloudwatch_event_rule.forward["inspector2-finding"]
    values = { arn = "arn:aws:events:us-east-1:222222222222:rule/ecr-scan-gate-forward-inspector2-finding" }
  }

  assert {
    condition = (
      aws_iam_role.member[0].assume_role_policy == "{\"Version\":\"2012-10-17\",\"Id\":\"member_assume\",\"Statement\":[]}" &&
      aws_iam_role_policy.member[0].policy == "{\"Version\":\"2012-10-17\",\"Id\":\"member\",\"Statement\":[]}" &&
      aws_iam_role_policy.member[0].role == "role-id-member"
    )
    error_message = "the member role: ${aws_iam_role.member[0].assume_role_policy} / ${aws_iam_role_policy.member[0].role}: ${aws_iam_role_policy.member[0].policy}"
  }

  assert {
    condition = (
      aws_iam_role.forwarder.assume_role_policy == "{\"Version\":\"2012-10-17\",\"Id\":\"forwarder_assume\",\"Statement\":[]}" &&
      aws_iam_role_policy.forwarder.policy == "{\"Version\":\"2012-10-17\",\"Id\":\"forwarder\",\"Statement\":[]}" &&
      aws_iam_role_policy.forwarder.role == "role-id-forwarder" &&
      alltrue([for t in aws_cloudwatch_event_target.forward : t.role_arn == "arn:aws:iam::222222222222:role/ecr-scan-gate-forward-us-east-1"])
    )
    error_message = "the forwarding role: ${aws_iam_role.forwarder.assume_role_policy} / ${aws_iam_role_policy.forwarder.role}: ${aws_iam_role_policy.forwarder.policy}"
  }

  assert {
    condition = (
      aws_sqs_queue_policy.forward_dlq.queue_url == "https://sqs.us-east-1.amazonaws.com/222222222222/ecr-scan-gate-forward-dlq" &&
      aws_sqs_queue_policy.forward_dlq.policy == "{\"Version\":\"2012-10-17\",\"Id\":\"forward_dlq\",\"Statement\":[]}" &&
      alltrue([for s in data.aws_iam_policy_document.forward_dlq.statement : s.resources == toset(["arn:aws:sqs:us-east-1:222222222222:ecr-scan-gate-forward-dlq"])]) &&
      alltrue([for t in aws_cloudwatch_event_target.forward : t.dead_letter_config[0].arn == "arn:aws:sqs:us-east-1:222222222222:ecr-scan-gate-forward-dlq"])
    )
    error_message = "the forwarding dead-letter queue's policy: ${aws_sqs_queue_policy.forward_dlq.policy}"
  }

  # The forwarding rules the trust and the queue admit are the rules this module creates.
  assert {
    condition = (
      toset(one([for c in one(data.aws_iam_policy_document.forwarder_assume.statement).condition : c if c.variable == "aws:SourceArn"]).values) == toset([for r in aws_cloudwatch_event_rule.forward : r.arn]) &&
      toset(one([for c in one([for s in data.aws_iam_policy_document.forward_dlq.statement : s if s.sid == "AllowForwardingRulesDeadLetters"]).condition : c if c.variable == "aws:SourceArn"]).values) == toset([for r in aws_cloudwatch_event_rule.forward : r.arn])
    )
    error_message = "aws:SourceArn of the forwarder's trust and of the dead-letter queue: the forwarding rules"
  }
}

# The organisation example under another name than the default: the hub's function,
# role, bus, log group and parameter, the member role and each member's forwarding
# rules, role and queue all take it (tests/infra/test_attachments.py reads that
# nothing in the example or the modules is the literal default).
run "organization_named" {
  command = plan

  module {
    source = "./examples/organization"
  }

  providers = {
    aws.hub      = aws.hub
    aws.member_a = aws.member_a
    aws.member_b = aws.member_b
  }

  variables {
    name                    = "team-gate"
    hub_account_id          = "123456789012"
    member_a_account_id     = "111111111111"
    member_b_account_id     = "222222222222"
    organization_id         = "o-abc123defg"
    member_role_external_id = "team-gate-org"
    lambda_zip_path         = "tests/fixtures/bootstrap.zip"
  }

  assert {
    condition = (
      output.function_name == "team-gate" &&
      module.hub.function_name == "team-gate" &&
      module.hub.log_group_name == "/aws/lambda/team-gate" &&
      module.hub.gate_policy_parameter_name == "/team-gate/policy"
    )
    error_message = "the hub's function follows the name: ${output.function_name}, ${module.hub.log_group_name}, ${module.hub.gate_policy_parameter_name}"
  }

  assert {
    condition     = module.hub.member_role_name == "team-gate-member"
    error_message = "the member role follows the name: ${coalesce(module.hub.member_role_name, "null")}"
  }
}
