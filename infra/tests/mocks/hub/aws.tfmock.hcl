# The hub account as every test file's mocked provider sees it: the deploying identity, the
# partition and the region. A file adds its own aws_iam_policy_document mock beside it.
mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:sts::123456789012:assumed-role/deploy/ci-run-42"
    user_id    = "AROAEXAMPLEDEPLOYROLE:ci-run-42"
  }
}

mock_data "aws_partition" {
  defaults = { partition = "aws" }
}

mock_data "aws_region" {
  defaults = { name = "ap-northeast-1" }
}
