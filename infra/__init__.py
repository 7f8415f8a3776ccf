"""The AWS CDK app that deploys authgate (`cd infra && python app.py`, or `npx aws-cdk@2 deploy`).

A regular package, so that `infra.stack` resolves to this folder from the repository root
even when a test folder of the same name sits earlier on `sys.path`.
"""
