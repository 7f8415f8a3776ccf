"""What surrounds the forms: federated sign-in links, the failure banner, labels that stay
unambiguous, and the page's base under API Gateway's stage prefix."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.stage import lambda_handler
from tests.support.lambda_runtime import LambdaContainer
from tests.support.server import LiveServer
from tests.support.smtp import SmtpServer

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
PROVIDERS = [
    {"name": "Google", "issuer": "https://accounts.google.com", "client_id": "web-test"},
    {"name": "corp-sso", "issuer": "https://sso.example.com", "client_id": "web-test"},
]


@pytest.mark.browser
class TestFederatedSignIn:
    def test_a_link_per_provider_and_a_banner_for_a_failed_callback(
        self, page: Any, web_server: Callable[..., LiveServer]
    ) -> None:
        from playwright.sync_api import expect

        from tests.web.pages import open_page

        server = web_server(LOCAL_OIDC_PROVIDERS=json.dumps(PROVIDERS))
        open_page(page, server)
        for name in ("Google", "corp-sso"):
            link = page.get_by_role("link", name=f"Sign in with {name}", exact=True)
            expect(link).to_be_visible()
            expect(link).to_have_attribute(
                "href", f"{server.url}/auth/oauth/{name}/authorize?redirect_to=/"
            )
        # Links, not buttons: "Sign in" still names exactly one button.
        expect(page.get_by_role("button", name="Sign in")).to_have_count(1)

        hostile = "<img src=x onerror=alert(1)> The provider refused"
        open_page(page, server, f"?auth_error=AccessDenied&message={hostile}")
        banner = page.get_by_role("alert")
        expect(banner).to_have_text(re.compile(
            r"Sign-in with another account failed: <img src=x onerror=alert\(1\)> "
            r"The provider refused \(AccessDenied\)"
        ))
        expect(banner.locator("img")).to_have_count(0)  # shown as text, never as HTML
        assert "auth_error" not in page.url  # a reload does not show it again
        page.get_by_role("button", name="Dismiss").click()
        expect(banner).to_be_hidden()

    def test_no_provider_no_links(
        self, page: Any, web_server: Callable[..., LiveServer]
    ) -> None:
        from playwright.sync_api import expect

        from tests.web.pages import open_page

        open_page(page, web_server())
        expect(page.get_by_role("link", name=re.compile("^Sign in with"))).to_have_count(0)
        expect(page.get_by_role("alert")).to_be_hidden()


@pytest.mark.browser
def test_every_label_names_one_input_in_every_state(
    page: Any, web_server: Callable[..., LiveServer], smtp_server: SmtpServer
) -> None:
    """Steps and views are swapped in and out, never hidden: so exact labels never clash."""
    from playwright.sync_api import expect

    from tests.web.pages import Person, button, confirm, field, open_page, sign_in, sign_up

    labels = ("Username", "Email", "Password", "Code", "New password", "API key")

    def at_most_one_each() -> None:
        for label in labels:
            assert field(page, label).count() <= 1, label

    server = web_server(USAGE_PLANS="local")
    person = Person.new("labels")
    open_page(page, server)
    at_most_one_each()
    sign_up(page, person)
    at_most_one_each()
    confirm(page, smtp_server, person)
    button(page, "Send reset code").click()
    expect(field(page, "New password")).to_be_visible()
    at_most_one_each()
    button(page, "Cancel").click()
    expect(field(page, "Code")).to_have_count(0)
    sign_in(page, person)
    button(page, "Set up authenticator app").click()
    expect(field(page, "Code")).to_be_visible()
    at_most_one_each()
    for label in labels:  # every input has a visible <label> of its own
        for element in field(page, label).all():
            label_for = element.evaluate("e => e.labels.length && e.labels[0].offsetHeight")
            assert label_for > 0, label


class TestStagePrefix:
    """Not in a browser: the <base> the index route writes for API Gateway's stage."""

    def test_the_page_is_based_at_the_stage_with_or_without_its_slash(
        self, settings: Settings
    ) -> None:
        loaded: dict[str, Any] = json.loads((EVENTS / "rest_v1_get_protected.json").read_text())
        with LambdaContainer(lambda_handler(create_app(settings))) as handler:
            for outer in ("/prod", "/prod/"):
                event = copy.deepcopy(loaded)
                event.update(path="/", resource="/", pathParameters=None, body=None,
                             isBase64Encoded=False)
                event["requestContext"].update(path=outer, resourcePath="/")
                answer = handler(event, {"aws_request_id": "r"})
                assert answer["statusCode"] == 200
                assert '<base href="/prod/">' in answer["body"], outer

    def test_locally_the_base_is_the_root_or_the_root_path(self, settings: Settings) -> None:
        with TestClient(create_app(settings), base_url="https://testserver") as client:
            assert '<base href="/">' in client.get("/").text
        with TestClient(create_app(settings), root_path="/api") as client:
            assert '<base href="/api/">' in client.get("/").text

    def test_the_static_files_and_config_need_no_key(self, make_settings: Any) -> None:
        app = create_app(make_settings(usage_plans="local"))
        with TestClient(app, base_url="https://testserver") as client:
            for path in ("/", "/static/app.js", "/static/style.css", "/config"):
                assert client.get(path).status_code == 200, path
            assert client.get("/config").json()["api_key_required"] is True


def test_the_page_limits_what_it_may_load_and_the_docs_are_left_alone(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        page, docs = client.get("/"), client.get("/docs")
    policy = dict(
        directive.strip().split(" ", 1) for directive in
        page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert (policy["script-src"], policy["connect-src"]) == ("'self'", "'self'")
    assert policy["frame-ancestors"] == "'none'"
    # Swagger UI loads its script from a CDN and runs an inline one: no policy there.
    assert "content-security-policy" not in docs.headers
