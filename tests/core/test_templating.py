"""Templates as plain functions: what a text renders to, what a URL template encodes, what
a template reads, and how a broken one is reported."""

from __future__ import annotations

from typing import Any

import pytest

from core.templating import (
    TemplateRenderError,
    TemplateSyntaxProblem,
    Verbatim,
    check_template,
    paths_read,
    render,
    render_url,
)
from tests.core.turns import drive, program, start, turn

CONTEXT: dict[str, Any] = {
    "contact": {"name": "Lu", "email": "a+b@x.com&admin=1", "fields": {}},
    "vars": {"typed": "{{ 7 * 7 }}", "zero": 0, "plan": "pro"},
    "settings": {"base": Verbatim("https://crm.example/api")},
}

# (rule, template, rendered)
TEXTS: list[tuple[str, str, str]] = [
    ("plain text as it is", "Hello {name}", "Hello {name}"),
    ("a value", "Hi {{ contact.name }}", "Hi Lu"),
    ("an unset field is empty", "[{{ contact.fields.plan }}]", "[]"),
    ("an unset chain is empty", "[{{ vars.a.b.c }}]", "[]"),
    ("a customer's text is never evaluated", "{{ vars.typed }}", "{{ 7 * 7 }}"),
    ("zero is a value, not a default", "{{ vars.zero | default('none') }}", "0"),
    ("a default for what is unset", "{{ vars.nothing | default('none') }}", "none"),
    ("filters", "{{ contact.name | upper }}", "LU"),
    ("conditions", "{% if vars.plan == 'pro' %}gold{% else %}basic{% endif %}", "gold"),
    ("a private attribute is nothing", "[{{ ''.__class__ }}]", "[]"),
]


@pytest.mark.parametrize(("text", "rendered"), [r[1:] for r in TEXTS], ids=[r[0] for r in TEXTS])
def test_a_text_renders(text: str, rendered: str) -> None:
    assert render(text, CONTEXT) == rendered


# (rule, URL template, rendered)
URLS: list[tuple[str, str, str]] = [
    (
        "a value is URL-encoded whole",
        "{{ settings.base }}/c?email={{ contact.email }}",
        "https://crm.example/api/c?email=a%2Bb%40x.com%26admin%3D1",
    ),
    ("a slash in a value stays inside its segment", "https://x/{{ 'a/b' }}", "https://x/a%2Fb"),
    ("an unset value is empty", "https://x/{{ vars.nothing }}/", "https://x//"),
    ("a config value goes in as it is", "{{ settings.base }}", "https://crm.example/api"),
]


@pytest.mark.parametrize(("text", "rendered"), [r[1:] for r in URLS], ids=[r[0] for r in URLS])
def test_a_url_renders_with_its_values_encoded(text: str, rendered: str) -> None:
    assert render_url(text, CONTEXT) == rendered


# (rule, template, what it reads)
READS: list[tuple[str, str, list[tuple[str, tuple[str, ...]]]]] = [
    ("a field path", "{{ contact.fields.plan }}", [("contact", ("fields", "plan"))]),
    ("items by constant name", "{{ vars['a'].b }}", [("vars", ("a", "b"))]),
    (
        "a name the template sets is not read",
        "{% set x = 1 %}{{ x }}{{ vars.y }}",
        [("vars", ("y",))],
    ),
    ("a method call reads its owner", "{{ vars.get('a') }}", [("vars", ())]),
    ("a variable item stops at its owner", "{{ contact[key] }}", [("contact", ()), ("key", ())]),
    ("Jinja's own globals are not read", "{{ range(3) }}", []),
    ("through a filter", "{{ agent.name | upper }}", [("agent", ("name",))]),
]


@pytest.mark.parametrize(("text", "read"), [r[1:] for r in READS], ids=[r[0] for r in READS])
def test_what_a_template_reads(text: str, read: list[tuple[str, tuple[str, ...]]]) -> None:
    assert paths_read(text) == read


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ x", "on its line 1: unexpected end of template"),
        ("line one\n{% if %}", "on its line 2: Expected an expression"),
    ],
    ids=["an unclosed tag", "on a later line"],
)
def test_a_template_that_does_not_parse_is_refused_with_its_line(text: str, problem: str) -> None:
    with pytest.raises(TemplateSyntaxProblem, match=problem):
        check_template(text)


# (rule, template that parses but cannot render with these values)
FAILS: list[tuple[str, str]] = [
    ("the sandbox refuses changing a value", "{{ vars.update({'a': 1}) }}"),
    ("adding a number to text", "{{ vars.plan + 1 }}"),
    ("dividing by zero", "{{ 10 / vars.zero }}"),
    ("looping over a number", "{% for x in vars.zero %}{{ x }}{% endfor %}"),
    ("a number filter on text", "{{ vars.plan | round(1, 'sideways') }}"),
]


@pytest.mark.parametrize("text", [r[1] for r in FAILS], ids=[r[0] for r in FAILS])
def test_a_template_that_cannot_render_says_so(text: str) -> None:
    check_template(text)  # it loads
    with pytest.raises(TemplateRenderError):
        render(text, CONTEXT)
    with pytest.raises(TemplateRenderError):
        render_url(text, CONTEXT)


async def test_a_message_that_cannot_render_is_skipped_and_the_run_goes_on() -> None:
    prog = program(
        """
        - {id: a, type: send_message, text: "You have {{ vars.seats + 1 }} seats"}
        - {id: b, type: send_message, text: "Anything else?"}
        """
    )
    at = start(prog, turn(), vars={"seats": "many"})
    assert await drive(prog, at) == ["Anything else?"]
