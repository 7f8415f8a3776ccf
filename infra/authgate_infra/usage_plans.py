"""The usage plans and API keys of the plans file, on the API's prod stage."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_apigateway as apigateway
from constructs import Construct

from app.usage.plans import Plan, PlansFile

_PERIODS = {
    "DAY": apigateway.Period.DAY,
    "WEEK": apigateway.Period.WEEK,
    "MONTH": apigateway.Period.MONTH,
}


class UsagePlans(Construct):
    """One usage plan per plan, one API key per key.

    Keys get no value here: API Gateway generates it, so the template holds none (read it
    with `aws apigateway get-api-key --include-value`). Construct ids come from the names,
    so reordering the file changes nothing, while renaming a key replaces it (a new value).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        plans: PlansFile,
        api: apigateway.RestApi,
        stage: apigateway.Stage,
        methods: Mapping[str, apigateway.Method],
        name_prefix: str,
    ) -> None:
        super().__init__(scope, id)
        self.plans: dict[str, apigateway.UsagePlan] = {}
        for plan in plans.plans:
            self.plans[plan.name] = self._plan(plan, api, stage, methods, name_prefix)
        self.keys: dict[str, apigateway.ApiKey] = {}
        for key in plans.keys:
            if key.name in self.keys:
                raise ValueError(f"plans file: two keys are named {key.name!r}")
            api_key = apigateway.ApiKey(
                self, f"Key {key.name}",
                api_key_name=f"{name_prefix}-{key.name}",
                description=key.description or None,
                enabled=key.enabled,
            )
            self.plans[key.plan].add_api_key(api_key)
            self.keys[key.name] = api_key

    def _plan(
        self,
        plan: Plan,
        api: apigateway.RestApi,
        stage: apigateway.Stage,
        methods: Mapping[str, apigateway.Method],
        name_prefix: str,
    ) -> apigateway.UsagePlan:
        per_method = [
            apigateway.ThrottlingPerMethod(
                method=methods[route],
                throttle=apigateway.ThrottleSettings(
                    rate_limit=throttle.rate_limit, burst_limit=throttle.burst_limit
                ),
            )
            for route, throttle in plan.method_throttles.items()
        ]
        quota = None
        if plan.quota is not None:
            quota = apigateway.QuotaSettings(
                limit=plan.quota.limit,
                period=_PERIODS[plan.quota.period],
                offset=plan.quota.offset,
            )
        return apigateway.UsagePlan(
            self, f"Plan {plan.name}",
            name=f"{name_prefix}-{plan.name}",
            description=plan.description or None,
            throttle=apigateway.ThrottleSettings(
                rate_limit=plan.throttle.rate_limit, burst_limit=plan.throttle.burst_limit
            ),
            quota=quota,
            api_stages=[
                apigateway.UsagePlanPerApiStage(api=api, stage=stage, throttle=per_method)
            ],
        )
