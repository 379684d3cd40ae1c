"""The scheduling commands of the CLI: argument parsing, the request spec they
build, the tables they print, and their exit status against a stub service."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from corral import cli, demo
from corral.cli_output import Progress, render_explanation, render_selections, table
from corral.client import (
    ApiError,
    ClientError,
    CorralClient,
    build_request_spec,
    parse_extra_specs,
)
from corral.scheduler.explain import Explanation, RankedHost, StageReport

EXPLANATION = Explanation(
    hosts_total=10,
    stages=(
        StageReport("placement", 10, 4, {"lacked MEMORY_MB": 5, "not in AZ az2": 1}),
        StageReport("ComputeFilter", 4, 2, {"disabled": 2}),
    ),
    ranked=(RankedHost("cmp1", "cmp1", "rp1", 1.5), RankedHost("cmp2", "cmp2", "rp2", 0.25)),
    hosts_available=2,
)
NO_HOST = Explanation(
    hosts_total=3,
    stages=(
        StageReport(
            "placement", 3, 0, {"lacked VCPU": 1, "lacked MEMORY_MB": 1, "lacked DISK_GB": 1}
        ),
    ),
)


# --- tables --------------------------------------------------------------------


def test_table_aligns_columns() -> None:
    text = table(("a", "long header"), [("value", 1), ("x", None)])
    assert text.splitlines() == [
        "a      long header",
        "-----  -----------",
        "value  1",
        "x",
    ]


def test_render_selections() -> None:
    answer = {
        "instance_uuids": ["u1", "u2"],
        "selections": [
            [
                {"service_host": "cmp1", "nodename": "n1", "availability_zone": "az1"},
                {"service_host": "cmp2", "nodename": "n2", "availability_zone": "az1"},
                {"service_host": "cmp3", "nodename": "n3", "availability_zone": "az1"},
            ],
            [{"service_host": "cmp2", "nodename": "n2", "availability_zone": None}],
        ],
    }
    lines = render_selections(answer).splitlines()
    assert lines[0].split() == ["instance", "host", "node", "az", "alternates"]
    assert lines[2].split() == ["u1", "cmp1", "n1", "az1", "cmp2,", "cmp3"]
    assert lines[3].split() == ["u2", "cmp2", "n2", "-"]


def test_render_explanation_has_stages_ranking_and_summary() -> None:
    text = render_explanation(EXPLANATION.to_dict())
    lines = text.splitlines()
    assert lines[0].split() == ["stage", "in", "out", "top", "reasons"]
    assert lines[2].split() == [
        "placement", "10", "4", "5", "lacked", "MEMORY_MB;", "1", "not", "in", "AZ", "az2",
    ]  # fmt: skip
    assert lines[3].split() == ["ComputeFilter", "4", "2", "2", "disabled"]
    assert "1     cmp1  cmp1  1.500" in text
    assert lines[-1] == EXPLANATION.summary()
    assert lines[-1].startswith("2/10 hosts available: 5 lacked MEMORY_MB")


def test_render_explanation_folds_extra_reasons() -> None:
    text = render_explanation(NO_HOST.to_dict())
    row = text.splitlines()[2]
    assert row.split()[:3] == ["placement", "3", "0"]
    assert row.endswith("1 other")
    assert text.splitlines()[-1] == NO_HOST.summary()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_on_a_tty_only() -> None:
    plain = io.StringIO()
    bar = Progress(plain, 4, "work", width=4)
    for _ in range(4):
        bar.step()
    bar.finish("(done)")
    assert plain.getvalue() == "work [####] 4/4 (done)\n"

    tty = _Tty()
    bar = Progress(tty, 2, "work", width=4)
    bar.step()
    bar.step()
    bar.finish()
    assert tty.getvalue() == "\rwork [##..] 1/2\rwork [####] 2/2\rwork [####] 2/2\n"


# --- request specs and arguments ----------------------------------------------------


def test_parse_extra_specs() -> None:
    assert parse_extra_specs(["resources:VGPU=1", "hw:cpu_policy = dedicated"]) == {
        "resources:VGPU": "1",
        "hw:cpu_policy": "dedicated",
    }
    with pytest.raises(ValueError, match="not key=value"):
        parse_extra_specs(["novalue"])
    with pytest.raises(ValueError, match="not key=value"):
        parse_extra_specs(["=1"])


def test_build_request_spec_defaults_and_overrides() -> None:
    assert build_request_spec() == {"flavor": {"vcpus": 1, "memory_mb": 512}}
    base = {"flavor": {"vcpus": 4, "memory_mb": 4096, "extra_specs": {"a": "1"}}, "is_bfv": True}
    spec = build_request_spec(
        base=base,
        vcpus=2,
        disk_gb=20,
        num_instances=3,
        availability_zone="az1",
        project_id="p1",
        group="g",
        extra_specs={"b": "2"},
    )
    assert spec == {
        "flavor": {
            "vcpus": 2,
            "memory_mb": 4096,
            "root_gb": 20,
            "extra_specs": {"a": "1", "b": "2"},
        },
        "is_bfv": True,
        "num_instances": 3,
        "availability_zone": "az1",
        "project_id": "p1",
        "instance_group_uuid": "g",
    }
    assert base["flavor"]["vcpus"] == 4  # the base is not changed


def test_schedule_arguments() -> None:
    args = cli.build_parser().parse_args(
        [
            "schedule",
            "--url",
            "http://h:1",
            "--token",
            "t",
            "--vcpus",
            "2",
            "--memory-mb",
            "2048",
            "--disk-gb",
            "20",
            "--num",
            "5",
            "--extra-spec",
            "a=1",
            "--extra-spec",
            "b=2",
        ]
    )
    assert (args.url, args.token, args.vcpus, args.memory_mb, args.disk_gb, args.num) == (
        "http://h:1",
        "t",
        2,
        2048,
        20,
        5,
    )
    spec = cli._spec_from_args(args)
    assert spec["flavor"] == {
        "vcpus": 2,
        "memory_mb": 2048,
        "root_gb": 20,
        "extra_specs": {"a": "1", "b": "2"},
    }
    assert spec["num_instances"] == 5


@pytest.mark.parametrize(
    "argv",
    [
        ["schedule", "--num", "0"],
        ["schedule", "--num", "1001"],
        ["schedule", "--vcpus", "two"],
        ["explain", "--memory-mb", "0"],
        ["demo", "--hosts", "0"],
        ["demo", "--instances", "1001"],
    ],
)
def test_out_of_bounds_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(argv)
    assert exc.value.code == 2


def test_spec_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wrapped = tmp_path / "body.json"
    wrapped.write_text(json.dumps({"request_spec": {"flavor": {"vcpus": 3, "memory_mb": 1}}}))
    args = cli.build_parser().parse_args(["explain", "--spec-file", str(wrapped), "--az", "z"])
    assert cli._spec_from_args(args) == {
        "flavor": {"vcpus": 3, "memory_mb": 1},
        "availability_zone": "z",
    }
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert cli.main(["explain", "--spec-file", str(bad)]) == 2
    assert "does not hold a JSON object" in capsys.readouterr().err
    assert cli.main(["explain", "--spec-file", str(tmp_path / "missing.json")]) == 2


# --- the client ----------------------------------------------------------------------


def test_api_error_reads_the_placement_error_body() -> None:
    body = {
        "errors": [
            {
                "status": 409,
                "code": "scheduler.no_valid_host",
                "detail": "There was a conflict.\n\n No valid host was found. 0/3 hosts  ",
                "explanation": NO_HOST.to_dict(),
            }
        ]
    }
    exc = ApiError(409, body)
    assert exc.no_valid_host
    assert exc.detail == "No valid host was found. 0/3 hosts"
    assert exc.explanation == NO_HOST.to_dict()
    other = ApiError(409, {"errors": [{"code": "placement.concurrent_update", "detail": "x"}]})
    assert not other.no_valid_host
    assert ApiError(500, None).explanation is None


def test_bad_url_is_a_client_error() -> None:
    with pytest.raises(ClientError, match="not an http"):
        CorralClient("ftp://example.com", "t")


class _Stub(BaseHTTPRequestHandler):
    """Canned answers by path; records what it was sent."""

    answers: dict[tuple[str, str], tuple[int, Any]] = {}
    seen: list[tuple[str, str, dict[str, str], Any]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        path = self.path.split("?")[0]
        self.seen.append((self.command, path, dict(self.headers), body))
        status, answer = self.answers.get((self.command, path), (404, {"errors": [{}]}))
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[tuple[str, type[_Stub]]]:
    handler = type("Handler", (_Stub,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


SELECTED = {
    "instance_uuids": ["u1"],
    "selections": [[{"service_host": "cmp1", "nodename": "cmp1", "availability_zone": "az1"}]],
}


def test_schedule_prints_the_table_and_exits_0(
    stub: tuple[str, type[_Stub]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, handler = stub
    handler.answers[("POST", "/scheduler/v1/select_destinations")] = (200, SELECTED)
    argv = ["schedule", "--url", url, "--token", "tok", "--vcpus", "2", "--no-alternates"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2].split() == ["u1", "cmp1", "cmp1", "az1", "-"]
    method, path, headers, body = handler.seen[-1]
    assert (method, path) == ("POST", "/scheduler/v1/select_destinations")
    assert headers["X-Auth-Token"] == "tok"
    assert body == {
        "request_spec": {"flavor": {"vcpus": 2, "memory_mb": 512}},
        "return_alternates": False,
    }


def test_schedule_no_valid_host_exits_1(
    stub: tuple[str, type[_Stub]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, handler = stub
    error = {
        "errors": [
            {
                "status": 409,
                "code": "scheduler.no_valid_host",
                "detail": f"No valid host was found. {NO_HOST.summary()}",
                "explanation": NO_HOST.to_dict(),
            }
        ]
    }
    handler.answers[("POST", "/scheduler/v1/select_destinations")] = (409, error)
    assert cli.main(["schedule", "--url", url]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"No valid host: No valid host was found. {NO_HOST.summary()}")
    assert out.rstrip().endswith(NO_HOST.summary())


def test_other_api_errors_exit_2(
    stub: tuple[str, type[_Stub]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, handler = stub
    handler.answers[("POST", "/scheduler/v1/select_destinations")] = (
        403,
        {"errors": [{"status": 403, "detail": "Access was denied.\n\n Policy says no.  "}]},
    )
    assert cli.main(["schedule", "--url", url]) == 2
    assert capsys.readouterr().err.strip() == "corral: error: HTTP 403: Policy says no."


def test_explain_exit_status_follows_would_fit(
    stub: tuple[str, type[_Stub]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, handler = stub
    handler.answers[("POST", "/scheduler/v1/explain")] = (
        200,
        {**EXPLANATION.to_dict(), "would_fit": True},
    )
    assert cli.main(["explain", "--url", url]) == 0
    assert capsys.readouterr().out.rstrip().endswith(EXPLANATION.summary())
    handler.answers[("POST", "/scheduler/v1/explain")] = (
        200,
        {**NO_HOST.to_dict(), "would_fit": False},
    )
    assert cli.main(["explain", "--url", url]) == 1


def test_unreachable_service_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    assert cli.main(["schedule", "--url", "http://127.0.0.1:1"]) == 2
    assert "cannot reach corral at http://127.0.0.1:1" in capsys.readouterr().err


# --- the demo ----------------------------------------------------------------------


def test_demo_refuses_a_service_with_hosts(
    stub: tuple[str, type[_Stub]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, handler = stub
    handler.answers[("GET", "/scheduler/v1/hosts")] = (200, {"hosts": [{"name": "cmp1"}]})
    assert cli.main(["demo", "--url", url]) == 2
    err = capsys.readouterr().err
    assert "already holds compute hosts" in err and "--force" in err
    # It looked, and wrote nothing.
    assert [(m, p) for m, p, _, _ in handler.seen] == [("GET", "/scheduler/v1/hosts")]


def test_demo_plans() -> None:
    hosts = demo.plan_hosts(5)
    assert [h.name for h in hosts] == ["demo-01", "demo-02", "demo-03", "demo-04", "demo-05"]
    assert [h.az for h in hosts] == ["az1", "az1", "az1", "az2", "az2"]
    assert len({h.ip for h in demo.plan_hosts(250)}) == 250
    requests = demo.plan_requests(40, 4)
    assert sum(r.in_group for r in requests) == 4
    assert {r.az for r in requests} == {None, "az1", "az2"}
    assert {r.project for r in requests} == {"demo", demo.GOLD_PROJECT}
    huge = demo.request_spec(demo.HUGE)["flavor"]
    assert huge["vcpus"] > max(h.vcpus for h in hosts)
