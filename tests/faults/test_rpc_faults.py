"""Faults under a round of select_destinations calls over RabbitMQ.

`corral serve` with one RPC worker on a topic of its own; four threads call
select_destinations with oslo.messaging's RPC client (the library
nova-conductor calls through), a 10 s timeout each. A call that timed out is
tried again as a new boot (a new instance uuid, as Nova's conductor would
reschedule the build); what the lost call may have claimed is the database's
business, and the invariants say it must still be consistent: every
allocation has its instance record and the other way round, nothing
acknowledged is lost, nothing over-committed. After each fault Nova's own
client (nova.scheduler.rpcapi, in the Nova 34 virtualenv) schedules once more.
"""

from __future__ import annotations

import copy
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import oslo_messaging as messaging
import pytest
from oslo_config import cfg
from sqlalchemy.engine import make_url

from tests.faults.harness import (
    FLAVOR_RESOURCES,
    Ledger,
    add_hosts,
    check_invariants,
    proxy,
    report,
)
from tests.functional.rpc_cluster import request_spec, rpc_context
from tests.functional.test_launcher import Service
from tests.functional.test_rpc_nova import RpcService, nova_client

HOSTS = 4
INVENTORY = {"VCPU": 16, "MEMORY_MB": 32_768, "DISK_GB": 400}
CALL_TIMEOUT_S = 10
RECOVERY_BOUND_S = 60.0
OUTAGE_S = 4.0


def _conf(rabbit_url: str, topic: str) -> str:
    return (
        f"[DEFAULT]\ntransport_url = {rabbit_url}\nservice_down_time = 3600\n"
        "[api]\nauth_strategy = noauth2\n"
        f"[scheduler]\nworkers = 1\ntopic = {topic}\n"
    )


@contextmanager
def callers(rabbit_url: str, topic: str, ledger: Ledger, threads: int) -> Iterator[None]:
    transport = messaging.get_rpc_transport(cfg.CONF, url=rabbit_url)
    target = messaging.Target(exchange="nova", topic=topic, version="4.5")
    client = messaging.get_rpc_client(transport, target, timeout=CALL_TIMEOUT_S)
    spec = request_spec(1, 512, 5)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            instance = str(uuid.uuid4())
            try:
                answer = client.call(
                    rpc_context(),
                    "select_destinations",
                    spec_obj=copy.deepcopy(spec),
                    instance_uuids=[instance],
                    return_objects=True,
                    return_alternates=True,
                )
            except messaging.MessagingTimeout:
                with ledger.lock:
                    ledger.no_answer += 1
                continue
            except messaging.RemoteError as exc:
                if exc.exc_type == "NoValidHost":
                    with ledger.lock:
                        ledger.refused += 1
                    time.sleep(0.1)
                else:
                    ledger.error(f"{exc.exc_type}: {exc.value}")
                continue
            except Exception as exc:  # the broker may be cut off under the client too
                ledger.error(f"{type(exc).__name__}: {exc}")
                continue
            chosen = answer[0][0]["nova_object.data"]["compute_node_uuid"]
            ledger.ack(instance, {chosen: dict(FLAVOR_RESOURCES)}, scheduled=True)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join(CALL_TIMEOUT_S + 30)
        transport.cleanup()
    assert not any(w.is_alive() for w in workers), "a caller is stuck"


