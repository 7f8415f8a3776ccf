"""What a federated sign-in backend does (`FederatedSignIn`), and the values it takes.

Light on purpose: the router imports it when the app is built, and a Lambda cold start that
never sees a federated sign-in must not pay for httpx or the providers' clients.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from app.federation.flow import FlowState
from app.identity.provider import TokenSet


class AuthorizationRequest(NamedTuple):
    """The per-flow values of an authorization request."""

    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str


class FederatedSignIn(Protocol):
    """Starts and finishes federated sign-ins with the configured providers."""

    def has_provider(self, provider: str) -> bool:
        ...

    def authorization_url(self, provider: str, request: AuthorizationRequest) -> str:
        """Where the browser goes first.

        Raises:
            ServiceUnavailableError: the provider's metadata cannot be had.
        """
        ...

    def complete(self, flow: FlowState, *, code: str, redirect_uri: str) -> TokenSet:
        """The app's tokens for the user the provider signed in.

        Raises:
            ServiceUnavailableError: the provider cannot be reached.
            NotAuthorizedError: the code or the tokens are refused, or the user is disabled.
        """
        ...
