"""What the fault scenarios share: a TCP proxy that can cut a dependency off,
clients that claim as Nova's report client and conductor do, and the
invariants read straight from the database after each scenario.

A claim is *acknowledged* when the client saw it succeed (204 from PUT
/allocations, 200 from select_destinations, a Selection over RPC). A request
that got no answer (the worker died under it, the connection was cut) may or
may not have landed: the client asks GET /allocations/{consumer}, as Nova's
report client does, once the service answers again, and counts it
acknowledged if it is there; otherwise it tries again.
"""

from __future__ import annotations

import contextlib
import random
import select as selectors
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func
from sqlalchemy import select as sql_select

from corral.store import resource_classes, tables
from corral.store.database import Database
from tests.functional.rpc_cluster import register_hosts
from tests.functional.test_launcher import HEADERS, free_port

Resources = dict[str, int]
# struct linger {l_onoff = 1, l_linger = 0}: close() sends RST.
LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"


# --- the proxy ---------------------------------------------------------------------


class TcpProxy:
    """127.0.0.1:port -> 127.0.0.1:target, one thread per connection.

    `cut()` closes the listening socket (new connections are refused) and
    resets every open connection; `restore()` listens on the same port again.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            doomed, self._open = self._open, set()
        for sock in doomed:
            with contextlib.suppress(OSError):
                # RST rather than FIN: the peer sees the connection broken at once.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
                sock.close()

    def stop(self) -> None:
        self._stopped.set()
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                ready, _, _ = selectors.select([a, b], [], [], 1.0)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._open.discard(a)
                self._open.discard(b)
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()


@contextlib.contextmanager
def proxy(target: int) -> Iterator[TcpProxy]:
    p = TcpProxy(target)
    try:
        yield p
    finally:
        p.stop()


# --- what the clients saw ----------------------------------------------------------


@dataclass
class Ledger:
    """Acknowledged claims, what was refused, and what went wrong."""

    acked: dict[str, dict[str, Resources]] = field(default_factory=dict)
    scheduled: set[str] = field(default_factory=set)  # consumers made by select
    refused: int = 0
    unavailable: int = 0  # 503 answers (the documented "retry later")
    no_answer: int = 0  # transport errors, resolved by reading back
    landed_unanswered: int = 0  # of those, claims that had landed
    errors: list[str] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # monotonic times of acks
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, consumer: str, held: dict[str, Resources], scheduled: bool) -> None:
        with self.lock:
            self.acked[consumer] = held
            if scheduled:
                self.scheduled.add(consumer)
            self.answered_at.append(time.monotonic())

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text[:500])

    def first_ack_after(self, moment: float) -> float | None:
        with self.lock:
            later = [t for t in self.answered_at if t > moment]
        return min(later) - moment if later else None


def placement_body(provider: str, resources: Resources) -> dict[str, Any]:
    return {
        "allocations": {provider: {"resources": resources}},
        "project_id": "faults-project",
        "user_id": "faults-user",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }


def select_body(consumer: str, flavor: dict[str, int]) -> dict[str, Any]:
    return {
        "request_spec": {"flavor": flavor, "project_id": "faults-project", "user_id": "u"},
        "instance_uuids": [consumer],
    }


FLAVOR = {"vcpus": 1, "memory_mb": 512, "root_gb": 5}
FLAVOR_RESOURCES = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 5}
PLACEMENT_RESOURCES = {"VCPU": 1, "MEMORY_MB": 256}


def _held(resp: httpx.Response) -> dict[str, Resources]:
    allocations = resp.json()["allocations"]
    return {rp: dict(a["resources"]) for rp, a in allocations.items()}


def _read_back(http: httpx.Client, consumer: str, stop: threading.Event) -> dict[str, Resources]:
    """GET /allocations/{consumer} until the service answers it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            resp = http.get(f"/allocations/{consumer}")
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if resp.status_code == 200:
            return _held(resp)
        time.sleep(0.2)
    raise AssertionError(f"GET /allocations/{consumer} got no answer for 120 s")


def claimer(
    url: str,
    providers: list[str],
    ledger: Ledger,
    stop: threading.Event,
    *,
    scheduled: bool,
    seed: int,
) -> None:
    """Claims until `stop`: PUT /allocations on a random provider, or
    select_destinations; each claim retried until it is answered."""
    rng = random.Random(seed)
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http:
        while not stop.is_set():
            consumer = str(uuid.uuid4())
            provider = rng.choice(providers)
            while not stop.is_set():
                try:
                    if scheduled:
                        resp = http.post(
                            "/scheduler/v1/select_destinations", json=select_body(consumer, FLAVOR)
                        )
                    else:
                        resp = http.put(
                            f"/allocations/{consumer}",
                            json=placement_body(provider, PLACEMENT_RESOURCES),
                        )
                except httpx.TransportError:
                    with ledger.lock:
                        ledger.no_answer += 1
                    held = _read_back(http, consumer, stop)
                    if held:
                        with ledger.lock:
                            ledger.landed_unanswered += 1
                        ledger.ack(consumer, held, scheduled)
                        break
                    continue  # it did not land: the same claim again
                if resp.status_code in (200, 204):
                    if scheduled:
                        chosen = resp.json()["selections"][0][0]
                        held = {chosen["compute_node_uuid"]: dict(FLAVOR_RESOURCES)}
                    else:
                        held = {provider: dict(PLACEMENT_RESOURCES)}
                    ledger.ack(consumer, held, scheduled)
                    break
                if resp.status_code == 409:
                    with ledger.lock:
                        ledger.refused += 1
                    time.sleep(0.05)
                    break
                if resp.status_code == 503:
                    with ledger.lock:
                        ledger.unavailable += 1
                    time.sleep(0.2)
                    continue
                ledger.error(f"{resp.status_code} {resp.text}")
                time.sleep(0.2)
                break


