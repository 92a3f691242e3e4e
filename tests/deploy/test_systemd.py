"""The systemd unit: checked by `systemd-analyze verify` where systemd is installed, and read
for the hardening an operator relies on."""

from __future__ import annotations

import configparser
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "frontdesk.service"
FRONTDESK = Path(sys.executable).parent / "frontdesk"
INSTALLED = "/opt/frontdesk/bin/frontdesk"
ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed: only the unit's keys are checked"
)


def service() -> configparser.SectionProxy:
    # strict=False: a unit may repeat a key (SystemCallFilter=) and systemd adds them up.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def verify(unit_text: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` on the unit, its ExecStart pointed at this venv's frontdesk
    (systemd checks that the program exists)."""
    assert ANALYZE is not None
    unit = folder / "frontdesk.service"
    unit.write_text(unit_text.replace(INSTALLED, str(FRONTDESK)))
    return subprocess.run(
        [ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )


@needs_systemd
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    result = verify(UNIT.read_text(), tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


@needs_systemd
def test_systemd_analyze_would_catch_a_mistake(tmp_path: Path) -> None:
    result = verify(UNIT.read_text().replace("ProtectHome=", "ProtectHom="), tmp_path)
    assert "Unknown key 'ProtectHom'" in result.stderr


def test_hardening() -> None:
    unit = service()
    expected = {
        "DynamicUser": "yes",
        "StateDirectory": "frontdesk",
        "ConfigurationDirectory": "frontdesk",
        "EnvironmentFile": "-/etc/frontdesk/frontdesk.env",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet": "",
        "KillSignal": "SIGTERM",
        "Restart": "on-failure",
        "ExecReload": "/bin/kill -HUP $MAINPID",
    }
    assert {key: unit.get(key) for key in expected} == expected
    assert "@system-service" in UNIT.read_text().split("SystemCallFilter=", 1)[1].splitlines()[0]
    assert int(unit["RestartSec"]) > 0


def test_it_serves_the_installed_config() -> None:
    assert service()["ExecStart"] == f"{INSTALLED} serve --config /etc/frontdesk/frontdesk.yaml"


def test_it_waits_for_the_drain_before_killing() -> None:
    # Runtime.stop gives the turns under way `grace` seconds, then the deliveries as long.
    grace = inspect.signature(Runtime.stop).parameters["grace"].default
    assert int(service()["TimeoutStopSec"]) > 3 * grace


def test_the_container_config_stores_where_the_service_may_write() -> None:
    state = Path("/var/lib") / service()["StateDirectory"]
    config = yaml.safe_load((ROOT / "deploy" / "docker" / "frontdesk.yaml").read_text())
    assert Path(config["store"]["path"]).parent == state
