"""The documents of `views` as text for people: aligned columns and relative times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.views import JSON


def ago(moment: str | None, now: datetime) -> str:
    """'42s ago', '5m ago', '3h ago', '2d ago'; '-' for no time."""
    if moment is None:
        return "-"
    seconds = int((now - datetime.fromisoformat(moment)).total_seconds())
    return f"{duration(max(seconds, 0))} ago"


def duration(seconds: float) -> str:
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(cell) if cell is not None else "-" for cell in row] for row in rows]
    widths = [max(len(line[i]) for line in [list(header), *cells]) for i in range(len(header))]
    lines = [list(header), *cells]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _who(contact: JSON) -> str:
    name = contact.get("name")
    return f"{contact['id']} ({name})" if name else str(contact["id"])


def conversations_table(listed: Sequence[JSON], now: datetime) -> str:
    if not listed:
        return "no conversations"
    return table(
        ("ID", "CHANNEL", "CONTACT", "STATUS", "WAITING", "TEAM", "ASSIGNEE", "OPENED"),
        [
            (
                c["id"],
                c["channel"],
                _who(c["contact"]),
                c["status"],
                c["waiting_for"],
                c["team"],
                c["assignee"],
                ago(c["opened_at"], now),
            )
            for c in listed
        ],
    )


def _event(event: JSON) -> str:
    kind = event["kind"]
    if kind == "assigned":
        how = ", ".join(p for p in (event["by"], event.get("strategy")) if p)
        team = f" ({event['team']})" if event.get("team") else ""
        taken = f", from {event['previous']}" if event.get("previous") else ""
        return f"assigned to {event['agent_id']}{team} by {how}{taken}"
    if kind == "accepted":
        return f"accepted by {event['agent_id']}"
    if kind == "unassigned":
        return f"unassigned from {event['agent_id']} by {event['by']}"
    if kind == "queued" and event.get("agent"):
        return f"queued for agent {event['agent']}"
    if kind == "queued":
        return f"queued for {event['team']}"
    if kind == "closed":
        return f"closed by {event['by']}"
    return str(kind)


def _said(entry: JSON) -> list[str]:
    arrow = "<" if entry["direction"] == "in" else ">"
    words = entry["text"] or ""
    if entry["option_id"]:
        words = f"{words} (chose {entry['option_id']})".strip()
    attachment = entry.get("attachment")
    if attachment:
        parts = [attachment["kind"], attachment.get("name"), attachment.get("file_id")]
        parts.append(attachment.get("url"))
        if attachment.get("latitude") is not None:
            parts.append(f"{attachment['latitude']},{attachment['longitude']}")
        words = f"{words} [{' '.join(str(p) for p in parts if p)}]".strip()
    step = f"  ({entry['step_id']})" if entry["step_id"] else ""
    lines = [f"  {entry['at'][11:19]}  {arrow} {words}{step}"]
    lines += [
        f"              {n}. {option['label']} ({option['id']})"
        for n, option in enumerate(entry["options"], start=1)
    ]
    return lines


def conversation_text(found: JSON, now: datetime) -> str:
    contact = found["contact"]
    about = [contact.get(k) for k in ("name", "language", "email", "phone")]
    lines = [
        f"conversation  {found['id']}",
        f"status        {found['status']} on {found['channel']}, "
        f"opened {ago(found['opened_at'], now)}"
        + (f", closed {ago(found['closed_at'], now)}" if found["closed_at"] else ""),
        f"contact       {' · '.join([str(contact['id']), *(str(a) for a in about if a)])}",
        f"team          {found['team'] or '-'}    assignee {found['assignee'] or '-'}",
    ]
    position = found["position"]
    if position is not None:
        where = f"workflow      {position['workflow']}"
        if position["waiting_for"]:
            where += f" at {position['step_id']}, waiting for {position['waiting_for']}"
        if position["until"]:
            where += f" until {position['until']}"
        lines.append(where)
    lines.append("history")
    lines += [f"  {e['at'][11:19]}  {_event(e)}" for e in found["history"]] or ["  -"]
    lines.append("transcript")
    for entry in found["transcript"]:
        lines += _said(entry)
    return "\n".join(lines)


def queues_text(queues: Sequence[JSON]) -> str:
    blocks = []
    for queue in queues:
        waiting = queue["conversations"]
        whose = queue["team"] if "team" in queue else f"agent {queue['agent']}"
        title = f"{whose}: {len(waiting)} waiting"
        if waiting:
            rows = [
                (c["id"], c["channel"], _who(c["contact"]), duration(c["waiting_seconds"]))
                for c in waiting
            ]
            title += "\n" + table(("ID", "CHANNEL", "CONTACT", "WAITING"), rows)
        blocks.append(title)
    return "\n\n".join(blocks) or "no teams"


def agents_table(agents: Sequence[JSON]) -> str:
    if not agents:
        return "no agents"
    return table(
        ("ID", "NAME", "STATUS", "OPEN", "CAPACITY", "TEAMS"),
        [
            (
                a["id"],
                a["name"],
                a["status"],
                a["open_conversations"],
                a["capacity"],
                ",".join(a["teams"]) or None,
            )
            for a in agents
        ],
    )
