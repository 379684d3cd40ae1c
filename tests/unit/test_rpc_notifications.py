"""scheduler.select_destinations.start / .end: when they are sent, what they carry,
and that a notification never fails a scheduling call.

The payloads are compared with Nova 34's own in
tests/functional/test_notifications_nova.py; over RabbitMQ in
tests/functional/test_rpc_notifications.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corral.rpc.endpoint import SchedulerEndpoint
from corral.rpc.errors import NovaNoValidHost
from corral.rpc.notifier import END, START, SchedulerNotifier
from corral.service.config_files import ConfigSource
from corral.service.launcher import ServeOptions, prepare
from tests.unit.test_conf_validation import CAP, NAMES
from tests.unit.test_rpc_endpoint import CTXT, SPEC, UUIDS, Recorder


class FakeNotifier:
    """oslo_messaging.Notifier's info(), recorded; optionally failing."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[dict[str, Any], str, Any]] = []
        self.fail = fail

    def info(self, ctxt: dict[str, Any], event_type: str, payload: Any) -> None:
        if self.fail:
            raise ConnectionError("the bus is down")
        self.sent.append((ctxt, event_type, payload))


def endpoint(recorder: Recorder, notifier: SchedulerNotifier) -> SchedulerEndpoint:
    return SchedulerEndpoint(
        scheduler=recorder, db=None, max_message_bytes=4 * 1024 * 1024, notifier=notifier
    )


def call(ep: SchedulerEndpoint) -> list[Any]:
    return ep.select_destinations(
        CTXT, spec_obj=SPEC, instance_uuids=UUIDS, return_objects=True, return_alternates=False
    )


def test_start_and_end_around_the_decision() -> None:
    legacy, versioned = FakeNotifier(), FakeNotifier()
    call(endpoint(Recorder(), SchedulerNotifier(legacy, versioned)))
    assert [e for _, e, _ in legacy.sent] == [START, END]
    assert [e for _, e, _ in versioned.sent] == [START, END]
    # The caller's context goes with them, as Nova's notifier sends its own.
    assert all(ctxt == CTXT for ctxt, _, _ in legacy.sent + versioned.sent)
    start, end = (p for _, _, p in versioned.sent)
    assert start["nova_object.name"] == "RequestSpecPayload"
    assert start["nova_object.version"] == "1.1"
    # The end sees the spec as Nova's _schedule leaves it: the last instance.
    assert end["nova_object.data"]["instance_uuid"] == UUIDS[-1]
    legacy_end = legacy.sent[1][2]["request_spec"]
    assert legacy_end["instance_properties"]["uuid"] == UUIDS[-1]
    assert legacy_end["instance_type"]["vcpus"] == 4


def test_no_end_without_a_host_as_in_nova() -> None:
    versioned = FakeNotifier()
    with pytest.raises(NovaNoValidHost):
        call(endpoint(Recorder("no room"), SchedulerNotifier(None, versioned)))
    assert [e for _, e, _ in versioned.sent] == [START]


def test_a_failed_notification_never_fails_the_call(caplog: pytest.LogCaptureFixture) -> None:
    notifier = SchedulerNotifier(FakeNotifier(fail=True), FakeNotifier(fail=True))
    result = call(endpoint(Recorder(), notifier))
    assert len(result) == 2
    assert notifier.failed == 4
    assert "notification scheduler.select_destinations.start not sent" in caplog.text


def test_a_payload_that_cannot_be_built_never_fails_the_call() -> None:
    versioned = FakeNotifier()
    notifier = SchedulerNotifier(None, versioned)
    notifier.start(CTXT, {"nova_object.data": {"flavor": 42}})  # not a Flavor primitive
    ep = endpoint(Recorder(), notifier)
    assert len(call(ep)) == 2


def problems(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    conf = tmp_path / "corral.conf"
    conf.write_text(text)
    conf.chmod(0o600)
    _, found = prepare(ServeOptions(source=ConfigSource(files=(str(conf),))), cap=CAP, names=NAMES)
    return [(p.severity, p.message) for p in found]


RABBIT = "[DEFAULT]\ntransport_url = rabbit://nova:pw@mq:5672/\n"


def test_notification_options_accepted(tmp_path: Path) -> None:
    text = (
        RABBIT + "[notifications]\nnotification_format = both\n"
        "versioned_notifications_topics = versioned_notifications,audit\n"
        "[oslo_messaging_notifications]\ndriver = messagingv2\ndriver = log\n"
        "topics = notifications\ntransport_url = rabbit://nova:pw@mq2:5672/\n"
    )
    assert problems(tmp_path, text) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[oslo_messaging_notifications]\ndriver = routing\n",
            "[oslo_messaging_notifications] driver = routing is not allowed: it must be "
            "one of messaging, messagingv2, noop, log",
        ),
        (
            "[oslo_messaging_notifications]\ndriver = mypackage.notify:Driver\n",
            "[oslo_messaging_notifications] driver = mypackage.notify:Driver is not allowed: "
            "it must be one of messaging, messagingv2, noop, log",
        ),
        (
            "[oslo_messaging_notifications]\ntransport_url = kafka://nova:pw@mq:9092/\n",
            "[oslo_messaging_notifications] transport_url = kafka://nova:***@mq:9092/ is not "
            "allowed: transport scheme 'kafka' is not supported; corral speaks to RabbitMQ "
            "only (rabbit://user:password@host:5672/vhost)",
        ),
        (
            "[notifications]\nnotification_format = json\n",
            "[notifications] notification_format = json is not allowed: it must be one of "
            "unversioned, versioned, both",
        ),
        (
            "[oslo_messaging_notifications]\ntopics = a topic\n",
            "[oslo_messaging_notifications] topics = a topic is not allowed: it must be a "
            "comma-separated list of at most 256 items, each text matching "
            "^[A-Za-z0-9_.\\-]{1,255}$; at most 255 characters",
        ),
    ],
    ids=["routing-driver", "driver-path", "kafka", "format", "topic"],
)
def test_bad_notification_options_refused(tmp_path: Path, text: str, message: str) -> None:
    assert ("error", message) in problems(tmp_path, RABBIT + text)


def test_notifications_without_rpc_workers_warn(tmp_path: Path) -> None:
    found = problems(tmp_path, "[oslo_messaging_notifications]\ndriver = messagingv2\n")
    assert found == [
        (
            "warning",
            "[oslo_messaging_notifications] driver is set but [DEFAULT] transport_url is "
            "not: notifications are sent by the RPC workers, which do not run without it",
        )
    ]