def _wait_acks(ledger: Ledger, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(ledger.acked) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(ledger.acked) >= count, f"only {len(ledger.acked)} calls answered"


def _nova_schedules(nova_python: Path, svc: Service, topic: str) -> None:
    holder = RpcService.__new__(RpcService)
    holder.service, holder.topic = svc, topic
    result = nova_client(
        nova_python,
        holder,
        {"kind": "select", "vcpus": 1, "memory_mb": 512, "instance_uuids": [str(uuid.uuid4())]},
    )
    assert result.get("selections"), result


@pytest.fixture
def started() -> Iterator[list[Service]]:
    services: list[Service] = []
    yield services
    for svc in services:
        if svc.proc.poll() is None:
            svc.proc.kill()
            svc.proc.wait(30)


def test_kill_rpc_worker_mid_round(
    tmp_path: Path,
    database_url: str,
    rabbit_url: str,
    nova_python: Path,
    started: list[Service],
) -> None:
    topic = f"corral_faults_{uuid.uuid4().hex[:10]}"
    svc = Service(tmp_path, database_url, _conf(rabbit_url, topic), workers=1)
    started.append(svc)
    match = svc.wait_log(r"rpc worker 1 started \(pid (\d+)\)", 120)
    svc.wait_log(rf"RPC server listening: exchange nova, topic {topic}", 120)
    add_hosts(svc.url, HOSTS, INVENTORY)
    victim = int(match.group(1))
    ledger = Ledger()
    with callers(rabbit_url, topic, ledger, threads=4):
        _wait_acks(ledger, 5, 120)
        before = len(ledger.acked)
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        svc.wait_log(rf"rpc worker 1 \(pid {victim}\) was killed by signal 9")
        svc.wait_log(rf"rpc worker 1 started \(pid (?!{victim}\))\d+\)", 60)
        listening = f"RPC server listening: exchange nova, topic {topic}"
        while svc.text().count(listening) < 2:
            assert time.monotonic() - killed < RECOVERY_BOUND_S, svc.text()[-3000:]
            time.sleep(0.1)
        serving = time.monotonic() - killed
        _wait_acks(ledger, before + 5, RECOVERY_BOUND_S + CALL_TIMEOUT_S)
    next_ack = ledger.first_ack_after(killed)
    check_invariants(database_url, ledger)
    assert next_ack is not None and next_ack < RECOVERY_BOUND_S
    _nova_schedules(nova_python, svc, topic)
    report(
        f"kill -9 rpc worker [{make_url(database_url).get_backend_name()}]",
        acked=len(ledger.acked),
        timed_out=ledger.no_answer,
        listening_again_s=serving,
        next_ack_s=next_ack,
    )
    assert svc.stop() == 0, svc.text()[-3000:]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_broker_cut_off_and_back(
    tmp_path: Path,
    database_url: str,
    rabbit_url: str,
    nova_python: Path,
    started: list[Service],
) -> None:
    topic = f"corral_faults_{uuid.uuid4().hex[:10]}"
    with proxy(5672) as cut:
        proxied = rabbit_url.replace("127.0.0.1:5672", f"127.0.0.1:{cut.port}")
        svc = Service(tmp_path, database_url, _conf(proxied, topic), workers=1)
        started.append(svc)
        svc.wait_log(rf"RPC server listening: exchange nova, topic {topic}", 120)
        add_hosts(svc.url, HOSTS, INVENTORY)
        ledger = Ledger()
        # The callers reach RabbitMQ directly: only corral's side is cut.
        with callers(rabbit_url, topic, ledger, threads=4):
            _wait_acks(ledger, 5, 120)
            cut.cut()
            time.sleep(OUTAGE_S)
            acked_down = len(ledger.acked)
            cut.restore()
            back = time.monotonic()
            _wait_acks(ledger, acked_down + 5, RECOVERY_BOUND_S + CALL_TIMEOUT_S)
        # The cut reached corral: its worker lost the broker and found it again.
        svc.wait_log(rf"Reconnected to AMQP server on 127\.0\.0\.1:{cut.port}", 5)
        next_ack = ledger.first_ack_after(back)
        check_invariants(database_url, ledger)
        assert next_ack is not None and next_ack < RECOVERY_BOUND_S
        _nova_schedules(nova_python, svc, topic)
        report(
            "broker cut off [sqlite]",
            outage_s=OUTAGE_S,
            acked=len(ledger.acked),
            timed_out=ledger.no_answer,
            next_ack_s=next_ack,
        )
        assert svc.stop() == 0, svc.text()[-3000:]
