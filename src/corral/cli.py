"""`corral` command line: serve, check-config, db upgrade."""

from __future__ import annotations

import argparse
import sys

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


def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
