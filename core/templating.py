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
from jinja2 import meta, nodes
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


# What a template that parsed can raise while rendering: Jinja's own errors (a sandbox
# refusal, a filter's bad argument), and the Python errors its expressions raise on the
# values they meet (`{{ vars.seats + 1 }}` when the customer typed text, a division by a
# zero they gave, a loop over a number), which Jinja lets through as they are.
_RENDER_ERRORS = (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError)


def render(text: str, context: Mapping[str, Any]) -> str:
    if "{" not in text:
        return text  # most texts are plain; skip the template machinery for them
    try:
        return _compile(text).render(context)
    except _RENDER_ERRORS as exc:
        raise TemplateRenderError(str(exc)) from exc


@lru_cache(maxsize=256)
def _compile_url(text: str) -> jinja2.Template:
    return _URL_ENV.from_string(text)


def render_url(text: str, context: Mapping[str, Any]) -> str:
    try:
        return _compile_url(text).render(context)
    except _RENDER_ERRORS as exc:
        raise TemplateRenderError(str(exc)) from exc


Path = tuple[str, ...]


def paths_read(text: str) -> list[tuple[str, Path]]:
    """Every value `text` reads from its context, as (root, attribute path): `{{
    contact.fields.plan }}` reads ("contact", ("fields", "plan")). Names the template sets
    itself (`{% set %}`, loop variables) and Jinja's own globals are left out. Only constant
    attribute and item names are followed; `contact[key]` stops at `contact`."""
    tree = _compile_tree(text)
    outside = meta.find_undeclared_variables(tree) - set(_ENV.globals)
    found: list[tuple[str, Path]] = []
    _collect(tree, outside, found)
    return found


def _compile_tree(text: str) -> nodes.Template:
    try:
        return _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateSyntaxProblem(
            f"template error on its line {exc.lineno}: {exc.message}"
        ) from exc


def _chain(node: nodes.Node) -> tuple[str, Path] | None:
    """(root, path) when `node` is a name followed by constant attributes or items."""
    path: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            path.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            path.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            return node.name, tuple(reversed(path))
        else:
            return None


def _collect(node: nodes.Node, outside: set[str], found: list[tuple[str, Path]]) -> None:
    if isinstance(node, nodes.Call):
        called = _chain(node.node)
        if called is not None and called[1]:  # `vars.get(...)`: a method, not a value
            root, path = called
            if root in outside:
                found.append((root, path[:-1]))
            for child in node.iter_child_nodes(exclude=("node",)):
                _collect(child, outside, found)
            return
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name):
        chain = _chain(node)
        if chain is not None:
            if chain[0] in outside:
                found.append(chain)
            if isinstance(node, nodes.Name) or chain[1]:
                return
    for child in node.iter_child_nodes():
        _collect(child, outside, found)
