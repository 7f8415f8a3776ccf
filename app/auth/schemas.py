"""Bodies of the auth API (SPEC §2)."""


from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from app.identity.addresses import is_mailbox
from app.identity.provider import ChallengeName, CodeDelivery, UserRecord

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


def _mailbox(email: str) -> str:
    if not is_mailbox(email):
        raise ValueError("Mail software would read this address as another one.")
    return email


# As lenient as Cognito: one "@" with something on each side; delivery proves the rest.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(_mailbox),
]
# [0-9], not \d: the pattern engine's \d takes every script's digits.
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{1,14}$")]


class Delivery(BaseModel):
    medium: Literal["EMAIL", "SMS"]
    destination: str = Field(examples=["u***@e***"])
    attribute: Literal["email", "phone_number"]

    @classmethod
    def of(cls, delivery: CodeDelivery) -> "Delivery":
        return cls(medium=delivery.medium, destination=delivery.destination,
                   attribute=delivery.attribute)


class DeliveryResponse(BaseModel):
    delivery: Delivery


class DeliveriesResponse(BaseModel):
    deliveries: list[Delivery]


class CsrfTokenResponse(BaseModel):
    csrf_token: str | None = Field(description="Echo it in X-CSRF-Token; null when signed out")


class MessageResponse(BaseModel):
    message: str


class SignUpRequest(BaseModel):
    username: Username
    password: Password
    email: Email
    phone_number: PhoneNumber | None = Field(None, description="E.164, such as +15551234567")


class SignUpResponse(BaseModel):
    username: str
    user_sub: str
    confirmed: bool
    delivery: Delivery | None


class ConfirmSignUpRequest(BaseModel):
    username: Username
    code: Code


class ConfirmSignUpResponse(BaseModel):
    message: str
    confirmed: bool


class UsernameRequest(BaseModel):
    username: Username


class SignInRequest(BaseModel):
    username: Username = Field(description="The username, or the email once verified")
    password: Password


class SignInResponse(BaseModel):
    message: str = "Auth successful"
    token: str = Field(description="The ID token, also set as the HttpOnly `token` cookie")
    expires_in: int
    token_type: str = "Bearer"


class ChallengeResponse(BaseModel):
    challenge: ChallengeName
    session: str
    delivery: Delivery | None = None


class ChallengeRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"username": "alice", "session": "...", "challenge": "SOFTWARE_TOKEN_MFA", "code": "123456"}
    ]})

    username: Username
    session: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    challenge: ChallengeName
    code: Code | None = None
    new_password: Password | None = None

    @model_validator(mode="after")
    def _answer_present(self) -> "ChallengeRequest":
        field = "new_password" if self.challenge == "NEW_PASSWORD_REQUIRED" else "code"
        if not getattr(self, field):
            raise ValueError(f"{self.challenge} is answered with {field}")
        return self


class CurrentUserResponse(BaseModel):
    username: str
    sub: str
    email: str | None
    email_verified: bool
    phone_number: str | None
    phone_number_verified: bool
    groups: list[str]
    mfa_enabled: bool

    @classmethod
    def of(cls, user: UserRecord) -> "CurrentUserResponse":
        return cls(
            username=user.username, sub=user.sub, email=user.email,
            email_verified=user.email_verified, phone_number=user.phone_number,
            phone_number_verified=user.phone_number_verified, groups=list(user.groups),
            mfa_enabled=user.mfa_enabled,
        )


class ForgotPasswordRequest(BaseModel):
    username: Username


class ConfirmForgotPasswordRequest(BaseModel):
    username: Username
    code: Code
    password: Password


class ChangePasswordRequest(BaseModel):
    old_password: Password
    new_password: Password


class VerifyAttributeRequest(BaseModel):
    attribute: Literal["email", "phone_number"]


class ConfirmAttributeRequest(BaseModel):
    attribute: Literal["email", "phone_number"]
    code: Code


class UpdateAttributesRequest(BaseModel):
    email: Email | None = None
    phone_number: PhoneNumber | None = None


class TotpSetupResponse(BaseModel):
    secret: str = Field(description="Base32; enter it in an authenticator app")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as an SVG QR code, for a page to show")


class CodeRequest(BaseModel):
    code: Code


class SmsMfaRequest(BaseModel):
    # A JSON boolean only: lax parsing would also read 0, "no" or "off" as turning it off.
    enabled: StrictBool


class MfaStatusResponse(BaseModel):
    mfa_enabled: bool


class AwsCredentialsResponse(BaseModel):
    identity_id: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: str
