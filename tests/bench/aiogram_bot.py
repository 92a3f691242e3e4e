"""The yardstick: a hand-written aiogram 3 webhook bot that answers each message with one
message carrying a two-button inline keyboard, and stores nothing.

    python -m tests.bench.aiogram_bot PORT API_URL
"""

from __future__ import annotations

import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.adapters.telegram.fake_bot_api import TOKEN
from tests.adapters.telegram.fakes import SECRET_TOKEN

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [InlineKeyboardButton(text="Sales", callback_data="sales")],
        [InlineKeyboardButton(text="Support", callback_data="support")],
    ]
)


async def answer(message: Message) -> None:
    await message.answer("Which team would you like to talk to?", reply_markup=KEYBOARD)


def main() -> None:
    port, api = int(sys.argv[1]), sys.argv[2]
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    dispatcher = Dispatcher()
    dispatcher.message.register(answer)
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, secret_token=SECRET_TOKEN).register(
        app, path="/telegram/updates"
    )
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
