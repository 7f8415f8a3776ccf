"""moto's server as a stand-in for Cognito: a real process on a free loopback port.

Region us-east-1, because moto's server answers GlobalSignOut only there. TOTP codes are
checked only with MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true (the secret is the same for
every user). See /work/shared/TOOLS.md for what else moto does and does not do.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.process import ServerProcess

if TYPE_CHECKING:
    from mypy_boto3_cognito_identity import CognitoIdentityClient
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

REGION = "us-east-1"
# Any code confirms a sign-up on moto; a reset code is checked only if it has moto's prefix.
ANY_CODE = "123456"
# Credentials for boto3 in the tests and in the processes they start; moto takes any.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass(frozen=True)
class MotoPool:
    """A user pool and app client created on the server, and how the app reaches them."""

    url: str
    pool_id: str
    client_id: str
    client_secret: str | None = None
    identity_pool_id: str | None = None

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/{self.pool_id}/.well-known/jwks.json"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for `make_settings`/`load_settings`."""
        return {
            "auth_backend": "cognito",
            "cognito_region": REGION,
            "cognito_user_pool_id": self.pool_id,
            "cognito_client_id": self.client_id,
            "cognito_client_secret": self.client_secret,
            "cognito_endpoint_url": self.url,
            "cognito_jwks_url": self.jwks_url,
            "cognito_identity_pool_id": self.identity_pool_id,
            **overrides,
        }

    def env(self) -> dict[str, str]:
        """The same, as the environment of a process (`python -m app ...`)."""
        return {
            **AWS_ENV,
            **{key.upper(): str(value) for key, value in self.settings().items()
               if value is not None},
        }


class MotoServer(ServerProcess):
    """`moto_server -H 127.0.0.1 -p PORT`, started and stopped by the tests."""

    name = "moto_server"

    def command(self) -> Sequence[str]:
        moto_server = Path(sys.executable).with_name("moto_server")
        return [str(moto_server), "-H", "127.0.0.1", "-p", str(self.port)]

    def environment(self) -> Mapping[str, str]:
        return {**os.environ, **AWS_ENV, "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true"}

    def ready(self) -> bool:
        httpx.post(f"{self.url}/moto-api/reset", timeout=0.5).raise_for_status()
        return True

    def start(self, timeout: float = 30.0) -> MotoServer:
        super().start(timeout)
        return self

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=5).raise_for_status()

    def idp(self) -> CognitoIdentityProviderClient:
        import boto3

        return boto3.session.Session(**_credentials()).client(
            "cognito-idp", region_name=REGION, endpoint_url=self.url
        )

    def identity(self) -> CognitoIdentityClient:
        import boto3

        return boto3.session.Session(**_credentials()).client(
            "cognito-identity", region_name=REGION, endpoint_url=self.url
        )

    def new_pool(self, *, client_secret: bool = False, identity_pool: bool = False) -> MotoPool:
        """A pool configured as infra/ configures the real one, as far as moto follows.

        Sign-in by email is left out: moto does it only with UsernameAttributes=["email"],
        which would refuse the contract's plain usernames at sign-up.
        """
        idp = self.idp()
        pool_id = idp.create_user_pool(
            PoolName=f"authgate-{uuid.uuid4().hex[:8]}",
            AutoVerifiedAttributes=["email"],
            Policies={"PasswordPolicy": {
                "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
                "RequireNumbers": True, "RequireSymbols": True,
            }},
            # Codes go to the email (moto's default recovery is the phone).
            AccountRecoverySetting={
                "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
            },
            UsernameConfiguration={"CaseSensitive": False},
        )["UserPool"]["Id"]
        idp.set_user_pool_mfa_config(
            UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
            SoftwareTokenMfaConfiguration={"Enabled": True},
        )
        client = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="authgate", GenerateSecret=client_secret,
            # The ID token carries email only when the client may read it.
            ReadAttributes=["email", "email_verified", "phone_number", "phone_number_verified"],
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            PreventUserExistenceErrors="ENABLED",
            EnableTokenRevocation=True,
        )["UserPoolClient"]
        identity_pool_id = None
        if identity_pool:
            identity_pool_id = self.identity().create_identity_pool(
                IdentityPoolName=f"authgate{uuid.uuid4().hex[:8]}",
                AllowUnauthenticatedIdentities=False,
                CognitoIdentityProviders=[{
                    "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool_id}",
                    "ClientId": client["ClientId"],
                }],
            )["IdentityPoolId"]
        return MotoPool(
            url=self.url, pool_id=pool_id, client_id=client["ClientId"],
            client_secret=client.get("ClientSecret"), identity_pool_id=identity_pool_id,
        )


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    }


def totp_code(secret: str, *, offset_steps: int = 0) -> str:
    """The current TOTP code for a base32 secret, as moto checks it (this time step only).

    moto's secret is too short for pyotp, hence cryptography's TOTP. Near the end of a
    step this waits for the next one, so the code is still current when moto checks it.
    """
    import base64

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    if time.time() % 30 > 27:
        time.sleep(30 - time.time() % 30 + 0.05)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    totp = TOTP(key, 6, SHA1(), 30, enforce_key_length=False)  # noqa: S303 - RFC 6238's hash
    return totp.generate(int(time.time()) + 30 * offset_steps).decode()
