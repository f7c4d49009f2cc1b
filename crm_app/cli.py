"""`python -m crm_app COMMAND`: the operators' command line.

Every command is idempotent, says what it did, and exits 2 with a clear
message on bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from crm_app.errors import CRMError


def _migrate(args: argparse.Namespace) -> str:
    from crm_app import migrations

    migrations.upgrade()
    return f"Database at revision {migrations.current_head()}."


def _create_tenant(args: argparse.Namespace) -> str:
    from crm_app.db import session_scope
    from crm_app.services import access

    with session_scope() as session:
        tenant, created = access.ensure_tenant(session, name=args.name, slug=args.slug)
    verb = "Created" if created else "Already exists:"
    return f"{verb} tenant {tenant.slug!r} (id {tenant.id})."


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        from crm_app.config import named_variable

        value = named_variable(args.password_env)
        if not value:
            raise CRMError(f"environment variable {args.password_env} is empty")
        return value
    if args.password:
        return args.password
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\n")


def _create_user(args: argparse.Namespace) -> str:
    from crm_app.db import session_scope
    from crm_app.services import access

    password = _password(args)
    with session_scope() as session:
        tenant = access.get_tenant_by_slug(session, args.tenant)
        user, created = access.ensure_user(
            session, actor=None, tenant_id=tenant.id, email=args.email, name=args.name,
            role=args.role, password=password, is_platform_operator=args.platform_operator)
    verb = "Created" if created else "Already exists:"
    return f"{verb} user {user.email} ({user.role}) in tenant {args.tenant!r}."


def _platform_operator(args: argparse.Namespace) -> str:
    from crm_app.db import session_scope
    from crm_app.services import access

    with session_scope() as session:
        changed = access.set_platform_operator(session, email=args.email, enabled=not args.revoke)
    state = "no longer" if args.revoke else "now"
    return f"{args.email} is {state} a platform operator{'' if changed else ' (unchanged)'}."


def _create_inbox(args: argparse.Namespace) -> str:
    from crm_app.db import session_scope
    from crm_app.services import access, channel

    with session_scope() as session:
        tenant = access.get_tenant_by_slug(session, args.tenant)
        inbox, created = channel.ensure_inbox(
            session, actor=None, tenant_id=tenant.id, name=args.name or args.display_number,
            phone_number_id=args.phone_number_id, waba_id=args.waba_id, display_number=args.display_number,
            access_token=args.access_token, app_secret=args.app_secret, verify_token=args.verify_token,
            graph_base_url=args.graph_base_url)
    verb = "Created" if created else "Already exists:"
    return f"{verb} inbox {inbox.display_number} (phone_number_id {inbox.phone_number_id}) in {args.tenant!r}."


def _seed_demo(args: argparse.Namespace) -> str:
    from crm_app import migrations
    from crm_app.db import session_scope
    from crm_app.services import demo

    migrations.upgrade()
    with session_scope() as session:
        report = demo.seed_demo(session)
    users = ", ".join(report.users_created) or "none"
    return (f"Demo tenant {'created' if report.tenant_created else 'already there'}; "
            f"users created: {users}; inbox {'created' if report.inbox_created else 'already there'}.")


def _rebuild_rollups(args: argparse.Namespace) -> str:
    import datetime as dt

    from crm_app.db import session_scope
    from crm_app.services import access
    from crm_app.services.analytics import rollups

    try:
        since = dt.date.fromisoformat(args.since)
        until = dt.date.fromisoformat(args.until) if args.until else None
    except ValueError as exc:
        raise CRMError("--since and --until are dates, YYYY-MM-DD") from exc
    with session_scope() as session:
        tenant = access.get_tenant_by_slug(session, args.tenant)
        count = rollups.rebuild(session, tenant.id, since, until)
    return f"Rebuilt the analytics rollups of tenant {args.tenant!r} from {since}: {count} rows."


def _run(args: argparse.Namespace) -> str:
    from crm_app import launcher
    from crm_app.processes import ROLES

    roles = tuple(r.strip() for r in args.roles.split(",") if r.strip()) if args.roles else ROLES
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise CRMError(f"unknown roles: {', '.join(sorted(unknown))}; choose from {', '.join(ROLES)}")
    raise SystemExit(launcher.run(roles))


def _serve(args: argparse.Namespace) -> str:
    from crm_app.config import child_environment, get_settings
    from crm_app.processes import role_command, role_environment

    settings = get_settings()
    argv = role_command(args.role, settings)
    os.execvpe(argv[0], argv, child_environment(role_environment(args.role, settings)))
    return ""


def _audit_verify(args: argparse.Namespace) -> str:
    from crm_app.db import session_scope, utcnow
    from crm_app.services.audit import verify

    with session_scope() as session:
        reports = verify.verify_all(session, now=utcnow(), tenant_slug=args.tenant)
        for report in reports:
            verify.record_result(session, report, actor=None)
    lines = []
    for r in reports:
        if r.ok:
            lines.append(f"tenant {r.tenant_id}: intact, {r.checked} entries checked, newest seq {r.last_seq}")
        else:
            lines.append(f"tenant {r.tenant_id}: BROKEN: {r.broken.problem} at entry {r.broken.entry_id} "
                         f"(seq {r.broken.seq}); {r.checked} entries checked before it")
    if any(not r.ok for r in reports):
        raise ChainBroken("\n".join(lines))
    return "\n".join(lines) or "No audit chains yet."


def _privacy_reapply_ledger(args: argparse.Namespace) -> str:
    from sqlmodel import select

    from crm_app.db import session_scope
    from crm_app.models import Tenant
    from crm_app.services import access
    from crm_app.services.compliance import erasure

    with session_scope() as session:
        if args.tenant:
            tenants = [access.get_tenant_by_slug(session, args.tenant)]
        else:
            tenants = list(session.exec(select(Tenant).order_by(Tenant.id)).all())
        targets = [(t.id, t.slug) for t in tenants]
    lines = [f"tenant {slug!r}: {erasure.reapply_ledger(tenant_id)} erased contacts erased again"
             for tenant_id, slug in targets]
    return "\n".join(lines) or "No tenants."


def _tenant_delete(args: argparse.Namespace) -> str:
    from crm_app.db import session_scope
    from crm_app.services import access
    from crm_app.services.compliance import tenant_deletion

    if args.confirm != args.slug:
        raise CRMError(f"type the tenant's slug again to confirm: --confirm {args.slug}")
    with session_scope() as session:
        tenant = access.get_tenant_by_slug(session, args.slug)
        done = tenant_deletion.delete_tenant(session, actor=None, tenant_id=tenant.id)
    return (f"Deleted tenant {args.slug!r} (id {done.tenant_id}): {done.entries} audit entries purged through seq "
            f"{done.last_seq}; its stored files removed; purge record written.")


class ChainBroken(CRMError):
    """`audit-verify` found a break: exit non-zero with the report."""

    code = "audit_chain_broken"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    from crm_app.processes import ROLES

    parser = argparse.ArgumentParser(prog="python -m crm_app", description="WhatsApp CRM operator commands")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=_migrate)

    p = sub.add_parser("create-tenant", help="create a tenant")
    p.add_argument("--name", required=True)
    p.add_argument("--slug", required=True)
    p.set_defaults(fn=_create_tenant)

    p = sub.add_parser("create-user", help="create a user in a tenant")
    p.add_argument("--tenant", required=True, help="tenant slug")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=["admin", "supervisor", "attendant", "executive"])
    p.add_argument("--password", help="prefer --password-env or standard input")
    p.add_argument("--password-env", help="read the password from this environment variable")
    p.add_argument("--platform-operator", action="store_true")
    p.set_defaults(fn=_create_user)

    p = sub.add_parser("platform-operator", help="let an admin manage every tenant at /platform/tenants")
    p.add_argument("--email", required=True)
    p.add_argument("--revoke", action="store_true", help="withdraw the flag instead")
    p.set_defaults(fn=_platform_operator)

    p = sub.add_parser("create-inbox", help="connect a WhatsApp number to a tenant")
    p.add_argument("--tenant", required=True, help="tenant slug")
    p.add_argument("--name", default="")
    p.add_argument("--phone-number-id", required=True)
    p.add_argument("--waba-id", required=True)
    p.add_argument("--display-number", required=True)
    p.add_argument("--access-token", required=True)
    p.add_argument("--app-secret", required=True)
    p.add_argument("--verify-token", required=True)
    p.add_argument("--graph-base-url", default="https://graph.facebook.com/v23.0")
    p.set_defaults(fn=_create_inbox)

    sub.add_parser("seed-demo", help="create the demo tenant").set_defaults(fn=_seed_demo)
    p = sub.add_parser("audit-verify", help="check every audit chain and its anchors; exit 1 on a break")
    p.add_argument("--tenant", help="only this tenant's chain (its slug)")
    p.set_defaults(fn=_audit_verify)
    p = sub.add_parser("privacy-reapply-ledger",
                       help="after a restore: erase again everyone in the erasure ledger (file and database)")
    p.add_argument("--tenant", help="only this tenant (its slug)")
    p.set_defaults(fn=_privacy_reapply_ledger)
    p = sub.add_parser("tenant-delete", help="delete a suspended tenant: its rows, audit chain and stored files")
    p.add_argument("slug", help="the tenant's slug")
    p.add_argument("--confirm", required=True, help="the same slug again")
    p.set_defaults(fn=_tenant_delete)
    p = sub.add_parser("rebuild-rollups", help="recompute a tenant's analytics day rollups from its facts")
    p.add_argument("--tenant", required=True, help="tenant slug")
    p.add_argument("--since", required=True, help="first local day, YYYY-MM-DD")
    p.add_argument("--until", help="last local day (default: today)")
    p.set_defaults(fn=_rebuild_rollups)
    p = sub.add_parser("run", help="start every process (make run)")
    p.add_argument("--roles", help="comma-separated subset of the roles (default: all)")
    p.set_defaults(fn=_run)
    p = sub.add_parser("serve", help="run one role of the process list")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(fn=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv`, run the command, print its result; 2 on bad input."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], str] = args.fn
    try:
        print(handler(args))
    except ChainBroken as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except CRMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0
