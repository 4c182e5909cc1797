terraform {
  # 1.11: write-only arguments (`value_wo`) and ephemeral input variables, which
  # keep the Slack webhook URL out of the plan and the state.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: `data.aws_region.current.region`, `aws_ssm_parameter.value_wo`,
      # `aws_chatbot_slack_channel_configuration`.
      version = ">= 5.100, < 7.0"
    }
  }
}
