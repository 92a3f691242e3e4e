"""Reading a customer's answer to a question."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from core.models import Option

_NUMBERED = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive form: 'Sóporte ' and 'soporte' are equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def choose(options: list[Option], text: str | None, option_id: str | None) -> Option | None:
    """The option a customer picked: by its id (a button), its number, or its label typed."""
    if option_id is not None:
        for option in options:
            if option.id == option_id:
                return option
    if text is None:
        return None
    numbered = _NUMBERED.match(text)
    if numbered:
        n = int(numbered.group(1))
        return options[n - 1] if 1 <= n <= len(options) else None
    wanted = fold(text)
    for option in options:
        if fold(option.label) == wanted:
            return option
    for option in options:
        if fold(option.id) == wanted:
            return option
    return None


class Parsed:
    """A valid answer: the value to save, and contact fields it also fills."""

    __slots__ = ("contact", "value")

    def __init__(self, value: Any, contact: dict[str, str] | None = None) -> None:
        self.value = value
        self.contact = contact or {}


def parse_email(text: str) -> Parsed | None:
    """Syntax only (email-validator, no DNS lookup); the normalised address."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return Parsed(checked.normalized, {"email": checked.normalized})


_NO_COUNTRY = (phonenumbers.UNKNOWN_REGION, phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY)


def parse_phone(text: str, default_region: str | None) -> Parsed | None:
    """A possible number for its region (phonenumbers): E.164, and the contact's country."""
    try:
        number = phonenumbers.parse(text.strip(), default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    country = phonenumbers.region_code_for_number(number)
    fields = {"phone": e164}
    # A non-geographic number (+800 freephone, +881 satellite...) belongs to no country:
    # phonenumbers names its "region" 001, which is not a country code.
    if country and country not in _NO_COUNTRY:
        fields["country"] = country
    return Parsed(e164, fields)


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def parse_number(text: str, low: float | None, high: float | None) -> Parsed | None:
    """A number (a decimal comma is read as a point) within [low, high]; an int when whole."""
    cleaned = text.strip().replace(" ", "")
    if not _NUMBER.match(cleaned):
        return None
    value = float(cleaned.replace(",", "."))
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return Parsed(int(value) if value.is_integer() else value)


def parse_date(text: str, date_format: str) -> Parsed | None:
    """A date in the step's format, saved as ISO 8601 (YYYY-MM-DD)."""
    try:
        day = datetime.strptime(text.strip(), date_format).date()
    except ValueError:
        return None
    return Parsed(day.isoformat())
