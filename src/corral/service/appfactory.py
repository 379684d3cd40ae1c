"""Builds the ASGI application from validated config."""

from __future__ import annotations

from oslo_config import cfg

from corral.api.app import Admission, App, Limits
from corral.api.auth import Authenticator, NoAuth2
from corral.api.cors import CorsPolicy
from corral.api.dashboard.routes import dashboard_routes
from corral.api.openapi import OpenApiEndpoint
from corral.api.ops import OpsEndpoints, RequestMetrics
from corral.api.placement.routes import placement_routes
from corral.api.policy import PolicyEnforcer
from corral.api.routing import Router
from corral.api.scheduler.routes import scheduler_routes
from corral.api.services import HostSettings, PlacementSettings, Services
from corral.compute.nova_feed import NovaFeed
from corral.placement.index import PlacementIndex
from corral.placement.index.refresher import IndexRefresher
from corral.scheduler.engine import Scheduler
from corral.store import migrate
from corral.store.database import Database


def build_authenticator(conf: cfg.ConfigOpts) -> Authenticator:
    if conf.api.auth_strategy == "noauth2":
        return NoAuth2()
    from corral.api.keystone import KeystoneAuth

    return KeystoneAuth(conf)


def build_cors(conf: cfg.ConfigOpts) -> CorsPolicy | None:
    if not conf.cors.allowed_origin:
        return None
    return CorsPolicy(
        allowed_origins=tuple(conf.cors.allowed_origin),
        allow_methods=tuple(m.upper() for m in conf.cors.allow_methods),
        allow_headers=tuple(conf.cors.allow_headers),
        expose_headers=tuple(conf.cors.expose_headers),
        allow_credentials=conf.cors.allow_credentials,
        max_age=conf.cors.max_age,
    )


def build_app(
    conf: cfg.ConfigOpts,
    database_url: str,
    *,
    policy_overrides: dict[str, str] | None = None,
) -> App:
    db = Database(database_url, pool_size=conf.placement_database.max_pool_size)
    if conf.placement_database.sync_on_startup:
        migrate.upgrade(db)
    index = PlacementIndex(db)
    index.load()
    refresher = IndexRefresher(index, retention=conf.placement.change_log_retention)
    scheduler = Scheduler.from_conf(conf, db, index)
    services = Services(
        db=db,
        policy=PolicyEnforcer(conf, overrides=policy_overrides),
        placement=PlacementSettings(
            randomize_allocation_candidates=conf.placement.randomize_allocation_candidates,
            max_allocation_candidates=conf.placement.max_allocation_candidates,
            allocation_conflict_retry_count=conf.placement.allocation_conflict_retry_count,
            incomplete_consumer_project_id=conf.placement.incomplete_consumer_project_id,
            incomplete_consumer_user_id=conf.placement.incomplete_consumer_user_id,
        ),
        index=index,
        host_settings=HostSettings(
            service_down_time=conf.service_down_time,
            default_availability_zone=conf.default_availability_zone,
        ),
        scheduler=scheduler,
    )
    ops = OpsEndpoints(conf.api.metrics_allowed_networks)
    openapi = OpenApiEndpoint()
    # The one route table: the router dispatches with it and the OpenAPI
    # document is built from it.
    router = Router(
        placement_routes()
        + scheduler_routes()
        + dashboard_routes()
        + ops.routes()
        + openapi.routes()
    )
    openapi.publish(router)
    app = App(
        router,
        build_authenticator(conf),
        services,
        cors=build_cors(conf),
        limits=Limits(
            max_body_bytes=conf.api.max_request_body_bytes,
            max_query_bytes=conf.api.max_query_string_bytes,
            max_header_bytes=conf.api.max_header_bytes,
        ),
        thread_limit=conf.placement_database.max_pool_size,
        observer=RequestMetrics(router).observe,
        admission=Admission(
            max_in_flight=conf.api.max_concurrent_requests,
            # Probes and scrapes must answer while the service is overloaded.
            unbounded_paths=frozenset(template for template, _ in ops.routes()),
        ),
        dashboard=True,
    )
    app.on_startup.append(refresher.start)
    app.on_shutdown.append(refresher.stop)
    if conf.api_database.connection:
        # Hosts from Nova's databases (corral.compute.nova_feed); the scheduler
        # behind the HTTP door reads the same tables.
        feed = NovaFeed(
            db, conf.api_database.connection, interval=conf.scheduler.nova_db_refresh_interval
        )
        app.on_startup.append(feed.start)
        app.on_shutdown.append(feed.stop)
    app.on_shutdown.append(db.dispose)
    return app
