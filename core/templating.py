"""Text shown to customers: Jinja2 templates over contact, conversation, vars and agent.

Rendering uses Jinja2's immutable sandbox: a template can read the values it is given and
call nothing unsafe, and customer input only ever arrives as a value, never as template
source, so nothing a customer types is evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(
    autoescape=False,  # plain text; each channel escapes for its own markup
    undefined=jinja2.ChainableUndefined,  # `{{ contact.fields.plan }}` is empty when unset
    keep_trailing_newline=False,
)


class Verbatim(str):
    """A trusted value (from the config, like a CRM's base URL) that a URL template puts in
    as it is; every other value is URL-encoded."""

    __slots__ = ()


def _url_part(value: object) -> object:
    if isinstance(value, Verbatim) or value is None:
        return value
    if isinstance(value, jinja2.Undefined):
        return ""
    return quote(str(value), safe="")


# For URLs: each interpolated value is URL-encoded, so `?email={{ contact.email }}` cannot
# add a parameter or change the path whatever the customer typed.
_URL_ENV = ImmutableSandboxedEnvironment(
    autoescape=False, undefined=jinja2.ChainableUndefined, finalize=_url_part
)


class TemplateSyntaxProblem(ValueError):
    """A template that does not parse; the message says where."""


class TemplateRenderError(Exception):
    """A template that parsed but failed while rendering (e.g. a sandbox refusal)."""


@lru_cache(maxsize=1024)
def _compile(text: str) -> jinja2.Template:
    return _ENV.from_string(text)


def check_template(text: str) -> None:
    try:
        _compile(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateSyntaxProblem(
            f"template error on its line {exc.lineno}: {exc.message}"
        ) from exc


def render(text: str, context: Mapping[str, Any]) -> str:
    if "{" not in text:
        return text  # most texts are plain; skip the template machinery for them
    try:
        return _compile(text).render(context)
    except jinja2.TemplateError as exc:
        raise TemplateRenderError(str(exc)) from exc


@lru_cache(maxsize=256)
def _compile_url(text: str) -> jinja2.Template:
    return _URL_ENV.from_string(text)


def render_url(text: str, context: Mapping[str, Any]) -> str:
    try:
        return _compile_url(text).render(context)
    except jinja2.TemplateError as exc:
        raise TemplateRenderError(str(exc)) from exc
