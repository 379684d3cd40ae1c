"""The scheduler RPC endpoint: Nova's SchedulerManager methods, API 4.5.

Every method measures its message first (corral.rpc.envelope), then decodes
and checks every argument before it does anything. A refused message is
logged with what was wrong and changes nothing: a call answers the caller
with the error, a cast is dropped. Nothing a message holds can take the
worker down: oslo.messaging answers any exception of a call to its caller.

Nova's semantics of select_destinations are kept: `return_objects=False`
(a pre-Queens conductor) gets Nova's legacy list of host dicts, one per
instance; alternates come back only when both `return_objects` and
`return_alternates` are true; no host is NoValidHost as Nova raises it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, cast

from corral.compute import reports as compute_reports
from corral.rpc import reports
from corral.rpc.envelope import CallContext, check_size, read_context
from corral.rpc.errors import InvalidMessage, NovaNoValidHost
from corral.rpc.request_spec import decode_request_spec
from corral.rpc.selections import legacy_dict, selections_primitive
from corral.scheduler.spec import NoValidHost, RequestSpec, Selection
from corral.store.database import Database

LOG = logging.getLogger("corral.rpc")

# The version of Nova's scheduler RPC API this endpoint serves (Nova's
# SchedulerManager.target), and so every 4.x up to it.
API_VERSION = "4.5"
MAX_INSTANCES = 10_000


class Notifier(Protocol):
    """corral.rpc.notifier.SchedulerNotifier, as the endpoint uses it (it never raises)."""

    def start(self, ctxt: Mapping[str, Any], spec_obj: Mapping[str, Any]) -> None: ...

    def end(
        self,
        ctxt: Mapping[str, Any],
        spec_obj: Mapping[str, Any],
        instance_uuids: Sequence[str],
        selected_hosts: Sequence[str],
    ) -> None: ...


class Scheduler(Protocol):
    """corral.scheduler.engine.Scheduler, as the endpoint uses it."""

    def select_destinations(
        self,
        spec: RequestSpec,
        instance_uuids: Sequence[str],
        *,
        return_alternates: bool = True,
    ) -> list[list[Selection]]: ...


# Marks "no spec_obj argument" (RPC API < 4.3), as Nova's manager does.
_NO_SPEC = object()


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidMessage(name, f"expected true or false, got {type(value).__name__}")
    return value


def _unexpected(kwargs: dict[str, Any]) -> None:
    if kwargs:
        names = ", ".join(sorted(str(k)[:40] for k in kwargs)[:5])
        raise InvalidMessage("args", f"unexpected arguments: {names}")


class SchedulerEndpoint:
    """Nova's scheduler manager methods over corral's scheduler and store.

    `expected` wraps an exception the caller should get without the server
    logging it as a failure (oslo_messaging.ExpectedException in the server).

    With `track_instance_changes` false (Nova's [filter_scheduler] option),
    the computes' instance casts are dropped unread, as nova-scheduler's
    HostManager then keeps no instance map of its own and reads each host's
    instances from the cell database (corral's Nova feed does that).

    With a `notifier`, select_destinations sends Nova's
    scheduler.select_destinations.start before deciding and .end after a
    decision, built from the RequestSpec primitive received.
    """

    def __init__(
        self,
        *,
        scheduler: Scheduler | None,
        db: Database | None,
        max_message_bytes: int,
        track_instance_changes: bool = True,
        target: object = None,
        expected: Callable[[], Exception] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.target = target  # oslo.messaging reads the endpoint's version from it
        self._scheduler = scheduler
        self._db = db
        self._max_bytes = max_message_bytes
        self._track_instances = track_instance_changes
        self.ignored = 0  # instance casts dropped (track_instance_changes off)
        self._expected = expected
        self.refused = 0  # messages refused; for tests and the log
        self._notifier = notifier

    # -- helpers ------------------------------------------------------------------

    def _enter(self, ctxt: object, args: dict[str, Any]) -> CallContext:
        check_size(ctxt, args, self._max_bytes)
        return read_context(ctxt)

    def _refuse(self, method: str, exc: InvalidMessage, ctxt: object) -> None:
        self.refused += 1
        request = ctxt.get("global_request_id") if isinstance(ctxt, dict) else None
        LOG.warning(
            "refused %s message%s: %s",
            method,
            f" ({str(request)[:60]})" if request else "",
            exc,
        )

    def _raise_expected(self) -> NoReturn:
        """Re-raise the exception being handled, marked as one the caller expects
        (called only from inside an except block)."""
        if self._expected is not None:
            raise self._expected()
        raise

    # -- the call ------------------------------------------------------------------

    def select_destinations(
        self,
        ctxt: object,
        request_spec: object = None,
        filter_properties: object = None,
        spec_obj: object = _NO_SPEC,
        instance_uuids: object = None,
        return_objects: object = False,
        return_alternates: object = False,
        **unexpected: Any,
    ) -> list[Any]:
        args = {
            "request_spec": request_spec,
            "filter_properties": filter_properties,
            "spec_obj": None if spec_obj is _NO_SPEC else spec_obj,
            "instance_uuids": instance_uuids,
            "return_objects": return_objects,
            "return_alternates": return_alternates,
            **unexpected,
        }
        try:
            context = self._enter(ctxt, args)
            _unexpected(unexpected)
            if spec_obj is _NO_SPEC:
                raise InvalidMessage(
                    "spec_obj",
                    "is required: corral serves scheduler RPC API 4.4 and later "
                    "(request_spec/filter_properties dicts are not accepted)",
                )
            if instance_uuids is None:
                raise InvalidMessage("instance_uuids", "is required (scheduler RPC API 4.4)")
            uuids = reports.instance_uuids(instance_uuids)
            if len(uuids) > MAX_INSTANCES:
                raise InvalidMessage("instance_uuids", f"more than {MAX_INSTANCES}")
            objects = _flag(return_objects, "return_objects")
            alternates = _flag(return_alternates, "return_alternates") and objects
            spec = decode_request_spec(spec_obj)
        except InvalidMessage as exc:
            self._refuse("select_destinations", exc, ctxt)
            self._raise_expected()
        if self._scheduler is None:
            raise RuntimeError("this corral worker has no scheduler engine")
        LOG.debug("[%s] scheduling %d instance(s)", context, len(uuids))
        # Checked by decode_request_spec and read_context above.
        primitive = cast("Mapping[str, Any]", spec_obj)
        call_ctxt = cast("Mapping[str, Any]", ctxt)
        if self._notifier is not None:
            self._notifier.start(call_ctxt, primitive)
        try:
            selections = self._scheduler.select_destinations(
                spec, uuids, return_alternates=alternates
            )
        except NoValidHost as exc:
            LOG.info("[%s] no valid host: %s", context, exc.explanation)
            try:
                raise NovaNoValidHost(exc.explanation) from None
            except NovaNoValidHost:
                self._raise_expected()
        if self._notifier is not None:
            hosts = [per_instance[0].service_host for per_instance in selections if per_instance]
            self._notifier.end(call_ctxt, primitive, uuids, hosts)
        if not objects:
            return [legacy_dict(per_instance[0]) for per_instance in selections]
        return selections_primitive(selections)

    # -- the casts -----------------------------------------------------------------

    def _apply(
        self, method: str, ctxt: object, args: dict[str, Any], apply: Callable[[], None]
    ) -> None:
        try:
            self._enter(ctxt, args)
            apply()
        except InvalidMessage as exc:
            self._refuse(method, exc, ctxt)

    def _apply_instance_cast(
        self, method: str, ctxt: object, args: dict[str, Any], apply: Callable[[], None]
    ) -> None:
        if not self._track_instances:
            self.ignored += 1
            LOG.debug("%s ignored: [filter_scheduler] track_instance_changes is off", method)
            return
        self._apply(method, ctxt, args, apply)

    def _store(self) -> Database:
        if self._db is None:
            raise RuntimeError("this corral worker has no database")
        return self._db

    def update_aggregates(self, ctxt: object, aggregates: object = None, **unexpected: Any) -> None:
        def apply() -> None:
            _unexpected(unexpected)
            decoded = reports.aggregates(aggregates)
            compute_reports.update_aggregates(self._store(), decoded)
            LOG.info("aggregates updated from Nova: %s", ", ".join(a.uuid for a in decoded))

        self._apply("update_aggregates", ctxt, {"aggregates": aggregates, **unexpected}, apply)

    def delete_aggregate(self, ctxt: object, aggregate: object = None, **unexpected: Any) -> None:
        def apply() -> None:
            _unexpected(unexpected)
            decoded = reports.aggregate(aggregate)
            known = compute_reports.delete_aggregate(self._store(), decoded.uuid)
            LOG.info("aggregate %s deleted by Nova%s", decoded.uuid, "" if known else " (unknown)")

        self._apply("delete_aggregate", ctxt, {"aggregate": aggregate, **unexpected}, apply)

    def update_instance_info(
        self,
        ctxt: object,
        host_name: object = None,
        instance_info: object = None,
        **unexpected: Any,
    ) -> None:
        def apply() -> None:
            _unexpected(unexpected)
            host = reports.host_name(host_name)
            decoded = reports.instances(instance_info)
            compute_reports.update_instances(self._store(), host, decoded)
            LOG.debug("%d instance(s) reported on %s", len(decoded), host)

        args = {"host_name": host_name, "instance_info": instance_info, **unexpected}
        self._apply_instance_cast("update_instance_info", ctxt, args, apply)

    def delete_instance_info(
        self,
        ctxt: object,
        host_name: object = None,
        instance_uuid: object = None,
        **unexpected: Any,
    ) -> None:
        def apply() -> None:
            _unexpected(unexpected)
            host = reports.host_name(host_name)
            uuid = reports.instance_uuid(instance_uuid)
            compute_reports.delete_instance(self._store(), host, uuid)

        args = {"host_name": host_name, "instance_uuid": instance_uuid, **unexpected}
        self._apply_instance_cast("delete_instance_info", ctxt, args, apply)

    def sync_instance_info(
        self,
        ctxt: object,
        host_name: object = None,
        instance_uuids: object = None,
        **unexpected: Any,
    ) -> None:
        def apply() -> None:
            _unexpected(unexpected)
            host = reports.host_name(host_name)
            uuids = reports.instance_uuids(instance_uuids)
            forgotten, unknown = compute_reports.sync_instances(self._store(), host, uuids)
            if forgotten or unknown:
                LOG.info(
                    "%s: forgot %d instance(s) it no longer runs; %d it runs are not known "
                    "yet (its next update brings them)",
                    host,
                    len(forgotten),
                    len(unknown),
                )

        args = {"host_name": host_name, "instance_uuids": instance_uuids, **unexpected}
        self._apply_instance_cast("sync_instance_info", ctxt, args, apply)
