# A member account (111111111111, ap-northeast-1) as the organisation example's
# mocked provider sees it. A file adds its own aws_iam_policy_document mock beside it.
mock_data "aws_caller_identity" {
  defaults = { account_id = "111111111111" }
}

mock_data "aws_partition" {
  defaults = { partition = "aws" }
}

mock_data "aws_region" {
  defaults = { name = "ap-northeast-1" }
}
