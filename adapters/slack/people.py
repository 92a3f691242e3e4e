"""Who a Slack user is, from users.info, remembered: a customer's profile, and the name a
mention of someone is shown with."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.bodies import describe
from core.models import ContactProfile

log = logging.getLogger(__name__)

REMEMBERED = 10_000
# Bounded: Slack wants its answer within 3 seconds, and a name can wait.
LOOKUP_SECONDS = 1.0


@dataclass(frozen=True)
class Person:
    profile: ContactProfile
    # What Slack shows for them: their display name, else their full name.
    shown_as: str | None


class People:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._known: OrderedDict[str, Person] = OrderedDict()

    async def profile(self, user: str) -> ContactProfile:
        """The user's name, language and email; just the id when Slack does not say (the
        message is not held up for it)."""
        return (await self.person(user)).profile

    async def names(self, users: list[str]) -> dict[str, str]:
        """The names `users` are shown with, for those Slack told."""
        found = {}
        for user in users:
            shown_as = (await self.person(user)).shown_as
            if shown_as:
                found[user] = shown_as
        return found

    async def person(self, user: str) -> Person:
        known = self._known.get(user)
        if known is not None:
            return known
        person = Person(ContactProfile(external_id=user), None)
        try:
            answer = await asyncio.wait_for(
                self._client.users_info(user=user, include_locale=True), LOOKUP_SECONDS
            )
            found = answer.get("user") or {}
            details = found.get("profile") or {}
            locale = found.get("locale")
            name = details.get("real_name") or found.get("real_name") or None
            person = Person(
                ContactProfile(
                    external_id=user,
                    name=name,
                    username=found.get("name") or None,
                    language=locale.split("-")[0].lower() if isinstance(locale, str) else None,
                    email=details.get("email") or None,
                ),
                details.get("display_name") or name,
            )
        except SlackApiError as exc:
            # Slack knows nothing more of them (user_not_found, say): remembered as they are.
            log.info("users.info said %s", exc.response.get("error"))
        except (OSError, TimeoutError) as exc:
            log.info("users.info failed: %s", type(exc).__name__)
            return person  # asked again next time
        except ValidationError as exc:  # a profile frontdesk cannot store: the id alone
            log.info("users.info gave an unusable profile: %s", describe(exc))
        self._known[user] = person
        if len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
        return person
