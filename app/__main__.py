"""The command line: `python -m app serve | users ... | keys ...` (SPEC §8).

Errors go to stderr with what to do next, and the exit status is non-zero: 1 when the
operation was refused, 2 when the command is wrong or incomplete (a `delete` without
`--yes`) or the settings are.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import string
import sys
from collections.abc import Callable, Sequence
from typing import Any

from app.console import int_between, render_table
from app.errors import AppError
from app.settings import Settings, SettingsError, load_settings


def _identity(settings: Settings):  # type: ignore[no-untyped-def]
    from app.identity.factory import build_identity_provider

    return build_identity_provider(settings)


# ---------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.logs import configure_logging

    configure_logging(settings.log_level)
    if settings.usage_plans == "local" and args.dev_key:
        from app.usage.cli import ensure_dev_key

        ensure_dev_key(settings)
    if settings.usage_plans == "local" and args.workers > 1 and not args.reload:
        # Quotas are shared through the pool's store; token buckets live in each process.
        print(f"note: with --workers {args.workers}, each worker throttles on its own, so a "
              f"key's rate and burst are up to {args.workers} times the plan's (quotas are "
              "shared). Run one worker to throttle exactly.", file=sys.stderr)
    print(
        f"Serving on http://{args.host}:{args.port}  (docs: /docs, frontend: /)  "
        f"backend={settings.auth_backend} usage_plans={settings.usage_plans}",
        file=sys.stderr,
    )
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=None if args.reload else args.workers,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )
    return 0


# ---------------------------------------------------------------- users


def _user_row(user: Any) -> list[str]:
    return [
        user.username,
        user.email or "",
        "Yes" if user.email_verified else "No",
        {"UNCONFIRMED": "Unconfirmed", "CONFIRMED": "Confirmed",
         "FORCE_CHANGE_PASSWORD": "Force change password",
         "RESET_REQUIRED": "Reset required",
         "EXTERNAL_PROVIDER": "External provider"}.get(user.status, user.status),
        "Enabled" if user.enabled else "Disabled",
    ]


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    # The console mail backend prints deliveries (a reset code, say) on stdout: here they
    # go to stderr, so that stdout holds the command's answer alone (one JSON document).
    with contextlib.redirect_stdout(sys.stderr):
        identity = _identity(settings)
        answer = _users_answer(identity, args)
    if answer is not None:
        print(answer)
    return 0 if answer is not None else 2


def _users_answer(identity: Any, args: argparse.Namespace) -> str | None:
    """What `users <action>` prints on stdout; None when it refused to act."""
    from app.identity.provider import UserAttributes

    action = args.users_command
    if action == "list":
        users = identity.admin_list_users(limit=args.limit + 1)
        more, users = len(users) > args.limit, users[:args.limit]
        if args.json:
            return json.dumps([user._asdict() for user in users], default=str)
        if not users:
            return "No users yet. Sign up through POST /auth/signup or `users create`."
        table = render_table(
            [_user_row(user) for user in users],
            ["User name", "Email", "Email verified", "Confirmation status", "Status"],
        )
        return table + (f"\n(the first {args.limit}; --limit shows up to 60)" if more else "")
    if action == "show":
        user = identity.admin_get_user(args.username)
        if args.json:
            return json.dumps(user._asdict(), default=str)
        return "\n".join(f"{key:22} {value}" for key, value in user._asdict().items())
    if action == "create":
        password = args.temporary_password or _temporary_password()
        user = identity.admin_create_user(
            args.username, password,
            UserAttributes(email=args.email, phone_number=args.phone_number),
        )
        if args.json:
            return json.dumps({**user._asdict(), "temporary_password": password}, default=str)
        return (f"Created {user.username}. Temporary password: {password}\n"
                "They must choose a new password at their first sign-in.")
    simple: dict[str, Callable[[str], None]] = {
        "confirm": identity.admin_confirm_sign_up,
        "disable": lambda name: identity.admin_set_enabled(name, False),
        "enable": lambda name: identity.admin_set_enabled(name, True),
        "delete": identity.admin_delete_user,
        "reset-password": identity.admin_reset_user_password,
    }
    if action == "delete" and not args.yes:
        print(f"This deletes {args.username} for good. Run again with --yes.", file=sys.stderr)
        return None
    simple[action](args.username)
    done = {"confirm": "confirmed", "disable": "disabled", "enable": "enabled",
            "delete": "deleted", "reset-password": "must reset their password"}[action]
    return (json.dumps({"username": args.username, "result": done}) if args.json
            else f"{args.username}: {done}")


def _checked(kind: str) -> Callable[[str], str]:
    """An argument checked as the sign-up API checks that attribute (`app.auth.schemas`)."""

    def check(text: str) -> str:
        from pydantic import TypeAdapter, ValidationError

        from app.auth import schemas

        try:
            return str(TypeAdapter(getattr(schemas, kind)).validate_python(text))
        except ValidationError:
            example = "+15555550123" if kind == "PhoneNumber" else "name@example.com"
            raise argparse.ArgumentTypeError(f"{text!r} is not valid: like {example}") from None

    return check


def _temporary_password() -> str:
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(14))
    return f"{core}a1A!"


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API, the docs and the frontend")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-dev-key", dest="dev_key", action="store_false",
        help="with USAGE_PLANS=local, do not create and print a development API key",
    )

    users = commands.add_parser("users", help="manage the user pool's users")
    users.add_argument("--json", action="store_true", help="print JSON")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    listing = user_commands.add_parser("list", help="list users, like the Cognito console")
    listing.add_argument("--limit", type=int_between(1, 60), default=60,
                         help="1 to 60, as Cognito's")
    listing.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    for name, text in (
        ("show", "show one user"),
        ("confirm", "confirm a user without a code"),
        ("disable", "disable a user (their tokens stop working)"),
        ("enable", "enable a disabled user"),
        ("delete", "delete a user"),
        ("reset-password", "mark the credentials compromised: sign-in needs a reset"),
    ):
        sub = user_commands.add_parser(name, help=text)
        sub.add_argument("username")
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
        if name == "delete":
            sub.add_argument("--yes", action="store_true", help="do not ask")
    create = user_commands.add_parser("create", help="create a user with a temporary password")
    create.add_argument("username")
    create.add_argument("--email", type=_checked("Email"))
    create.add_argument("--phone-number", type=_checked("PhoneNumber"),
                        help="E.164, such as +15555550123")
    create.add_argument("--temporary-password", help="default: a random one, printed")
    create.add_argument("--json", action="store_true", default=argparse.SUPPRESS)

    from app.usage.cli import add_keys_parser

    add_keys_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    handlers: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "serve": cmd_serve,
        "users": cmd_users,
    }
    try:
        if args.command == "keys":
            from app.usage.cli import cmd_keys

            return cmd_keys(args, settings)
        return handlers[args.command](args, settings)
    except AppError as exc:
        print(f"error: {exc.message} ({exc.code})", file=sys.stderr)
        if exc.code == "ServiceUnavailable" and settings.auth_backend == "local":
            # The API's answer names no path; the operator at the terminal needs one.
            print(f"The pool is in {settings.local_pool_dir.resolve()} (LOCAL_POOL_DIR): "
                  "check that it is a directory you can write to.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
