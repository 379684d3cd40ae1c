"""Nova's client schedules through `corral serve`, and the notifications arrive.

corral serve runs with [oslo_messaging_notifications] driver = messagingv2
and [notifications] notification_format = both, on topics of its own; an
oslo.messaging notification listener (corral's virtualenv) on exchange
`nova` hears scheduler.select_destinations.start and .end on both the
legacy and the versioned topic, as nova-scheduler sends them. Skips as
test_rpc_nova.py does without RabbitMQ or the Nova virtualenv.
"""

from __future__ import annotations

import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.test_rpc_nova import RpcService, nova_client


class Heard:
    """The endpoint of a notification listener: every info() it hears."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def info(
        self, ctxt: Any, publisher_id: str, event_type: str, payload: Any, metadata: Any
    ) -> None:
        with self.lock:
            self.messages.append(
                {"publisher_id": publisher_id, "event_type": event_type, "payload": payload}
            )

    def wait(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.1)
        return list(self.messages)


@pytest.fixture
def listening(rabbit_url: str) -> Iterator[tuple[str, Heard, Heard]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import oslo_messaging as messaging
    from oslo_config import cfg

    suffix = uuid.uuid4().hex[:8]
    transport = messaging.get_notification_transport(cfg.CONF, url=rabbit_url)
    legacy, versioned = Heard(), Heard()
    listeners = [
        messaging.get_notification_listener(
            transport,
            [messaging.Target(exchange="nova", topic=f"{topic}_{suffix}")],
            [heard],
            executor="threading",
        )
        for topic, heard in (("notifications", legacy), ("versioned_notifications", versioned))
    ]
    for listener in listeners:
        listener.start()
    yield suffix, legacy, versioned
    for listener in listeners:
        listener.stop()
        listener.wait()
    transport.cleanup()


def test_select_destinations_notifies_as_nova_scheduler(
    nova_python: Path,
    tmp_path: Path,
    database_url: str,
    rabbit_url: str,
    listening: tuple[str, Heard, Heard],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    suffix, legacy, versioned = listening
    original = RpcService.__init__

    def with_notifications(self: RpcService, tmp: Path, db: str, url: str) -> None:
        # RpcService writes its conf in __init__: add the notification sections.
        import tests.functional.test_rpc_nova as rpc_nova

        service_cls = rpc_nova.Service

        def service(tmp: Path, db: str, conf: str, workers: int = 2) -> Any:
            return service_cls(tmp, db, conf + notify_conf, workers=workers)

        monkeypatch.setattr(rpc_nova, "Service", service)
        original(self, tmp, db, url)

    notify_conf = (
        "[notifications]\nnotification_format = both\n"
        f"versioned_notifications_topics = versioned_notifications_{suffix}\n"
        "[oslo_messaging_notifications]\ndriver = messagingv2\n"
        f"topics = notifications_{suffix}\n"
    )
    monkeypatch.setattr(RpcService, "__init__", with_notifications)
    corral = RpcService(tmp_path, database_url, rabbit_url)
    try:
        corral.add_host("compute-0")
        instance = str(uuid.uuid4())
        result = nova_client(
            nova_python,
            corral,
            {
                "kind": "select",
                "vcpus": 1,
                "memory_mb": 512,
                "instance_uuids": [instance],
                "return_objects": True,
                "return_alternates": True,
            },
        )
        assert result["selections"][0][0]["service_host"] == "compute-0"
        heard_legacy = legacy.wait(2)
        heard_versioned = versioned.wait(2)
    finally:
        assert corral.stop() == 0, corral.text()
    events = ["scheduler.select_destinations.start", "scheduler.select_destinations.end"]
    assert [m["event_type"] for m in heard_legacy] == events, corral.text()[-3000:]
    assert [m["event_type"] for m in heard_versioned] == events
    assert {m["publisher_id"] for m in heard_legacy} == {"scheduler.corral-test"}
    assert {m["publisher_id"] for m in heard_versioned} == {"nova-scheduler:corral-test"}
    for m in heard_legacy:
        spec = m["payload"]["request_spec"]
        assert set(spec) == {"num_instances", "image", "instance_properties", "instance_type"}
        assert spec["instance_properties"]["uuid"] == instance
        assert spec["instance_type"]["memory_mb"] == 512
    for m in heard_versioned:
        payload = m["payload"]
        assert payload["nova_object.name"] == "RequestSpecPayload"
        assert payload["nova_object.version"] == "1.1"
        data = payload["nova_object.data"]
        assert data["instance_uuid"] == instance
        assert data["flavor"]["nova_object.name"] == "FlavorPayload"
        assert data["flavor"]["nova_object.data"]["vcpus"] == 1
        assert data["image"]["nova_object.data"]["name"] == "cirros"
