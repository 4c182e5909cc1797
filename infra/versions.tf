terraform {
  # 1.11: write-only arguments (`value_wo`) and ephemeral input variables, which
  # keep the Slack webhook URL out of the plan and the state.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the oldest provider with everything used here: the write-only
      # `aws_ssm_parameter.value_wo` and `aws_chatbot_slack_channel_configuration`
      # (with `user_authorization_required`). The region is read as
      # `data.aws_region.current.name`: 5.x has no `region` attribute on that data
      # source; 6.x adds it and deprecates `name`, which still works there (a
      # deprecation warning). Move to `.region` when the floor becomes 6.0.
      version = ">= 5.100, < 7.0"
    }
  }
}
