"""The parts of the Bot API's objects that frontdesk reads, as frozen pydantic models.

Only the fields the channel uses are declared; every other field Telegram sends is ignored
(and kept in the event's raw JSON), so that a new Bot API field never breaks reading, and
reading costs no more than what is read. Names and meanings are the Bot API's:
https://core.telegram.org/bots/api#available-types
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BotApiObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class User(BotApiObject):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class Chat(BotApiObject):
    id: int
    type: str


class Contact(BotApiObject):
    """A shared contact card; `user_id` is the Telegram user it belongs to, if known."""

    phone_number: str
    first_name: str = ""
    last_name: str | None = None
    user_id: int | None = None


class Location(BotApiObject):
    latitude: float
    longitude: float


class Venue(BotApiObject):
    location: Location
    title: str


class File(BotApiObject):
    """Any of the file-like contents (PhotoSize, Document, Sticker, Voice, Video, VideoNote,
    Audio, Animation): each has a file_id, some a file_name."""

    file_id: str
    file_name: str | None = None


class InlineKeyboardButton(BotApiObject):
    text: str
    callback_data: str | None = None


class InlineKeyboardMarkup(BotApiObject):
    inline_keyboard: list[list[InlineKeyboardButton]]


class Message(BotApiObject):
    """A message, or what a callback query has of one too old to show (an
    InaccessibleMessage: `date` 0, no content)."""

    message_id: int
    date: int
    chat: Chat
    from_user: User | None = Field(default=None, alias="from")
    text: str | None = None
    caption: str | None = None
    contact: Contact | None = None
    location: Location | None = None
    venue: Venue | None = None
    photo: list[File] | None = None
    document: File | None = None
    sticker: File | None = None
    voice: File | None = None
    video: File | None = None
    video_note: File | None = None
    audio: File | None = None
    animation: File | None = None
    reply_markup: InlineKeyboardMarkup | None = None


class CallbackQuery(BotApiObject):
    id: str
    from_user: User = Field(alias="from")
    message: Message | None = None
    data: str | None = None


class Update(BotApiObject):
    """One update; those of a type frontdesk does not read have neither field set."""

    update_id: int
    message: Message | None = None
    callback_query: CallbackQuery | None = None
