"""The conversation key: which contact, on which channel, a conversation's events belong to.

A conversation's events (messages, desk actions, timers, HTTP results) run one at a time
under its key, in this process (`dispatch`) and across replicas (the store's lock). The key
is written `channel:external_id` wherever it is stored or logged; `parse` reads that form
back (the channel slug has no colon, the external id may).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema


@dataclass(frozen=True, slots=True)
class ConversationKey:
    channel: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"

    @classmethod
    def parse(cls, text: str) -> ConversationKey:
        channel, colon, external_id = text.partition(":")
        if not colon or not channel:
            raise ValueError(f"{text!r} is not a conversation key (channel:external id)")
        return cls(channel, external_id)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # In a model (a stored event, a run's HTTP call) the key is its text, as stored.
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, return_schema=core_schema.str_schema()
            ),
        )

    @classmethod
    def _validate(cls, value: object) -> ConversationKey:
        if isinstance(value, ConversationKey):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        raise ValueError("a conversation key is text: channel:external id")
