"""From a Bot API `Update` to our `Inbound`, or to nothing when frontdesk has no use for it.

Parsing is `payloads`' (the Bot API's fields that frontdesk reads); this module only decides
what an update means to a conversation.
"""

from __future__ import annotations

from typing import Any

from adapters.telegram.payloads import CallbackQuery, File, Message, Update, User
from core.models import Attachment, ContactProfile, Inbound

# callback_data is ours: `fd:` + the option id. Option ids are at most 32 characters of
# [A-Za-z0-9_.-] (core/step_types.py), so it stays well inside Telegram's 1-64 bytes.
# https://core.telegram.org/bots/api#inlinekeyboardbutton
CALLBACK_PREFIX = "fd:"
CALLBACK_DATA_MAX_BYTES = 64

# The update types the channel reads, asked for by getUpdates and by setWebhook; Telegram
# keeps the others to itself. https://core.telegram.org/bots/api#update
ALLOWED_UPDATES = ["message", "callback_query"]

# Message contents passed on as an attachment of that kind (the caption, if any, as text).
ATTACHMENT_KINDS = (
    "photo",
    "document",
    "sticker",
    "voice",
    "location",
    "video",
    "video_note",
    "audio",
    "animation",
    "venue",
)


def callback_data(option_id: str) -> str:
    data = CALLBACK_PREFIX + option_id
    if len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
        raise ValueError(f"option id {option_id!r} is too long for Telegram's callback_data")
    return data


def option_of(data: str | None) -> str | None:
    """The option id in one of our callback_data strings; None for anything else."""
    if data is None or not data.startswith(CALLBACK_PREFIX):
        return None
    return data.removeprefix(CALLBACK_PREFIX) or None


def to_inbound(
    update: Update, channel: str, raw: dict[str, Any], private_chats_only: bool
) -> Inbound | None:
    """The event an update is to frontdesk, or None when it is to be ignored.

    Ignored: edited messages (the original was answered already), chats other than private
    ones when `private_chats_only`, messages with nothing we read (service messages, polls,
    ...), button presses that are not ours, and every other update type.
    """
    if update.message is not None:
        return _from_message(update, update.message, channel, raw, private_chats_only)
    if update.callback_query is not None:
        return _from_callback(update, update.callback_query, channel, raw, private_chats_only)
    return None  # another update type (edited_message, poll, ...), or one newer than ours


def _from_message(
    update: Update, message: Message, channel: str, raw: dict[str, Any], private_only: bool
) -> Inbound | None:
    if private_only and message.chat.type != "private":
        return None
    text: str | None = message.text
    attachment: Attachment | None = None
    phone: str | None = None
    shared = message.contact
    if text is not None:
        pass
    elif shared is not None:
        name = " ".join(p for p in (shared.first_name, shared.last_name) if p)
        attachment = Attachment(kind="contact", name=f"{name} {shared.phone_number}")
        # Only the sender's own number is theirs: Contact.user_id is the Telegram user the
        # card belongs to, which is the sender when they pressed a request_contact button;
        # a card of someone else (forwarded, or picked from their address book) is only an
        # attachment. https://core.telegram.org/bots/api#contact
        sender_id = message.from_user.id if message.from_user is not None else None
        if shared.user_id is not None and shared.user_id == sender_id:
            phone = _international(shared.phone_number)
    else:
        attachment = _attachment(message)
        if attachment is None:
            return None
        text = message.caption or None
    return Inbound(
        channel=channel,
        event_id=str(update.update_id),
        contact=_profile(message.chat.id, message.from_user, phone),
        text=text,
        attachment=attachment,
        raw=raw,
        shared_phone=phone,
    )


def _international(phone: str) -> str:
    """Telegram gives a shared number in international form, usually without its "+"
    (e.g. "34600123456"); with it, the number reads the same whatever the default region."""
    digits = phone.strip()
    return digits if digits.startswith("+") else f"+{digits}"


def _attachment(message: Message) -> Attachment | None:
    """The message's first content of `ATTACHMENT_KINDS`, described; None when it has none.
    A photo comes in several sizes, largest last: https://core.telegram.org/bots/api#message"""
    kind = next((k for k in ATTACHMENT_KINDS if getattr(message, k)), None)
    if kind is None:
        return None
    content: Any = getattr(message, kind)
    if kind == "photo":
        content = content[-1]
    if isinstance(content, File):
        return Attachment(kind=kind, file_id=content.file_id, name=content.file_name)
    if kind == "venue":
        place = message.venue
        assert place is not None
        where = place.location
        return Attachment(
            kind=kind, name=place.title, latitude=where.latitude, longitude=where.longitude
        )
    point = message.location
    assert point is not None  # the last kind left
    return Attachment(kind=kind, latitude=point.latitude, longitude=point.longitude)


def _from_callback(
    update: Update, query: CallbackQuery, channel: str, raw: dict[str, Any], private_only: bool
) -> Inbound | None:
    option_id = option_of(query.data)
    if option_id is None:  # a button some other code put there, or a game
        return None
    chat = query.message.chat if query.message is not None else None
    if chat is not None and private_only and chat.type != "private":
        return None
    return Inbound(
        channel=channel,
        event_id=str(update.update_id),
        # Without the message (too old), the user's id is the private chat's id.
        contact=_profile(
            chat.id if chat is not None else query.from_user.id, query.from_user, None
        ),
        option_id=option_id,
        raw=raw,
    )


def _profile(chat_id: int, user: User | None, phone: str | None) -> ContactProfile:
    name = None
    if user is not None:
        name = " ".join(p for p in (user.first_name, user.last_name) if p) or None
    return ContactProfile(
        external_id=str(chat_id),
        name=name,
        username=user.username if user is not None else None,
        language=user.language_code if user is not None else None,
        phone=phone,
    )
