"""The JSON bodies of the webhook channel, both ways, and their mapping to core models.

Inbound, `POST /<slug>/events` (signed, see `signing`)::

    {"event_id": "evt-123",
     "contact": {"id": "c-42", "name": "Ana", "language": "es",
                 "email": "ana@example.com", "phone": "+34600000000"},
     "message": {"text": "hello"}}

- `event_id`: required, 1-256 characters; the sender's identity of the event. Posting the
  same id again is answered 200 `{"status": "duplicate"}` and processed only once, so a
  sender may retry freely.
- `contact.id`: required, 1-256 characters; the sender's identity of the person. Every other
  contact key is optional.
- `message`: `{"text": ...}`, `{"option_id": ...}` (the id of an option frontdesk offered), or
  both; at least one, non-empty.
- Unknown keys anywhere are refused, so that a typo shows up as a 400 naming the field instead
  of silently dropped data.

Outbound, POSTed to the channel's `callback_url` (signed the same way, with an
`Idempotency-Key: <message_id>` header; the same message may arrive more than once)::

    {"message_id": "m-1", "conversation_id": "conv-9", "contact_id": "c-42",
     "text": "Which team?", "options": [{"id": "sales", "label": "Sales"}], "language": "es"}

`options` is always present (`[]` when there are none); `language` may be null.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from core.models import ContactProfile, Inbound, Outbound
from core.values import Identifier, Text, storable


class _Body(BaseModel):
    # strict: a number where a string belongs is an integration bug worth a 400, not a cast.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ContactBody(_Body):
    id: Identifier
    name: Text | None = None
    language: Text | None = None
    email: Text | None = None
    phone: Text | None = None


class MessageBody(_Body):
    text: Annotated[str, Field(min_length=1), AfterValidator(storable)] | None = None
    option_id: Identifier | None = None

    @model_validator(mode="after")
    def _says_something(self) -> MessageBody:
        if self.text is None and self.option_id is None:
            # A custom error keeps pydantic's "Value error, " prefix out of the reason.
            raise PydanticCustomError("empty_message", "give text or option_id")
        return self


class EventBody(_Body):
    event_id: Identifier
    contact: ContactBody
    message: MessageBody

    def to_inbound(self, channel: str, raw: dict[str, Any]) -> Inbound:
        return Inbound(
            channel=channel,
            event_id=self.event_id,
            contact=ContactProfile(
                external_id=self.contact.id,
                name=self.contact.name,
                language=self.contact.language,
                email=self.contact.email,
                phone=self.contact.phone,
            ),
            text=self.message.text,
            option_id=self.message.option_id,
            raw=raw,
        )


class CallbackOption(_Body):
    id: str
    label: str


class CallbackMessage(_Body):
    message_id: str
    conversation_id: str
    contact_id: str
    text: str
    options: list[CallbackOption] = Field(default_factory=list)
    language: str | None = None

    @classmethod
    def from_outbound(cls, message: Outbound) -> CallbackMessage:
        return cls(
            message_id=message.message_id,
            conversation_id=message.conversation_id,
            contact_id=message.recipient,
            text=message.text,
            options=[CallbackOption(id=o.id, label=o.label) for o in message.options],
            language=message.language,
        )
