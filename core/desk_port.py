"""The ports of the agents' desk: what a channel agents work in may ask of frontdesk, and what
its type declares about agents' and teams' addresses on it.

A channel of such a type is handed the Runtime as its Inbox, which implements `Desk` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from pydantic import RootModel

from core.agents import Agent, AgentStatus
from core.keys import ConversationKey
from core.models import Conversation, DeskThread
from core.ports import ChannelType


@runtime_checkable
class Desk(Protocol):
    """What a channel that agents work in may ask of frontdesk, beside the Inbox.

    Agents' actions on conversations (accept, reassign, close, reply, hand back) go through
    the Inbox as `Inbound` events with an `action`, so that they are stored first and run in
    turn with the conversation's other events. The Runtime implements this port.
    """

    async def list_agents(self) -> list[Agent]: ...

    async def agent_at(self, desk: str, address: str) -> Agent | None:
        """The agent whose address on the desk channel `desk` (its slug) is `address`, as the
        config says it (see `core.addresses`); None for anyone else."""
        ...

    async def set_agent_status(self, agent_id: str, status: AgentStatus) -> Agent | None:
        """Set it, and let an agent who comes online take their teams' queues."""
        ...

    async def open_assigned(self, agent_id: str) -> list[Conversation]:
        """The agent's open conversations, oldest first."""
        ...

    async def conversation_key(self, conversation_id: str) -> ConversationKey | None:
        """The key the conversation's events run under (see `DeskAction.conversation_key`)."""
        ...

    async def save_thread(self, thread: DeskThread) -> None:
        """Remember a posted handoff notice; saved durably when it returns."""
        ...

    async def threads_of(self, handoff_id: str) -> list[DeskThread]:
        """Where the handoff notice `handoff_id` was posted, in the order it was."""
        ...

    async def thread_at(self, desk: str, place: str, ts: str) -> DeskThread | None: ...


class DeskChannelType(ChannelType, Protocol):
    """A channel type agents can work in: a config's `desk.channel` may name it, and agents'
    and teams' `desk` mappings hold addresses on it.

    A handoff notice (an `Outbound` with a `Notice`) reaches it through `Channel.send`, with
    its targets' ids and the agent's address being these addresses, unread by core.
    """

    serves_agents: bool
    # Check one agent's (a person's) and one team's address on the channel.
    agent_address: type[RootModel[str]]
    team_address: type[RootModel[str]]
    # What earlier versions called these addresses: {"agents": key, "teams": key}, read with
    # a warning (see `core.addresses.upgrade_legacy_keys`); empty if there were none.
    legacy_address_keys: Mapping[str, str]
