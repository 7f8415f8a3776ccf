"""`python -m app keys ...`: create, import, list, disable and report on API keys.

A running server sees a change within a few seconds (it reloads keys every
`KEY_RELOAD_SECONDS`); no restart is needed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.console import int_between, print_table
from app.errors import AppError, InvalidParameterError
from app.settings import Settings
from app.usage.factory import build_key_store, load_configured_plans
from app.usage.keys import ApiKey, KeyStore
from app.usage.limiter import period_start
from app.usage.plans import PlansFile, PlansFileError

DEV_KEY_FILE = "dev-api-key"
DEV_KEY_NAME = "development"


def add_keys_parser(commands: Any) -> None:
    keys = commands.add_parser("keys", help="manage API keys for usage plans")
    keys.add_argument("--json", action="store_true", help="print one JSON document")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    create = sub.add_parser("create", help="create a key (its value is shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--plan", required=True, help="a plan name from the plans file")
    create.add_argument("--value", help="a value of your own (20-128 characters)")
    create.add_argument("--description", default="")
    importing = sub.add_parser("import", help="import keys from API Gateway's CSV format")
    importing.add_argument("file", type=Path)
    sub.add_parser("list", help="list keys (never their values)")
    for name, text in (("disable", "disable a key"), ("enable", "enable a disabled key")):
        sub.add_parser(name, help=text).add_argument("id")
    usage = sub.add_parser("usage", help="requests used and quota left per day, like GetUsage")
    usage.add_argument("id", nargs="?")
    # At most 90 days, as API Gateway's GetUsage.
    usage.add_argument("--days", type=int_between(1, 90), default=7, help="1 to 90 (default 7)")
    for parser in sub.choices.values():
        parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS)


def _plans(settings: Settings) -> PlansFile:
    try:
        return load_configured_plans(settings)
    except PlansFileError as exc:
        raise InvalidParameterError(str(exc)) from None


def _check_plan(plans: PlansFile, name: str) -> None:
    try:
        plans.plan(name)
    except KeyError:
        known = ", ".join(plan.name for plan in plans.plans)
        raise InvalidParameterError(f"No plan named {name!r}. Plans: {known}.") from None


def _print_keys(keys: list[ApiKey], as_json: bool) -> None:
    if as_json:
        print(json.dumps([key.public() for key in keys]))
        return
    if not keys:
        print("No API keys yet. Create one with `python -m app keys create --name N --plan P`.")
        return
    print_table(
        [[k.id, k.name, k.plan, "yes" if k.enabled else "no", k.prefix + "...",
          datetime.fromtimestamp(k.created_at, UTC).strftime("%Y-%m-%d %H:%M")] for k in keys],
        ["Id", "Name", "Plan", "Enabled", "Prefix", "Created (UTC)"],
    )


_EXTRA = "\0extra"  # where csv puts the fields of a row beyond the header's


def import_csv(store: KeyStore, plans: PlansFile, path: Path) -> list[dict[str, Any]]:
    """Import API Gateway's CSV (`Name,Key,Description,Enabled,UsagePlanIds`), row by row.

    A bad row is reported and skipped; the others are imported. A key whose value is
    already stored is overwritten with the row, as API Gateway's import does. Progress
    goes to stderr.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(text.splitlines(), restkey=_EXTRA))
    except OSError as exc:
        raise InvalidParameterError(f"Cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidParameterError(f"{path} is not UTF-8 text: save it as UTF-8.") from None
    except csv.Error as exc:
        raise InvalidParameterError(f"{path} is not a CSV file: {exc}.") from None
    outcomes: list[dict[str, Any]] = []
    for number, raw in enumerate(rows, start=2):  # line 1 is the header
        extra = raw.pop(_EXTRA, None)
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        name, value = row.get("name", ""), row.get("key", "")
        plan_ids = [p.strip() for p in row.get("usageplanids", "").split(",") if p.strip()]
        outcome: dict[str, Any] = {"row": number, "name": name}
        try:
            if extra:
                raise InvalidParameterError(
                    "The row has more fields than the header: quote a value that holds a "
                    'comma ("plan1,plan2").')
            if not name or not value:
                raise InvalidParameterError("Name and Key are required.")
            if len(plan_ids) != 1:
                raise InvalidParameterError("UsagePlanIds must name exactly one plan.")
            _check_plan(plans, plan_ids[0])
            enabled = row.get("enabled", "true").lower() not in ("false", "0", "no")
            key, created = store.import_key(name, plan_ids[0], value=value,
                                            description=row.get("description", ""),
                                            enabled=enabled)
            # The key's record, as `list` shows it; a value imported before is overwritten.
            outcome |= {"result": "imported" if created else "updated", **key.public()}
        except AppError as exc:
            outcome |= {"result": "skipped", "reason": exc.message}
        outcomes.append(outcome)
        if len(rows) >= 100 and len(outcomes) % 100 == 0:
            print(f"  {len(outcomes)}/{len(rows)} rows", file=sys.stderr, flush=True)
    return outcomes


def usage_report(store: KeyStore, plans: PlansFile, key: ApiKey, days: int,
                 today: datetime | None = None) -> dict[str, Any]:
    """Per day: [used, remaining], as API Gateway's GetUsage reports them.

    Remaining is the quota less the requests served in the period up to that day. Not
    less what running servers have reserved: they will still serve those. (A server that
    crashed loses what it had reserved and not served, so the quota may run out that much
    sooner; never later.)
    """
    today = today or datetime.now(UTC)
    end = today.date()
    start = end - timedelta(days=days - 1)
    quota = plans.plan(key.plan).quota if key.plan in {p.name for p in plans.plans} else None
    # From the start of the first day's quota period: "remaining" counts the whole period.
    used = store.daily(key.id, period_start(quota, start) if quota else start, end)
    items = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        remaining = None
        if quota is not None:
            period = period_start(quota, day)
            served = sum(count for when, count in used.items()
                         if period.isoformat() <= when <= day.isoformat())
            remaining = max(0, quota.limit - served)
        items.append([day.isoformat(), used.get(day.isoformat(), 0), remaining])
    return {"id": key.id, "name": key.name, "plan": key.plan, "startDate": start.isoformat(),
            "endDate": end.isoformat(), "items": items}


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    store = build_key_store(settings)
    as_json = args.json
    command = args.keys_command
    if command == "create":
        plans = _plans(settings)
        _check_plan(plans, args.plan)
        key, value = store.create(args.name, args.plan, value=args.value,
                                  description=args.description)
        if as_json:
            print(json.dumps({**key.public(), "value": value}))
        else:
            print(f"Created key {key.id} ({key.name}) on plan {key.plan}.")
            print(f"Value (shown only now): {value}")
            print("Send it in the x-api-key header.")
        return 0
    if command == "import":
        outcomes = import_csv(store, _plans(settings), args.file)
        if as_json:
            print(json.dumps(outcomes))
        else:
            for outcome in outcomes:
                detail = outcome.get("id") or outcome.get("reason")
                print(f"row {outcome['row']}: {outcome['result']} {outcome['name']!r}: {detail}")
        skipped = sum(1 for outcome in outcomes if outcome["result"] == "skipped")
        updated = sum(1 for outcome in outcomes if outcome["result"] == "updated")
        if not as_json:
            print(f"{len(outcomes) - skipped - updated} imported, {updated} updated, "
                  f"{skipped} skipped.")
        return 1 if skipped else 0
    if command == "list":
        _print_keys(store.list(), as_json)
        return 0
    if command in ("disable", "enable"):
        key = store.set_enabled(args.id, command == "enable")
        print(json.dumps(key.public()) if as_json else f"{key.id} ({key.name}): {command}d")
        return 0
    plans = _plans(settings)
    keys = [store.get(args.id)] if args.id else store.list()
    reports = [usage_report(store, plans, key, args.days) for key in keys]
    if as_json:
        print(json.dumps(reports[0] if args.id else reports))
        return 0
    for report in reports:
        print(f"{report['id']} ({report['name']}, plan {report['plan']})")
        for day, used, remaining in report["items"]:
            left = "no quota" if remaining is None else f"{remaining} left in the period"
            print(f"  {day}  {used:>7} used  {left}")
    return 0


def ensure_dev_key(settings: Settings) -> str:
    """A development key on the plans file's development plan, created once and printed.

    Its value is kept in the pool directory (mode 0600) so every run can print it: this
    is a laptop's own key, not one to hand out.
    """
    plans = _plans(settings)
    plan = plans.development_plan or plans.plans[0].name
    path = settings.local_pool_dir / DEV_KEY_FILE
    store = build_key_store(settings)
    value = path.read_text().strip() if path.exists() else ""
    known = store.find_by_name(DEV_KEY_NAME)
    if not value or known is None:
        _, value = store.create(DEV_KEY_NAME, plan, description="created by `serve`")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
    print(f"Development API key (plan {plan}), for the x-api-key header: {value}",
          file=sys.stderr)
    return value
