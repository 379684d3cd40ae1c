"""`corral` command line: serve, check-config, db upgrade; and, against a running
service, schedule, explain, capacity and demo."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from corral.service.config_files import ConfigLoadError, ConfigSource


def _source(args: argparse.Namespace) -> ConfigSource:
    return ConfigSource(
        files=tuple(args.config_file or ()),
        dirs=tuple(args.config_dir or ()),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from corral.service.launcher import ServeOptions, prepare, serve

    options = ServeOptions(
        source=_source(args),
        host=args.host,
        port=args.port,
        database=args.database,
        data_dir=args.data_dir,
        profile=args.conformance_profile,
        workers=args.workers,
        auth_strategy=args.auth_strategy,
    )
    plan, problems = prepare(options)
    if plan is None:
        for problem in problems:
            if problem.severity == "error":
                print(f"corral: error: {problem}", file=sys.stderr)
        print("corral: refusing to start; nothing was started", file=sys.stderr)
        return 2
    return serve(plan)


def cmd_check_config(args: argparse.Namespace) -> int:
    from corral.config_audit.report import audit, render_json, render_text

    try:
        report = audit(_source(args), bind_host=args.host)
    except ConfigLoadError as exc:
        print(f"corral: error: {exc}", file=sys.stderr)
        return 2
    print(render_json(report) if args.format == "json" else render_text(report))
    return 1 if report.has_errors else 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from corral.service.config_files import load
    from corral.service.launcher import ServeOptions, database_url
    from corral.store import migrate
    from corral.store.database import Database

    loaded = load(_source(args))
    options = ServeOptions(database=args.database, data_dir=args.data_dir)
    db = Database(database_url(options, loaded.conf.placement_database.connection))
    migrate.upgrade(db)
    print(f"database at revision {migrate.current_revision(db)}")
    return 0


def cmd_db_import_placement(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from corral.cli_output import StageProgress, render_import_report
    from corral.service.config_files import load
    from corral.service.launcher import ServeOptions, database_url
    from corral.store import import_placement as imp
    from corral.store import migrate
    from corral.store.database import Database

    source = args.source_url
    if source == "-":
        # Read from stdin, so that a password stays out of the process list.
        source = sys.stdin.readline().strip()
    try:
        loaded = load(_source(args))
    except ConfigLoadError as exc:
        print(f"corral: error: {exc}", file=sys.stderr)
        return 2
    options = ServeOptions(database=args.database, data_dir=args.data_dir)
    target = database_url(options, loaded.conf.placement_database.connection)
    try:
        db = Database(target)
        migrate.upgrade(db)
    except (ValueError, SQLAlchemyError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(
            f"corral: error: cannot prepare the target {imp.safe_url(target)}: {detail}",
            file=sys.stderr,
        )
        return 2
    try:
        print(
            f"importing {imp.safe_url(source)} into {imp.safe_url(db.url)}",
            file=sys.stderr,
            flush=True,
        )
        try:
            report = imp.import_placement(source, db, progress=StageProgress(sys.stderr))
        except imp.ImportRefused as exc:
            print(f"corral: error: {exc}", file=sys.stderr)
            return 2
        except imp.ImportMismatch as exc:
            print(render_import_report(exc.report))
            print(f"corral: error: {exc}", file=sys.stderr)
            return 1
    finally:
        db.dispose()
    print(render_import_report(report))
    print("imported and committed; start corral on this database", file=sys.stderr)
    return 0


def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not within {low}..{high}")
        return value

    return parse


class _UsageError(Exception):
    pass


def _load_spec_file(path: str) -> dict[str, Any]:
    """A request_spec from a JSON file: the spec itself, or a body holding one."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise _UsageError(f"cannot read spec file {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("request_spec"), dict):
        data = data["request_spec"]
    if not isinstance(data, dict):
        raise _UsageError(f"spec file {path} does not hold a JSON object")
    return data


