"""The path a conversation took, as `frontdesk chat --path` prints it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FRONTDESK = Path(sys.executable).parent / "frontdesk"
DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"


def chat(*options: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(FRONTDESK),
            "chat",
            str(DEMO / "workflows" / "route-by-team.yaml"),
            "--config",
            str(DEMO / "frontdesk.yaml"),
            *options,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_chat_prints_the_path_taken() -> None:
    result = chat("--path", stdin="hello\nsomething else\nsupport\n/quit\n")
    assert result.returncode == 0, result.stderr
    path = result.stdout.split("the path taken:\n", 1)[1].splitlines()
    assert path[0] == "  opened"
    assert '  customer: "support" → option support' in path
    assert any(line.startswith("  ask_team: ") for line in path)
    told = [line for line in path if line.startswith("  tell_assignee: ")]
    assert told == [
        '  tell_assignee: "Thanks! Carol from Support will help you shortly."'
        "  [assigned: if conversation.assignee exists]"
    ]
    assert "  assigned to carol (support, workflow, round_robin)" in path


def test_without_the_flag_no_path() -> None:
    result = chat(stdin="hello\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "the path taken:" not in result.stdout
