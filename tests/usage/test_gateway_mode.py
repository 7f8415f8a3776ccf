"""USAGE_PLANS=gateway: API Gateway enforces; the app records the caller's key id."""

from __future__ import annotations

import base64
import copy
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

from app.logs import JsonFormatter
from app.main import create_app
from app.settings import Settings
from app.stage import lambda_handler
from tests.support.lambda_runtime import LambdaContainer

EVENT = json.loads(
    (Path(__file__).parents[1] / "fixtures/events/rest_v1_post_signin.json").read_text())


def test_the_key_id_is_in_every_log_line_of_the_request(
    make_settings: Callable[..., Settings],
) -> None:
    handler = LambdaContainer(lambda_handler(create_app(make_settings(usage_plans="gateway"))))
    stream = io.StringIO()
    log_handler = logging.StreamHandler(stream)
    log_handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app")
    logger.addHandler(log_handler)
    logger.setLevel(logging.INFO)
    try:
        event = copy.deepcopy(EVENT)
        event["requestContext"]["identity"]["apiKeyId"] = "k9x8y7"
        event["headers"]["Content-Type"] = "application/json"
        event["multiValueHeaders"]["Content-Type"] = ["application/json"]
        event["body"] = base64.b64encode(
            json.dumps({"username": "nobody", "password": "Wr0ng!pass"}).encode()).decode()
        # No key check in the app: API Gateway has done it.
        assert handler(event, None)["statusCode"] == 401
        event["path"] = "/public"
        event["httpMethod"] = "GET"
        assert handler(event, None)["statusCode"] == 200
    finally:
        logger.removeHandler(log_handler)
        handler.close()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    failed = next(line for line in lines if line["msg"] == "sign-in failed")
    assert failed["api_key_id"] == "k9x8y7"
