"""Writes provider data straight into the store, the way the API's writers do
(rows plus a change-log entry per provider), so candidate and index tests
do not depend on the inventory and allocation endpoints."""

from __future__ import annotations

import uuid as uuidlib

from sqlalchemy import delete, insert, select, update

from corral.store import tables
from corral.store.database import Database, record_changes, utcnow
from corral.store.resource_classes import STANDARD_IDS


class CloudWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.ids: dict[str, int] = {}  # provider name -> id
        self.uuids: dict[str, str] = {}  # provider name -> uuid

    def provider(self, name: str, parent: str | None = None, uuid: str | None = None) -> str:
        ident = uuid or str(uuidlib.uuid4())
        with self.db.write() as conn:
            parent_id = self.ids[parent] if parent else None
            root_id = None
            if parent_id is not None:
                root_id = conn.execute(
                    select(tables.resource_providers.c.root_provider_id).where(
                        tables.resource_providers.c.id == parent_id
                    )
                ).scalar_one()
            pid = conn.execute(
                insert(tables.resource_providers)
                .values(
                    uuid=ident,
                    name=name,
                    generation=0,
                    parent_provider_id=parent_id,
                    created_at=utcnow(),
                )
                .returning(tables.resource_providers.c.id)
            ).scalar_one()
            conn.execute(
                update(tables.resource_providers)
                .where(tables.resource_providers.c.id == pid)
                .values(root_provider_id=root_id if root_id is not None else pid)
            )
            record_changes(conn, [pid], "provider")
        self.ids[name] = pid
        self.uuids[name] = ident
        return ident

    def inventory(self, name: str, rc: str, total: int, **fields: float) -> None:
        row = {
            "resource_provider_id": self.ids[name],
            "resource_class_id": STANDARD_IDS[rc],
            "total": total,
            "reserved": int(fields.get("reserved", 0)),
            "min_unit": int(fields.get("min_unit", 1)),
            "max_unit": int(fields.get("max_unit", total)),
            "step_size": int(fields.get("step_size", 1)),
            "allocation_ratio": float(fields.get("allocation_ratio", 1.0)),
            "created_at": utcnow(),
        }
        inv = tables.inventories
        with self.db.write() as conn:
            conn.execute(
                delete(inv).where(
                    inv.c.resource_provider_id == row["resource_provider_id"],
                    inv.c.resource_class_id == row["resource_class_id"],
                )
            )
            conn.execute(insert(inv).values(**row))
            record_changes(conn, [self.ids[name]], "inventory")

    def allocate(self, name: str, rc: str, used: int, consumer: str | None = None) -> str:
        consumer = consumer or str(uuidlib.uuid4())
        with self.db.write() as conn:
            conn.execute(
                insert(tables.allocations).values(
                    resource_provider_id=self.ids[name],
                    consumer_id=consumer,
                    resource_class_id=STANDARD_IDS[rc],
                    used=used,
                    created_at=utcnow(),
                )
            )
            record_changes(conn, [self.ids[name]], "usage")
        return consumer

    def free(self, consumer: str) -> None:
        allocs = tables.allocations
        with self.db.write() as conn:
            pids = {
                r[0]
                for r in conn.execute(
                    select(allocs.c.resource_provider_id).where(allocs.c.consumer_id == consumer)
                )
            }
            conn.execute(delete(allocs).where(allocs.c.consumer_id == consumer))
            record_changes(conn, pids, "usage")

    def traits(self, name: str, *names: str) -> None:
        t, rpt = tables.traits, tables.resource_provider_traits
        with self.db.write() as conn:
            ids = []
            for trait in names:
                tid = conn.execute(select(t.c.id).where(t.c.name == trait)).scalar()
                if tid is None:
                    tid = conn.execute(
                        insert(t).values(name=trait, created_at=utcnow()).returning(t.c.id)
                    ).scalar_one()
                ids.append(tid)
            conn.execute(delete(rpt).where(rpt.c.resource_provider_id == self.ids[name]))
            for tid in ids:
                conn.execute(
                    insert(rpt).values(
                        resource_provider_id=self.ids[name], trait_id=tid, created_at=utcnow()
                    )
                )
            record_changes(conn, [self.ids[name]], "traits")

    def aggregates(self, name: str, *agg_uuids: str) -> None:
        agg, rpa = tables.placement_aggregates, tables.resource_provider_aggregates
        with self.db.write() as conn:
            ids = []
            for agg_uuid in agg_uuids:
                aid = conn.execute(select(agg.c.id).where(agg.c.uuid == agg_uuid)).scalar()
                if aid is None:
                    aid = conn.execute(
                        insert(agg).values(uuid=agg_uuid, created_at=utcnow()).returning(agg.c.id)
                    ).scalar_one()
                ids.append(aid)
            conn.execute(delete(rpa).where(rpa.c.resource_provider_id == self.ids[name]))
            for aid in ids:
                conn.execute(
                    insert(rpa).values(
                        resource_provider_id=self.ids[name], aggregate_id=aid, created_at=utcnow()
                    )
                )
            record_changes(conn, [self.ids[name]], "aggregates")

    def delete_provider(self, name: str) -> None:
        pid = self.ids.pop(name)
        self.uuids.pop(name)
        with self.db.write() as conn:
            for table in (
                tables.inventories,
                tables.allocations,
                tables.resource_provider_traits,
                tables.resource_provider_aggregates,
            ):
                conn.execute(delete(table).where(table.c.resource_provider_id == pid))
            conn.execute(
                delete(tables.resource_providers).where(tables.resource_providers.c.id == pid)
            )
            record_changes(conn, [pid], "deleted")
