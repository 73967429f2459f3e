"""The generated Alertmanager routing, checked by amtool and exercised on a real Alertmanager."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web

from slakit.alertmanager import Timing, build_config, render_config
from slakit.cli import main
from slakit.spec import load_specs
from tests.exporter.targets import free_port

REPO = Path(__file__).resolve().parents[2]
SPECS = sorted(str(p) for p in (REPO / "rules" / "specs").glob("*.yaml"))
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "/usr/bin/alertmanager"


def generated_alerts() -> list[dict[str, str]]:
    """The label set of every alert the checked-in rules can fire (alertname included)."""
    alerts = []
    for path in sorted((REPO / "rules" / "generated").glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts.append({"alertname": rule["alert"], **rule.get("labels", {})})
    return alerts


def expected_receiver(labels: dict[str, str]) -> str:
    if labels["alertname"] == "SlakitWatchdog":
        return "deadmansswitch"
    if labels.get("severity") == "none":
        return "silent"
    return "pager" if labels.get("severity") == "page" else "ticket"


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("am") / "alertmanager.yml"
    assert main(["alertmanager", *SPECS, "-o", str(path)]) == 0
    return path


def test_checked_in_config_is_current(config_file: Path) -> None:
    assert (REPO / "rules" / "generated" / "alertmanager.yml").read_text() == config_file.read_text()


def test_amtool_accepts_the_config(config_file: Path) -> None:
    result = subprocess.run([AMTOOL, "check-config", str(config_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_generated_alert_reaches_its_receiver(config_file: Path) -> None:
    alerts = generated_alerts()
    severities = {a.get("severity") for a in alerts}
    assert {"page", "ticket", "none"} <= severities  # the table below covers every kind of alert
    assert any(a["alertname"] == "SlakitPlannedDowntime" for a in alerts)
    for labels in alerts:
        pairs = [f"{k}={v}" for k, v in sorted(labels.items())]
        receiver = expected_receiver(labels)
        cmd = [AMTOOL, "config", "routes", "test", f"--config.file={config_file}"]
        result = subprocess.run([*cmd, f"--verify.receivers={receiver}", *pairs], capture_output=True, text=True)
        assert result.returncode == 0, f"{labels}: {result.stdout}{result.stderr}"


def test_bad_receiver_url_is_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alertmanager", *SPECS, "--receiver-url", "pager"]) == 2
    assert "--receiver-url 'pager'" in capsys.readouterr().err
    assert main(["alertmanager", *SPECS, "--receiver-url", "oncall=http://127.0.0.1:1/"]) == 2
    assert "unknown receiver 'oncall'" in capsys.readouterr().err


# -- a real Alertmanager ------------------------------------------------------------------------------------------


class Receiver:
    """Webhook receiver on 127.0.0.1 recording (receiver path, status, alert label sets) per notification."""

    def __init__(self) -> None:
        self.notifications: list[tuple[str, str, list[dict[str, str]]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        labels = [a["labels"] for a in body["alerts"]]
        self.notifications.append((request.match_info["name"], body["status"], labels))
        return web.Response(text="ok")


async def post_alerts(session: aiohttp.ClientSession, url: str, alerts: list[dict[str, str]]) -> None:
    payload = [{"labels": labels, "annotations": {"summary": "test"}} for labels in alerts]
    async with session.post(f"{url}/api/v2/alerts", json=payload) as resp:
        assert resp.status == 200, await resp.text()


async def alert_states(session: aiohttp.ClientSession, url: str) -> dict[str, dict]:
    async with session.get(f"{url}/api/v2/alerts") as resp:
        alerts = await resp.json()
    return {f"{a['labels']['alertname']}/{a['labels'].get('slo', '-')}": a["status"] for a in alerts}


async def test_inhibition_and_routing_on_a_real_alertmanager(tmp_path: Path) -> None:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    hook_port, am_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", hook_port).start()
    urls = {name: f"http://127.0.0.1:{hook_port}/{name}" for name in ("pager", "ticket", "deadmansswitch")}
    config = build_config(load_specs(SPECS), urls, Timing(group_wait="1s", group_interval="1s"))
    (tmp_path / "am.yml").write_text(render_config(config))
    proc = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{am_port}"
    page = {"alertname": "SlakitErrorBudgetBurn", "service": "erp-api", "slo": "api-errors", "severity": "page"}
    same_slo_ticket = {**page, "alertname": "SlakitErrorBudgetSpent", "severity": "ticket", "budget_spent": "50%"}
    other_slo_ticket = {**same_slo_ticket, "slo": "uptime"}
    unlabelled_ticket = {"alertname": "SlakitPeriodTableExpiring", "service": "erp-api", "severity": "ticket"}
    # A page without `slo` (someone else's rule): were the inhibition not limited to alerts carrying both
    # labels, the missing `slo` would count as equal and this page would mute the unlabelled ticket.
    unlabelled_page = {"alertname": "OtherTeamPage", "service": "erp-api", "severity": "page"}
    # An accepted maintenance window mutes its SLO's alerts and is itself never notified.
    planned = {"alertname": "SlakitPlannedDowntime", "service": "employee-records", "slo": "uptime", "severity": "none"}
    muted_page = {**planned, "alertname": "SlakitSLOBreached", "severity": "page"}
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 20
            while True:
                try:
                    async with session.get(f"{url}/-/ready") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "Alertmanager did not become ready"
                await asyncio.sleep(0.2)
            everything = [
                page,
                same_slo_ticket,
                other_slo_ticket,
                unlabelled_ticket,
                unlabelled_page,
                planned,
                muted_page,
            ]
            await post_alerts(session, url, everything)
            deadline = time.monotonic() + 30
            while True:
                states = await alert_states(session, url)
                sent = {
                    (name, tuple(sorted(lbl["slo"] for lbl in labels if "slo" in lbl)))
                    for name, _, labels in receiver.notifications
                }
                if len(states) == 7 and ("pager", ("api-errors",)) in sent and ("ticket", ("uptime",)) in sent:
                    break
                assert time.monotonic() < deadline, f"states {states}, notifications {receiver.notifications}"
                await asyncio.sleep(0.3)
            assert states["SlakitErrorBudgetSpent/api-errors"]["state"] == "suppressed"
            assert states["SlakitErrorBudgetSpent/api-errors"]["inhibitedBy"]
            assert states["SlakitErrorBudgetSpent/uptime"]["state"] == "active"  # other slo: not inhibited
            assert states["SlakitPeriodTableExpiring/-"]["state"] == "active"  # no slo label: never inhibited
            assert states["SlakitSLOBreached/uptime"]["state"] == "suppressed"  # planned downtime
            await asyncio.sleep(2)  # a few more group intervals: the inhibited ticket must never be sent
            tickets = [labels for name, _, group in receiver.notifications if name == "ticket" for labels in group]
            assert all(lbl.get("slo") != "api-errors" for lbl in tickets), tickets
            assert any(lbl["alertname"] == "SlakitPeriodTableExpiring" for lbl in tickets)
            notified = {labels["alertname"] for _, _, group in receiver.notifications for labels in group}
            assert "SlakitPlannedDowntime" not in notified and "SlakitSLOBreached" not in notified
            pages = [labels for name, _, group in receiver.notifications if name == "pager" for labels in group]
            assert pages and all(lbl["severity"] == "page" for lbl in pages)
    finally:
        proc.terminate()
        proc.wait(10)
        await runner.cleanup()
