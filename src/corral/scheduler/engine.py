"""select_destinations: Nova 34's filter scheduler over corral's index and store.

The Scheduler wires the stages of corral.scheduler.pipeline from the config
and is what the front doors (the HTTP API, the Nova RPC server) call. A
request is admitted once (corral.scheduler.admission: its server group,
zone and destination), then waits for its round (corral.scheduler.rounds),
where it is searched, ranked, claimed, consumed and answered with its
Selections, stage by stage (corral.scheduler.stages). `explain` runs the
same stages for one instance and claims nothing; `capacity` counts how many
instances of a shape the same stages would place.

Thread-safe: concurrent calls are decided in rounds, one round at a time
(so a server group's requests always see each other's hosts); the database
still serialises the claims of several processes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from oslo_config import cfg

from corral import metrics
from corral.placement.index import PlacementIndex
from corral.scheduler import capacity, registry
from corral.scheduler.admission import admit
from corral.scheduler.coalesce import Coalescer
from corral.scheduler.explain import Explanation
from corral.scheduler.filters import HostFilter
from corral.scheduler.host_cache import HostCache
from corral.scheduler.pipeline import EngineSettings, Pipeline, settings_from_conf
from corral.scheduler.request_filters import RequestFilterSettings
from corral.scheduler.rounds import Outcome, QueuedRequest, decide_round
from corral.scheduler.spec import NoValidHost, RequestSpec, Selection
from corral.scheduler.stages.claim import Claimer
from corral.scheduler.weighers import HostWeigher
from corral.store.database import Database


class Scheduler:
    """Nova's filter scheduler, one per process."""

    def __init__(
        self,
        db: Database,
        index: PlacementIndex,
        hosts: HostCache,
        *,
        filters: Sequence[HostFilter],
        weighers: Sequence[HostWeigher],
        settings: EngineSettings = EngineSettings(),
        request_filters: RequestFilterSettings = RequestFilterSettings(),
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.index = index
        self.hosts = hosts
        self._rng = rng or random.SystemRandom()
        self.pipeline = self._pipeline(filters, weighers, settings, request_filters)
        self._rounds: Coalescer[QueuedRequest, list[list[Selection]]] = Coalescer(
            self._decide_round, max(1, settings.round_size)
        )

    @classmethod
    def from_conf(
        cls,
        conf: cfg.ConfigOpts,
        db: Database,
        index: PlacementIndex,
        hosts: HostCache | None = None,
    ) -> Scheduler:
        """The scheduler the config describes; loads the host cache when not given."""
        if hosts is None:
            hosts = HostCache(
                db,
                service_down_time=conf.service_down_time,
                default_availability_zone=conf.default_availability_zone,
            )
            hosts.load()
        settings, request_filters = settings_from_conf(conf)
        return cls(
            db,
            index,
            hosts,
            filters=registry.enabled_filters(conf),
            weighers=registry.enabled_weighers(conf),
            settings=settings,
            request_filters=request_filters,
        )

    def _pipeline(
        self,
        filters: Sequence[HostFilter],
        weighers: Sequence[HostWeigher],
        settings: EngineSettings,
        request_filters: RequestFilterSettings,
        claimer: Claimer | None = None,
    ) -> Pipeline:
        return Pipeline(
            self.db,
            self.index,
            self.hosts,
            filters=filters,
            weighers=weighers,
            settings=settings,
            request_filters=request_filters,
            rng=self._rng,
            claimer=claimer,
        )

    def reload(self, conf: cfg.ConfigOpts) -> None:
        """Take up the mutable options (filters, weighers, their settings) after
        SIGHUP; a round in progress finishes with the stages it started with."""
        settings, request_filters = settings_from_conf(conf)
        self.pipeline = self._pipeline(
            registry.enabled_filters(conf),
            registry.enabled_weighers(conf),
            settings,
            request_filters,
            # the owner cache outlives a reload when the consumer settings stay
            claimer=self.pipeline.claimer,
        )
        self._rounds.max_round = max(1, settings.round_size)

    @property
    def filters(self) -> list[HostFilter]:
        return self.pipeline.ranker.filters

    @property
    def weighers(self) -> list[HostWeigher]:
        return self.pipeline.ranker.weighers

    @property
    def settings(self) -> EngineSettings:
        return self.pipeline.settings

    def select_destinations(
        self,
        spec: RequestSpec,
        instance_uuids: Sequence[str],
        *,
        return_alternates: bool = True,
        check_zone: bool = False,
    ) -> list[list[Selection]]:
        """A host per instance (claimed, recorded), then its alternates.

        Without instance uuids (Nova's legacy callers) hosts are chosen for
        `spec.num_instances` instances and nothing is claimed. `check_zone`
        refuses a zone no aggregate names, as Nova's compute API does (the
        HTTP door asks for it; Nova's conductor has checked already).
        """
        try:
            admitted = admit(self.hosts, spec, check_zone=check_zone)
            request = QueuedRequest(admitted, tuple(instance_uuids), return_alternates)
            selections = self._rounds.submit(request)
        except NoValidHost as exc:
            metrics.record_scheduling("no_valid_host")
            if isinstance(exc.detail, Explanation):
                metrics.record_no_valid_host(
                    {s.stage: s.removed for s in exc.detail.stages if s.removed}
                )
            raise
        except Exception:
            metrics.record_scheduling("error")
            raise
        metrics.record_scheduling("selected")
        return selections

    def explain(self, spec: RequestSpec, *, check_zone: bool = False) -> Explanation:
        """What a decision for the first instance would see; claims nothing."""
        pipeline = self.pipeline
        search, spec = pipeline.search.run(admit(self.hosts, spec, check_zone=check_zone))
        return pipeline.diagnosis.explain(search, spec)

    def capacity(self, query: capacity.CapacityQuery) -> capacity.Headroom:
        """How many more instances of a shape fit (corral.scheduler.capacity);
        claims nothing."""
        return capacity.count(self.pipeline, query)

    def _decide_round(self, requests: Sequence[QueuedRequest]) -> list[Outcome]:
        return decide_round(self.pipeline, requests)
