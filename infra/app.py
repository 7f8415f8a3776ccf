#!/usr/bin/env python3
"""The CDK app: `cd infra && python app.py` writes the templates to infra/cdk.out, as
`npx aws-cdk@2 synth` does. It only reads context and instantiates the stack."""

import os
import sys
from pathlib import Path

# Running as a script puts infra/ first on sys.path, where `app` would be this file and
# not the app package. The stack imports the app's own constants (password policy, token
# lifetimes, the plans file's format), so the repository root must come first.
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
# Node.js 20 is supported by the CDK's JavaScript runtime but past its end of life; jsii
# prints a long banner on every run unless told which major version is known.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402 (after the sys.path fix above)

from infra.authgate_infra.config import AuthgateConfig, cdk_json_context  # noqa: E402
from infra.stack import AuthgateStack  # noqa: E402

# The cdk command line says where to write (CDK_OUTDIR) and passes cdk.json's context,
# which then overrides these defaults; run alone, the app reads cdk.json itself so that
# both ways give the same template.
app = cdk.App(
    outdir=None if "CDK_OUTDIR" in os.environ else str(REPO_ROOT / "infra" / "cdk.out"),
    context=cdk_json_context(),
)
config = AuthgateConfig.from_context(app.node)
AuthgateStack(
    app, config.stack_name,
    config=config,
    # Deploys to the account and region of the caller's credentials; without them the
    # template is environment-agnostic, which is all that synthesis needs.
    env=cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
    ),
)
app.synth()
