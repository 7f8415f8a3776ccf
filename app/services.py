"""The app's collaborators, built from settings on first use and shared by requests.

Nothing is built at import or at start-up: on Lambda a cold start that only serves
`/health` never opens the pool or imports boto3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from app.identity.factory import build_identity_provider, build_token_verifier
from app.settings import Settings

if TYPE_CHECKING:
    from app.federation.flow import FlowSealer
    from app.federation.provider import FederatedSignIn
    from app.identity.provider import IdentityProvider
    from app.tokens.verifier import CachingVerifier

T = TypeVar("T")


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._identity: IdentityProvider | None = None
        self._verifier: CachingVerifier | None = None
        self._federation: FederatedSignIn | None = None
        self._flow_sealer: FlowSealer | None = None

    def _once(self, attribute: str, build: Callable[[], T]) -> T:
        """The collaborator in `attribute`, built on first use by one thread only."""
        value: T | None = getattr(self, attribute)
        if value is None:
            with self._lock:
                value = getattr(self, attribute)
                if value is None:
                    value = build()
                    setattr(self, attribute, value)
        return value

    @property
    def identity(self) -> IdentityProvider:
        if self._identity is not None:  # every signed-in request asks: no lambda, no lock
            return self._identity
        return self._once("_identity", lambda: build_identity_provider(self.settings))

    @property
    def built_verifier(self) -> CachingVerifier | None:
        """The verifier if it exists already: the hot path's check, without an await."""
        return self._verifier

    async def ready_verifier(self) -> CachingVerifier:
        """The verifier, built in a worker thread the first time (it reads key files)."""
        if self._verifier is not None:
            return self._verifier
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(lambda: self.verifier)

    @property
    def verifier(self) -> CachingVerifier:
        def build() -> CachingVerifier:
            from app.tokens.verifier import CachingVerifier

            return CachingVerifier(build_token_verifier(self.settings, self.identity))

        return self._once("_verifier", build)

    @property
    def federation(self) -> FederatedSignIn:
        """Federated sign-in with the backend's providers (httpx is loaded only then)."""
        from app.federation.factory import build_federation

        return self._once("_federation", lambda: build_federation(self.settings, self))

    @property
    def flow_sealer(self) -> FlowSealer:
        """Seals the federated sign-in's flow cookie (the key may read the pool's secret)."""
        from app.federation.factory import build_flow_sealer

        return self._once("_flow_sealer", lambda: build_flow_sealer(self.settings, self))