def _spec_from_args(args: argparse.Namespace) -> dict[str, Any]:
    from corral.client import build_request_spec, parse_extra_specs

    try:
        return build_request_spec(
            base=_load_spec_file(args.spec_file) if args.spec_file else None,
            vcpus=args.vcpus,
            memory_mb=args.memory_mb,
            disk_gb=args.disk_gb,
            num_instances=args.num,
            availability_zone=args.az,
            project_id=args.project,
            group=args.group,
            extra_specs=parse_extra_specs(args.extra_spec or ()),
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _run_remote(args: argparse.Namespace, action: Callable[[Any], int]) -> int:
    """Run `action` with a client of the service; errors become exit status 2."""
    from corral.client import ApiError, ClientError, CorralClient
    from corral.demo import DemoRefused

    client = None
    try:
        client = CorralClient(args.url, args.token, timeout=args.timeout)
        return action(client)
    except (_UsageError, ClientError, DemoRefused) as exc:
        print(f"corral: error: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"corral: error: HTTP {exc.status}: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        if client is not None:
            client.close()


def cmd_schedule(args: argparse.Namespace) -> int:
    from corral.cli_output import render_explanation, render_selections
    from corral.client import ApiError, CorralClient

    def action(client: CorralClient) -> int:
        spec = _spec_from_args(args)
        try:
            answer = client.select_destinations(spec, return_alternates=not args.no_alternates)
        except ApiError as exc:
            if not exc.no_valid_host:
                raise
            print(f"No valid host: {exc.detail}")
            if exc.explanation is not None:
                print()
                print(render_explanation(exc.explanation))
            return 1
        print(render_selections(answer))
        return 0

    return _run_remote(args, action)


def cmd_explain(args: argparse.Namespace) -> int:
    from corral.cli_output import render_explanation
    from corral.client import CorralClient

    def action(client: CorralClient) -> int:
        answer = client.explain(_spec_from_args(args))
        print(render_explanation(answer))
        return 0 if answer.get("would_fit") else 1

    return _run_remote(args, action)


def _capacity_query(args: argparse.Namespace, resources: str) -> list[tuple[str, str]]:
    query = [("resources", resources)]
    query += [("required", trait) for trait in args.required or ()]
    query += [("member_of", agg) for agg in args.member_of or ()]
    for key, value in (
        ("availability_zone", args.az),
        ("aggregate", args.aggregate),
        ("project", args.project),
        ("smallest", args.smallest),
    ):
        if value is not None:
            query.append((key, value))
    return query


def cmd_capacity(args: argparse.Namespace) -> int:
    from corral.cli_output import render_capacity
    from corral.client import CorralClient

    def action(client: CorralClient) -> int:
        shapes = list(args.resources)
        answers = [client.capacity(_capacity_query(args, shape)) for shape in shapes]
        print(render_capacity(shapes, answers, args.by))
        return 0

    return _run_remote(args, action)


def cmd_demo(args: argparse.Namespace) -> int:
    from corral import demo
    from corral.client import CorralClient

    def action(client: CorralClient) -> int:
        return demo.run(
            client, sys.stdout, hosts=args.hosts, instances=args.instances, force=args.force
        )

    return _run_remote(args, action)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from corral.client import CorralClient
    from corral.whatif import snapshot

    def action(client: CorralClient) -> int:
        def step(what: str) -> None:
            print(f"reading {what} ...", file=sys.stderr)

        try:
            taken = snapshot.take(client, step=step)
            snapshot.save(taken, args.output)
        except (snapshot.SnapshotError, OSError) as exc:
            print(f"corral: error: {exc}", file=sys.stderr)
            return 2
        print(
            f"{args.output}: {len(taken['hosts'])} hosts, {len(taken['providers'])} providers, "
            f"{len(taken['aggregates'])} aggregates, {len(taken['server_groups'])} server "
            f"groups, {len(taken['instances'])} instances, {len(taken['allocations'])} "
            "consumers with allocations"
        )
        return 0

    return _run_remote(args, action)


def _add_remote(parser: argparse.ArgumentParser) -> None:
    """How to reach a running service."""
    parser.add_argument(
        "--url",
        default=os.environ.get("CORRAL_URL", "http://127.0.0.1:8778"),
        help="the service's URL (default $CORRAL_URL or http://127.0.0.1:8778, `make run`)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("CORRAL_TOKEN", "admin"),
        help="sent as X-Auth-Token (default $CORRAL_TOKEN or admin, the noauth2 admin)",
    )
    parser.add_argument(
        "--timeout", type=_bounded(1, 3600), default=60, help="seconds per HTTP request"
    )


def _add_request(parser: argparse.ArgumentParser) -> None:
    """What to schedule: a flavor and the request's constraints."""
    parser.add_argument("--vcpus", type=_bounded(1, 2_147_483_647), help="default 1")
    parser.add_argument("--memory-mb", type=_bounded(1, 2_147_483_647), help="default 512")
    parser.add_argument("--disk-gb", type=_bounded(0, 2_147_483_647), help="root disk, default 0")
    parser.add_argument("--num", type=_bounded(1, 1000), help="instances (default 1)")
    parser.add_argument("--az", help="availability zone")
    parser.add_argument("--project", help="project id of the instances")
    parser.add_argument("--group", metavar="UUID", help="server group of the instances")
    parser.add_argument(
        "--extra-spec",
        action="append",
        metavar="KEY=VALUE",
        help="flavor extra spec, e.g. resources:VGPU=1 or trait:HW_CPU_X86_AVX2=required "
        "(repeatable)",
    )
    parser.add_argument(
        "--spec-file",
        metavar="FILE",
        help="a request_spec as JSON (the options above override its fields)",
    )


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes, before or after the command name."""

    def default(value: object) -> object:
        # After the command name, an option not given must not reset what
        # was given before it.
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--config-file",
        action="append",
        default=default(None),
        help="config file (repeatable; default /etc/corral/corral.conf when present)",
    )
    parser.add_argument(
        "--config-dir",
        action="append",
        default=default(None),
        help="directory of *.conf files (repeatable)",
    )
    parser.add_argument(
        "--data-dir", default=default("./data"), help="directory for the SQLite database"
    )
    parser.add_argument(
        "--database", default=default(None), help="database URL (overrides [placement_database])"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corral", description=__doc__)
    _add_common(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, suppress=True)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the API service")
    serve.add_argument("--host", help="listen address (overrides [api] bind_host)")
    serve.add_argument("--port", type=int, help="listen port (overrides [api] bind_port)")
    serve.add_argument(
        "--workers", type=_positive_int, help="API worker processes (overrides [api] workers)"
    )
    serve.add_argument(
        "--auth-strategy",
        choices=("keystone", "noauth2"),
        help="overrides [api] auth_strategy; noauth2 is refused unless the listen "
        "address is loopback",
    )
    serve.add_argument(
        "--conformance-profile",
        help="configure for an upstream test profile (one worker unless told otherwise)",
    )
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser(
        "check-config",
        parents=[common],
        help="audit a corral config or a Nova nova.conf; non-zero on errors",
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--host", help="the listen address serve would use (for the noauth check)")
    check.set_defaults(func=cmd_check_config)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser(
        "upgrade", parents=[common], help="upgrade the schema to the newest revision"
    )
    upgrade.set_defaults(func=cmd_db_upgrade)
    importer = db_sub.add_parser(
        "import-placement",
        parents=[common],
        help="copy an upstream Placement database (openstack-placement 16.0.0) into this "
        "empty one; 2 when refused, 1 when the copy does not match (rolled back)",
    )
    importer.add_argument(
        "--from",
        dest="source_url",
        required=True,
        metavar="URL",
        help="the upstream database, e.g. mysql+pymysql://placement:PW@db/placement "
        "(only read); - reads the URL from stdin",
    )
    importer.set_defaults(func=cmd_db_import_placement)

    schedule = sub.add_parser(
        "schedule",
        help="choose and claim hosts for instances in a running service; 1 on no valid host",
    )
    _add_remote(schedule)
    _add_request(schedule)
    schedule.add_argument(
        "--no-alternates", action="store_true", help="ask for the chosen hosts only"
    )
    schedule.set_defaults(func=cmd_schedule)

    explain = sub.add_parser(
        "explain",
        help="why hosts would or would not take a request (claims nothing); 1 when none would",
    )
    _add_remote(explain)
    _add_request(explain)
    explain.set_defaults(func=cmd_explain)

    capacity = sub.add_parser(
        "capacity",
        help="how many more instances of each shape fit, per zone, in a running service",
    )
    _add_remote(capacity)
    capacity.add_argument(
        "--resources",
        action="append",
        required=True,
        metavar="RC:N,...",
        help="a shape as GET /allocation_candidates takes it, e.g. VCPU:2,MEMORY_MB:4096 "
        "(repeatable: one column per shape)",
    )
    capacity.add_argument(
        "--required", action="append", metavar="TRAITS", help="required traits (every shape)"
    )
    capacity.add_argument(
        "--member-of", action="append", metavar="AGGS", help="member_of (every shape)"
    )
    capacity.add_argument("--az", help="count only this availability zone")
    capacity.add_argument("--aggregate", help="count only this host aggregate (name, id, uuid)")
    capacity.add_argument("--project", help="project id the instances would belong to")
    capacity.add_argument(
        "--smallest", metavar="RC:N,...", help="what stranded capacity is measured against"
    )
    capacity.add_argument(
        "--by", choices=("zone", "aggregate", "host"), default="zone", help="rows (default zone)"
    )
    capacity.set_defaults(func=cmd_capacity)

    demo = sub.add_parser(
        "demo",
        help="register a small simulated cloud in a running service and schedule onto it",
    )
    _add_remote(demo)
    demo.add_argument("--hosts", type=_bounded(1, 250), default=12, help="compute hosts")
    demo.add_argument(
        "--instances", type=_bounded(1, 1000), default=40, help="instances to schedule"
    )
    demo.add_argument(
        "--force", action="store_true", help="run even when the service already has hosts"
    )
    demo.set_defaults(func=cmd_demo)

    snapshot = sub.add_parser(
        "snapshot",
        help="write a running service's cloud (hosts, providers, inventories, traits, "
        "aggregates, server groups, instances, allocations) to one JSON file",
    )
    _add_remote(snapshot)
    snapshot.add_argument(
        "-o", "--output", required=True, help="the file to write (gzip when it ends in .gz)"
    )
    snapshot.set_defaults(func=cmd_snapshot)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
