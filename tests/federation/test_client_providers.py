"""When the app client's providers are asked of Cognito again: after the TTL, or after a
failure's retry delay, and never on every request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.errors import ServiceUnavailableError
from app.federation import client_providers
from app.federation.client_providers import AppClientProviders
from tests.support.clock import Clock


class Cognito:
    """Answers DescribeUserPoolClient from a script; counts the questions."""

    def __init__(self, *answers: list[str] | Exception | None) -> None:
        self._answers: Iterator[list[str] | Exception | None] = iter(answers)
        self.questions = 0

    def describe(self) -> list[str] | None:
        self.questions += 1
        answer = next(self._answers)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_an_answer_is_kept_for_the_ttl(clock: Clock) -> None:
    cognito = Cognito(["Google"], ["Google", "Facebook"])
    names = AppClientProviders(cognito.describe, clock=clock)
    assert names.current() == {"Google"}
    clock.now += client_providers.TTL_SECONDS - 1
    assert names.current() == {"Google"}
    assert cognito.questions == 1
    clock.now += 1
    assert names.current() == {"Google", "Facebook"}  # a provider added to the client
    assert cognito.questions == 2


@pytest.mark.parametrize("failure", [ServiceUnavailableError(), None], ids=["outage", "denied"])
def test_a_failure_is_retried_after_a_delay_not_per_request(
    clock: Clock, failure: Exception | None
) -> None:
    cognito = Cognito(failure, ["Google"])
    names = AppClientProviders(cognito.describe, clock=clock)
    assert names.current() is None
    clock.now += client_providers.RETRY_SECONDS - 1
    assert names.current() is None
    assert cognito.questions == 1
    clock.now += 1
    assert names.current() == {"Google"}


def test_a_failure_keeps_the_last_answer(clock: Clock) -> None:
    cognito = Cognito(["Google"], ServiceUnavailableError(), ["Facebook"])
    names = AppClientProviders(cognito.describe, clock=clock)
    assert names.current() == {"Google"}
    clock.now += client_providers.TTL_SECONDS
    assert names.current() == {"Google"}  # Cognito is down: the list it gave stands
    clock.now += client_providers.RETRY_SECONDS
    assert names.current() == {"Facebook"}
    assert cognito.questions == 3
