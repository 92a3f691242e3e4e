"""Field paths: how a workflow names what it reads and writes (`vars.plan`, `contact.email`,
`contact.fields.plan`, `contact.tags`, `answer`, `channel`, `schedule.office`,
`conversation.team`).

A path is parsed once, when the workflow loads, into a frozen `FieldPath`; the conditions,
the steps that save and the checks of a workflow read its parts, never the text again. In a
workflow model a path is a `ReadPath` (a condition's field) or a `SavePath` (where an answer
or update_contact writes); both are written back as the text they were read from, so a
stored workflow version and its hash stay the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal, assert_never

from pydantic import PlainSerializer, PlainValidator

CONTACT_FIELDS = ("name", "username", "language", "email", "phone", "country")
CONVERSATION_FIELDS = ("team", "assignee", "channel")
_NAME = r"[A-Za-z_]\w{0,63}"

# var: vars.<name>; contact: contact.<profile field>; custom: contact.fields.<name>;
# tags: contact.tags; schedule: schedule.<name> ("open" or "closed" now);
# conversation: conversation.<team|assignee|channel>; answer and channel stand alone.
PathKind = Literal[
    "var", "contact", "custom", "tags", "answer", "channel", "schedule", "conversation"
]
SAVABLE: tuple[PathKind, ...] = ("var", "contact", "custom", "tags")


@dataclass(frozen=True)
class FieldPath:
    kind: PathKind
    name: str = ""  # the variable, profile field, custom field, schedule or attribute

    def __str__(self) -> str:
        match self.kind:
            case "var":
                return f"vars.{self.name}"
            case "contact":
                return f"contact.{self.name}"
            case "custom":
                return f"contact.fields.{self.name}"
            case "tags":
                return "contact.tags"
            case "answer" | "channel":
                return self.kind
            case "schedule":
                return f"schedule.{self.name}"
            case "conversation":
                return f"conversation.{self.name}"
            case _:
                assert_never(self.kind)

    @property
    def savable(self) -> bool:
        return self.kind in SAVABLE

    @classmethod
    def parse(cls, text: str, *, for_saving: bool) -> FieldPath:
        """The path `text` names; ValueError naming it when a workflow may not use it (to
        save to, when `for_saving`)."""
        path = _parse(text)
        if path is not None and (path.savable or not for_saving):
            return path
        head = text.split(".")[0]
        if head == "contact":
            raise ValueError(
                f"unknown contact field '{text}' (known: "
                + ", ".join(f"contact.{f}" for f in CONTACT_FIELDS)
                + ", contact.tags; custom fields are contact.fields.<name>)"
            )
        where = "vars.<name>, contact.<field> or contact.fields.<name>"
        if not for_saving:
            where += ", answer, channel, schedule.<name> or conversation.<team|assignee|channel>"
        raise ValueError(f"unknown field '{text}' (use {where})")


def _parse(text: str) -> FieldPath | None:
    parts = text.split(".")
    match parts:
        case ["vars", name] if re.fullmatch(_NAME, name):
            return FieldPath("var", name)
        case ["contact", "tags"]:
            return FieldPath("tags")
        case ["contact", name] if name in CONTACT_FIELDS:
            return FieldPath("contact", name)
        case ["contact", "fields", name] if re.fullmatch(_NAME, name):
            return FieldPath("custom", name)
        case ["answer"]:
            return FieldPath("answer")
        case ["channel"]:
            return FieldPath("channel")
        case ["schedule", name] if name:
            return FieldPath("schedule", name)
        case ["conversation", name] if name in CONVERSATION_FIELDS:
            return FieldPath("conversation", name)
    return None


def _reading(value: object) -> FieldPath:
    if isinstance(value, FieldPath):
        return value
    if not isinstance(value, str):
        raise ValueError("a field path is text, like vars.plan or contact.email")
    return FieldPath.parse(value, for_saving=False)


def _saving(value: object) -> FieldPath:
    if isinstance(value, FieldPath):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("a field path is text, like vars.plan or contact.email")
    return FieldPath.parse(value, for_saving=True)


_AS_TEXT = PlainSerializer(str, return_type=str)
ReadPath = Annotated[FieldPath, PlainValidator(_reading), _AS_TEXT]
SavePath = Annotated[FieldPath, PlainValidator(_saving), _AS_TEXT]