@contextlib.contextmanager
def claimers(
    url: str, providers: list[str], ledger: Ledger, placement: int, select: int
) -> Iterator[threading.Event]:
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=claimer,
            args=(url, providers, ledger, stop),
            kwargs={"scheduled": n >= placement, "seed": n},
            daemon=True,
        )
        for n in range(placement + select)
    ]
    for t in threads:
        t.start()
    try:
        yield stop
    finally:
        stop.set()
        for t in threads:
            t.join(150)
        assert not any(t.is_alive() for t in threads), "a claimer is stuck"


# --- the invariants ----------------------------------------------------------------


@dataclass
class DbState:
    capacity: dict[tuple[str, str], float]
    used: dict[tuple[str, str], int]
    held: dict[str, dict[str, Resources]]
    instances: dict[str, str]  # instance uuid -> provider uuid


def read_state(database_url: str) -> DbState:
    db = Database(database_url)
    rp, inv, alloc = tables.resource_providers, tables.inventories, tables.allocations
    try:
        with db.read() as conn:
            rows = conn.execute(
                sql_select(
                    rp.c.uuid,
                    inv.c.resource_class_id,
                    inv.c.total,
                    inv.c.reserved,
                    inv.c.allocation_ratio,
                ).join(rp, rp.c.id == inv.c.resource_provider_id)
            ).all()
            held_rows = conn.execute(
                sql_select(
                    alloc.c.consumer_id, rp.c.uuid, alloc.c.resource_class_id, alloc.c.used
                ).join(rp, rp.c.id == alloc.c.resource_provider_id)
            ).all()
            names = resource_classes.names_for_ids(
                conn,
                {r.resource_class_id for r in rows} | {r.resource_class_id for r in held_rows},
            )
            sums = conn.execute(
                sql_select(rp.c.uuid, alloc.c.resource_class_id, func.sum(alloc.c.used))
                .join(rp, rp.c.id == alloc.c.resource_provider_id)
                .group_by(rp.c.uuid, alloc.c.resource_class_id)
            ).all()
            instances = dict(
                conn.execute(
                    sql_select(tables.instances.c.uuid, tables.instances.c.provider_uuid)
                ).all()
            )
    finally:
        db.dispose()
    capacity = {
        (r.uuid, names[r.resource_class_id]): (r.total - r.reserved) * r.allocation_ratio
        for r in rows
    }
    used = {(u, names[c]): int(n) for u, c, n in sums}
    held: dict[str, dict[str, Resources]] = defaultdict(dict)
    for r in held_rows:
        held[r.consumer_id].setdefault(r.uuid, {})[names[r.resource_class_id]] = int(r.used)
    return DbState(capacity, used, dict(held), instances)


def check_invariants(database_url: str, ledger: Ledger) -> DbState:
    """No over-commit; nothing acknowledged lost; instance records and
    allocations one for one (for what select made)."""
    state = read_state(database_url)
    for key, amount in state.used.items():
        assert key in state.capacity, f"allocation outside any inventory: {key}"
        assert amount <= state.capacity[key], f"over-commit: {key} {amount} > {state.capacity[key]}"
    for consumer, held in ledger.acked.items():
        assert state.held.get(consumer) == held, (
            f"acknowledged claim {consumer} lost or changed: {held} != {state.held.get(consumer)}"
        )
    placement_made = set(ledger.acked) - ledger.scheduled
    scheduled_allocs = set(state.held) - placement_made
    assert scheduled_allocs == set(state.instances), (
        f"{len(scheduled_allocs - set(state.instances))} allocations without an instance, "
        f"{len(set(state.instances) - scheduled_allocs)} instances without allocations"
    )
    for instance, provider in state.instances.items():
        assert set(state.held[instance]) == {provider}, (instance, state.held[instance], provider)
    assert not ledger.errors, ledger.errors[:5]
    return state


def wait_answers(url: str, timeout: float) -> float:
    """Seconds until GET /resource_providers answers 200 (fresh connections)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with httpx.Client(base_url=url, headers=HEADERS, timeout=10) as http:
                if http.get("/resource_providers").status_code == 200:
                    return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def add_hosts(url: str, count: int, inventory: Resources) -> list[str]:
    """`count` compute hosts, registered and up; their provider uuids."""
    return list(register_hosts(url, count, dict(inventory), prefix="fault"))


def report(name: str, **numbers: Any) -> None:
    """One line per scenario in the test output (pytest -s, or the junit log)."""
    parts = ", ".join(
        f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in numbers.items()
    )
    print(f"\nFAULT {name}: {parts}", flush=True)
