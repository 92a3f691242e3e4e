"""What Slack sends frontdesk: events, button presses and the `/frontdesk` command.

slack-bolt verifies every request (signing secret, five-minute window), answers
`url_verification`, and drops the app's own events. The listeners here turn the rest into
`Inbound` events stored in the inbox before Slack gets its 200 (bolt runs them before it
answers), so that a redelivery (`X-Slack-Retry-Num`) is recognised by its event id and a
crash after the 200 loses nothing:

- a direct message from someone who is not an agent: a customer's message;
- a message in the thread of a handoff notice: an agent's reply (or note);
- Accept, Reassign and Close on a notice, and a customer's choice of an option.

Agent status (the command and the Home tab) is set at once: it is one row, and the
answer says what changed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.hints import token_refused
from adapters.slack.markup import decode, mentioned
from adapters.slack.people import People
from core.agents import Agent, AgentStatus
from core.desk_port import Desk
from core.models import Attachment, ContactProfile, DeskAction, DeskActionKind, Inbound
from core.ports import Inbox
from core.tasks import TaskSet

log = logging.getLogger(__name__)


class ThreadNotRecorded(Exception):
    """A reply in a thread frontdesk has not recorded (yet): Slack should send it again."""


NOTICE_ACTIONS = {
    blocks.ACCEPT: DeskActionKind.ACCEPT,
    blocks.REASSIGN: DeskActionKind.REASSIGN,
    blocks.CLOSE: DeskActionKind.CLOSE,
}
OPTION_ACTION = re.compile(rf"^{blocks.OPTION_PREFIX}\d+$")
STATUS_ACTIONS = {blocks.STATUS_ONLINE: AgentStatus.ONLINE, blocks.STATUS_AWAY: AgentStatus.AWAY}
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
CLOSE_GRACE_SECONDS = 5.0
# Slack sends an event it got no 200 for again, three times: at once, after a minute and
# after five. https://api.slack.com/apis/events-api#retries
LAST_RETRY = 3
COMMAND_HELP = (
    "`/frontdesk online`: take conversations (and your teams' waiting ones)\n"
    "`/frontdesk away`: take no new conversations\n"
    "`/frontdesk status`: your status and open conversations"
)


class SlackInbound:
    """Registers frontdesk's listeners on a bolt app."""

    def __init__(
        self, slug: str, app: AsyncApp, client: AsyncWebClient, inbox: Inbox, desk: Desk
    ) -> None:
        self._slug = slug
        self._client = client
        self._inbox = inbox
        self._desk = desk
        self._people = People(client)
        self._tasks = TaskSet()
        app.event("message")(self.message)
        app.event("app_home_opened")(self.home_opened)
        app.event("tokens_revoked")(self.tokens_revoked)
        app.event("app_uninstalled")(self.app_uninstalled)
        for action_id in NOTICE_ACTIONS:
            app.action(action_id)(self.notice_action)
        app.action(OPTION_ACTION)(self.option_chosen)
        for action_id in STATUS_ACTIONS:
            app.action(action_id)(self.status_button)
        app.action(blocks.HAND_BACK)(self.hand_back)
        app.command("/frontdesk")(self.command)

    # events -----------------------------------------------------------------------------

    async def message(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        request: AsyncBoltRequest,
    ) -> None:
        user = event.get("user")
        # Edits, deletions, joins, bot posts (ours included): not something a person said.
        # A file with a comment, or a thread reply also sent to the channel, is.
        if (
            event.get("subtype") not in PERSON_SUBTYPES
            or event.get("bot_id")
            or not isinstance(user, str)
        ):
            await ack()
            return
        event_id = str(body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}")
        place = str(event.get("channel", ""))
        text = await self._plain(event.get("text"))
        thread_ts = event.get("thread_ts")
        if isinstance(thread_ts, str) and thread_ts != event.get("ts"):
            thread = await self._desk.thread_at(self._slug, place, thread_ts)
            agent = await self._agent(user)
            if thread is not None:
                await self._act(
                    event_id,
                    user,
                    agent,
                    DeskActionKind.REPLY,
                    thread.conversation_id,
                    place=place,
                    handoff_id=thread.handoff_id,
                    text=text,
                )
                await ack()
                return
            if agent is not None and event.get("parent_user_id") == context.bot_user_id:
                await self._unrecorded_thread(user, place, thread_ts, _retry_num(request))
                await ack()
                return
        if event.get("channel_type") == "im" and await self._agent(user) is None:
            profile = await self._people.profile(user)
            await self._inbox.accept(
                Inbound(
                    channel=self._slug,
                    event_id=event_id,
                    contact=profile,
                    text=text,
                    attachment=_file(event.get("files")),
                    raw=event,
                )
            )
        await ack()

    async def _plain(self, text: object) -> str | None:
        """A message's text as its writer sees it in Slack (see `markup`)."""
        if not isinstance(text, str):
            return None
        return decode(text, await self._people.names(mentioned(text)))

    async def _unrecorded_thread(self, user: str, place: str, ts: str, retry: int) -> None:
        """An agent wrote in the thread of one of frontdesk's posts that is no notice it has
        recorded: most likely a notice just posted, whose thread is saved a moment later.
        Not acknowledged, so that Slack sends it again (when the thread is known, it is
        relayed); after Slack's last try, the writer is told that it was not sent."""
        if retry < LAST_RETRY:
            raise ThreadNotRecorded(f"the thread {ts} in {place} is not a recorded notice yet")
        log.warning("a reply in a thread that is no recorded notice: not sent")
        try:
            await self._client.chat_postEphemeral(
                channel=place,
                user=user,
                thread_ts=ts,
                text="frontdesk does not know this thread as a conversation's notice:"
                " your message was not sent to anyone.",
            )
        except (SlackApiError, OSError, TimeoutError) as exc:
            log.warning("could not tell the writer of an unsent reply: %s", _reason(exc))

    async def tokens_revoked(self, ack: AsyncAck) -> None:
        await ack()
        log.error(
            token_refused(self._slug, "the app's tokens were revoked (tokens_revoked)"),
            extra={"channel": self._slug},
        )

    async def app_uninstalled(self, ack: AsyncAck) -> None:
        await ack()
        log.error(
            token_refused(self._slug, "the app was uninstalled from the workspace"),
            extra={"channel": self._slug},
        )

    async def home_opened(self, ack: AsyncAck, event: dict[str, Any]) -> None:
        await ack()
        user = event.get("user")
        if event.get("tab", "home") == "home" and isinstance(user, str):
            agent = await self._agent(user)
            if agent is not None:
                await self._publish_home(user, agent)

    # buttons ----------------------------------------------------------------------------

    async def notice_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        action = body["actions"][0]
        user = body["user"]["id"]
        named = blocks.acted_on(action.get("value"))
        if named is None:
            log.warning("a notice button with a value frontdesk did not write: ignored")
            await ack()
            return
        conversation_id, handoff_id = named
        # Where the notice is: block_actions name it as `channel` and as the `container`.
        place = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        await self._act(
            _action_event_id(body),
            user,
            await self._agent(user),
            NOTICE_ACTIONS[action["action_id"]],
            conversation_id,
            place=place,
            handoff_id=handoff_id,
        )
        await ack()

    async def option_chosen(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        action = body["actions"][0]
        user = body["user"]["id"]
        await self._inbox.accept(
            Inbound(
                channel=self._slug,
                event_id=_action_event_id(body),
                contact=await self._people.profile(user),
                option_id=str(action.get("value", "")),
                raw={"action": action},
            )
        )
        await ack()
        # The answer is stored: take the buttons off the question, so that it cannot be
        # answered twice, and show the choice. Not waited for; a failure only leaves them.
        self._tasks.spawn(self._show_choice(body))

    async def _show_choice(self, body: dict[str, Any]) -> None:
        container = body.get("container") or {}
        message = body.get("message") or {}
        label = ((body["actions"][0].get("text") or {}).get("text")) or ""
        place, ts = container.get("channel_id"), container.get("message_ts")
        if not place or not ts:
            return
        question = str(message.get("text") or "")
        text = "\n> ".join(part for part in (question, label) if part) or "Answered"
        try:
            await self._client.chat_update(
                channel=place,
                ts=ts,
                text=text,
                blocks=blocks.chosen(question, label),
            )
        except (SlackApiError, OSError, TimeoutError) as exc:
            log.info("could not take the buttons off a question: %s", _reason(exc))

    async def close(self) -> None:
        """Let the follow-ups under way finish (briefly), then stop them."""
        await self._tasks.close(CLOSE_GRACE_SECONDS)

    async def status_button(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        agent = await self._agent(user)
        if agent is None:
            return
        wanted = STATUS_ACTIONS[body["actions"][0]["action_id"]]
        updated = await self._desk.set_agent_status(agent.id, wanted)
        if updated is not None:
            await self._publish_home(user, updated)

    async def hand_back(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        agent = await self._agent(user)
        if agent is None:
            await ack()
            return
        conversations = await self._desk.open_assigned(agent.id)
        for conversation in conversations:
            await self._act(
                f"{_action_event_id(body)}:{conversation.id}",
                user,
                agent,
                DeskActionKind.HAND_BACK,
                conversation.id,
            )
        await ack(text=f"Handing {blocks.conversations(len(conversations))} back to your teams.")

    # the command ------------------------------------------------------------------------

    async def command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        user = str(command.get("user_id", ""))
        word = str(command.get("text", "")).strip().lower()
        agent = await self._agent(user)
        if agent is None:
            await ack(text="You are not one of frontdesk's agents (no agent has your Slack id).")
            return
        if word in ("online", "away", "offline"):
            agent = await self._desk.set_agent_status(agent.id, AgentStatus(word)) or agent
            open_count = len(await self._desk.open_assigned(agent.id))
            if agent.status == AgentStatus.ONLINE:
                await ack(text="You are online: new and waiting conversations come to you.")
            elif open_count:
                await ack(
                    text=f"You are {agent.status.value}."
                    f" You still have {blocks.conversations(open_count)}.",
                    blocks=blocks.hand_back_offer(agent.status.value, open_count),
                )
            else:
                await ack(text=f"You are {agent.status.value}: no new conversations come to you.")
            await self._publish_home(user, agent, open_count)
            return
        if word in ("status", ""):
            open_count = len(await self._desk.open_assigned(agent.id))
            await ack(
                text=f"You are {agent.status.value}, with {blocks.conversations(open_count)} open."
            )
            return
        await ack(text=COMMAND_HELP)

    # helpers ----------------------------------------------------------------------------

    async def _act(
        self,
        event_id: str,
        user: str,
        agent: Agent | None,
        kind: DeskActionKind,
        conversation_id: str,
        *,
        place: str | None = None,
        handoff_id: str | None = None,
        text: str | None = None,
    ) -> None:
        key = await self._desk.conversation_key(conversation_id)
        if key is None:
            log.info("an action on a conversation frontdesk does not have: ignored")
            return
        await self._inbox.accept(
            Inbound(
                channel=self._slug,
                event_id=event_id,
                contact=ContactProfile(external_id=user),
                text=text,
                action=DeskAction(
                    kind=kind,
                    conversation_id=conversation_id,
                    conversation_key=key,
                    agent_id=agent.id if agent else None,
                    actor=user,
                    place=place,
                    handoff_id=handoff_id,
                ),
            )
        )

    async def _agent(self, user: str) -> Agent | None:
        return await self._desk.agent_at(self._slug, user)

    async def _publish_home(self, user: str, agent: Agent, open_count: int | None = None) -> None:
        """Show `agent` their Home tab; `open_count` when the caller has just counted their
        open conversations."""
        if open_count is None:
            open_count = len(await self._desk.open_assigned(agent.id))
        try:
            await self._client.views_publish(
                user_id=user, view=blocks.home(agent.name, agent.status.value, open_count)
            )
        except (SlackApiError, OSError, TimeoutError) as exc:
            log.warning("views.publish failed: %s", _reason(exc))


def _retry_num(request: AsyncBoltRequest) -> int:
    """Which of Slack's retries this request is (0: the first delivery)."""
    values = request.headers.get("x-slack-retry-num") or ["0"]
    try:
        return int(values[0])
    except ValueError:
        return 0


def _action_event_id(body: dict[str, Any]) -> str:
    """A button press's identity: Slack sends the same press again with the same action_ts."""
    action = body["actions"][0]
    return f"action:{action.get('action_ts')}:{body['user']['id']}:{action.get('action_id')}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return type(exc).__name__


def _file(files: Any) -> Attachment | None:
    """The first file shared with a message, described (Slack's file object:
    https://api.slack.com/types/file); the URL needs the bot token to fetch."""
    if not isinstance(files, list) or not files:
        return None
    first = files[0] if isinstance(files[0], dict) else {}

    def text(key: str) -> str | None:
        value = first.get(key)
        return value if isinstance(value, str) else None

    return Attachment(kind="file", file_id=text("id"), url=text("url_private"), name=text("name"))
