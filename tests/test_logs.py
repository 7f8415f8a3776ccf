"""A full run at DEBUG, then a read of every log line: no secret is ever written."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.moto import totp_code
from tests.support.outbox import Outbox
from tests.support.server import REPO, LiveServer
from tests.support.users import PASSWORD, AuthFlow

NEW_PASSWORD = "Another-Horse-8-Staple"
RESET_PASSWORD = "Third-Horse-9-Staple"
WRONG_PASSWORD = "Wrong-Horse-1-Staple"


def test_no_secret_reaches_the_logs(
    start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = start_server(LOG_LEVEL="DEBUG", USAGE_PLANS="local", COOKIE_SECURE="false")
    created = subprocess.run(
        [sys.executable, "-m", "app", "keys", "create", "--name", "logs", "--plan", "Pro",
         "--json"], cwd=REPO, env=server.env, capture_output=True, text=True, check=True)
    api_key = json.loads(created.stdout)["value"]
    outbox = Outbox(tmp_path / "outbox")
    secrets: dict[str, str] = {"api key": api_key, "password": PASSWORD,
                               "new password": NEW_PASSWORD, "reset password": RESET_PASSWORD,
                               "wrong password": WRONG_PASSWORD}

    with httpx.Client(base_url=server.url, headers={"x-api-key": api_key}) as client:
        flow = AuthFlow(client, outbox)
        user = flow.sign_up("logs")
        secrets["sign-up code"] = outbox.latest_code(user.email)
        flow.confirm(user)
        client.post("/auth/signin", json={"username": user.username, "password": WRONG_PASSWORD})
        signed_in = flow.sign_in(user)
        secrets["id token"] = signed_in.json()["token"]
        for name in ("access_token", "refresh_token", "csrf_token"):
            secrets[name] = client.cookies[name]
        assert client.get("/protected").status_code == 200
        client.get("/protected", headers={"Authorization": "Bearer forged.token.value"})

        secret = client.post("/auth/mfa/totp/setup", headers=flow.csrf()).json()["secret"]
        secrets["totp secret"] = secret
        secrets["totp code"] = totp_code(secret, offset_steps=-1)
        client.post("/auth/mfa/totp/verify", json={"code": secrets["totp code"]},
                    headers=flow.csrf())
        client.post("/auth/change_password", headers=flow.csrf(), json={
            "old_password": PASSWORD, "new_password": NEW_PASSWORD})
        client.post("/auth/update_attributes", headers=flow.csrf(),
                    json={"phone_number": "+15555550199"})
        secrets["sms code"] = outbox.latest_code("+15555550199", channel="sms")
        client.post("/auth/confirm_attribute", headers=flow.csrf(),
                    json={"attribute": "phone_number", "code": secrets["sms code"]})
        client.post("/auth/signout", headers=flow.csrf())

        challenge = client.post("/auth/signin", json={
            "username": user.username, "password": NEW_PASSWORD}).json()
        secrets["challenge session"] = challenge["session"]
        secrets["mfa code"] = totp_code(secret)
        answered = client.post("/auth/signin/challenge", json={
            "username": user.username, "session": challenge["session"],
            "challenge": "SOFTWARE_TOKEN_MFA", "code": secrets["mfa code"]})
        assert answered.status_code == 200, answered.text

        client.post("/auth/forgot_password", json={"username": user.username})
        secrets["reset code"] = outbox.latest_code(user.email)
        reset = client.post("/auth/confirm_forgot_password", json={
            "username": user.username, "code": secrets["reset code"],
            "password": RESET_PASSWORD})
        assert reset.status_code == 200, reset.text

    server.stop()
    lines = server.logs().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    # The run was logged, at DEBUG, request by request: the scan below has something to read.
    assert any(r["msg"] == "user signed in" for r in records)
    assert sum(r.get("logger") == "app.access" for r in records) > 15
    text = "\n".join(lines)
    leaked = [name for name, value in secrets.items() if value and value in text]
    assert leaked == [], f"secrets in the logs: {leaked}"
    # Deliveries go to stdout, apart from the logs: the codes are there, for a person.
    assert secrets["sign-up code"] in server.stdout_path.read_text()
