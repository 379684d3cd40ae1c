"""`corral` command line: serve, db upgrade, and the admin commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from corral.conf import new_conf


def _database_url(args: argparse.Namespace, conf_connection: str | None) -> str:
    if args.database:
        return str(args.database)
    if conf_connection:
        return conf_connection
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return f"sqlite:///{data_dir / 'corral.db'}"


def _load_conf(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    conf = new_conf()
    files = list(args.config_file or [])
    if not files and os.path.exists("/etc/corral/corral.conf"):
        files = ["/etc/corral/corral.conf"]
    conf([], project="corral", default_config_files=files, validate_default_values=True)
    return conf


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from corral.service.appfactory import build_app
    from corral.service.profiles import apply_profile

    conf = _load_conf(args)
    overrides: dict[str, str] = {}
    if args.conformance_profile:
        overrides = apply_profile(conf, args.conformance_profile)
    host = args.host or conf.api.bind_host
    port = args.port or conf.api.bind_port
    url = _database_url(args, conf.placement_database.connection)
    app = build_app(conf, url, policy_overrides=overrides)
    print(f"corral listening on http://{host}:{port} (database {url.split('@')[-1]})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from corral.store import migrate
    from corral.store.database import Database

    conf = _load_conf(args)
    db = Database(_database_url(args, conf.placement_database.connection))
    migrate.upgrade(db)
    print(f"database at revision {migrate.current_revision(db)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corral", description=__doc__)
    parser.add_argument("--config-file", action="append", help="config file (repeatable)")
    parser.add_argument("--data-dir", default="./data", help="directory for the SQLite database")
    parser.add_argument("--database", help="database URL (overrides [placement_database])")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--conformance-profile", help="configure for an upstream test profile")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="upgrade the schema to the newest revision")
    upgrade.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
