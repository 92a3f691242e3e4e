"""The step types of a workflow: a discriminated union on `type`.

Each step is a frozen pydantic model; branch, ask_question, assign and http_request hold
nested step lists, which each step type names once in its `blocks()` (the compiler, the
file walker and the drawing all read them there). What a step does when a run reaches it is
in `core.steps`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

import jsonpath
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from core.field_paths import FieldPath, ReadPath, SavePath
from core.models import AnswerType

STEP_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
MAX_OPTIONS = 10
MAX_BRANCHES = 9
TAGS = FieldPath("tags")


class Definition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OptionDef(Definition):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    label: str = Field(min_length=1, max_length=20)


Scalar = str | int | float | bool

Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "starts_with",
    "greater_than",
    "less_than",
    "is_one_of",
    "exists",
    "not_exists",
]


class Condition(Definition):
    """One test on a field: `vars.team equals sales`, `contact.email exists`,
    `vars.seats greater_than 10`, `contact.country is_one_of [ES, MX]`."""

    field: ReadPath
    op: Operator
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.op in ("exists", "not_exists"):
            if self.value is not None:
                raise ValueError(f"'{self.op}' takes no value")
        elif self.value is None:
            raise ValueError(f"'{self.op}' needs a value")
        elif self.op == "is_one_of":
            if not isinstance(self.value, list) or not self.value:
                raise ValueError("'is_one_of' needs a list of values")
        elif isinstance(self.value, list):
            raise ValueError(f"'{self.op}' compares with one value, not a list")
        elif self.op in ("greater_than", "less_than") and (
            isinstance(self.value, bool) or not isinstance(self.value, int | float)
        ):
            raise ValueError(f"'{self.op}' needs a number")
        return self


@dataclass(frozen=True)
class Block:
    """One nested step list of a step: `name` is how the compiled program refers to it
    (`Instruction.blocks`), `where` its place in the step as the file spells it."""

    name: str
    where: tuple[str | int, ...]
    steps: list[Step]


class StepBase(Definition):
    id: str = Field(pattern=STEP_ID)

    def blocks(self) -> list[Block]:
        """The step's nested step lists, in file order (empty ones included)."""
        return []


class SendMessageStep(StepBase):
    """`text` for everyone, or the variant in `translations` for the contact's language
    (`es` serves `es-MX` too)."""

    type: Literal["send_message"]
    text: str = Field(min_length=1, max_length=4096)
    translations: dict[str, str] = Field(default_factory=dict)

    @field_validator("translations")
    @classmethod
    def _languages(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", language):
                raise ValueError(f"{language!r} is not a language tag like 'es' or 'pt-BR'")
            if not text or len(text) > 4096:
                raise ValueError(f"the {language!r} text must have 1 to 4096 characters")
        return value


_RETRY = {
    "multiple_choice": "Sorry, I didn't understand that. Please choose one of the options.",
    "email": "That doesn't look like an email address. Please try again.",
    "phone": "That doesn't look like a phone number. Please include the country code.",
    "number": "Please answer with a number.",
    "date": "Please answer with a date.",
    "text": "Please answer with some text.",
}


class AskQuestionStep(StepBase):
    """Ask, wait for the answer, check it, save it.

    An invalid answer gets `retry_message` and the question again, up to `max_attempts`
    answers in all; then the run takes `on_failure`. No answer within `timeout_seconds`
    (a durable timer) takes `on_timeout`. Either way, without those steps it carries on.
    """

    type: Literal["ask_question"]
    text: str = Field(min_length=1, max_length=4096)
    answer: AnswerType = "text"
    options: list[OptionDef] = Field(default_factory=list)
    min: float | None = None  # number answers
    max: float | None = None
    date_format: str = "%Y-%m-%d"  # date answers, as strptime reads them
    default_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")  # phone answers
    save_to: SavePath | None = None
    retry_message: str | None = Field(default=None, min_length=1)
    max_attempts: int = Field(default=3, ge=1, le=10)
    on_failure: list[Step] = Field(default_factory=list)
    timeout_seconds: int | None = Field(default=None, ge=1, le=90 * 24 * 3600)
    on_timeout: list[Step] = Field(default_factory=list)

    @property
    def retry_text(self) -> str:
        return self.retry_message or _RETRY[self.answer]

    def blocks(self) -> list[Block]:
        return [
            Block("on_failure", ("on_failure",), self.on_failure),
            Block("on_timeout", ("on_timeout",), self.on_timeout),
        ]

    @field_validator("options")
    @classmethod
    def _at_most(cls, value: list[OptionDef]) -> list[OptionDef]:
        if len(value) > MAX_OPTIONS:
            raise ValueError(f"at most {MAX_OPTIONS} options")
        ids = [o.id for o in value]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.answer == "multiple_choice" and len(self.options) < 2:
            raise ValueError("a multiple_choice question needs at least 2 options")
        if self.answer != "multiple_choice" and self.options:
            raise ValueError("options are only for answer: multiple_choice")
        if self.answer != "number" and (self.min is not None or self.max is not None):
            raise ValueError("min and max are only for answer: number")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.on_timeout and self.timeout_seconds is None:
            raise ValueError("on_timeout needs timeout_seconds")
        if self.save_to == TAGS and self.answer not in ("text", "multiple_choice"):
            raise ValueError("only text and multiple_choice answers can be saved as a tag")
        return self


class BranchCase(Definition):
    name: str | None = None
    match: Literal["all", "any"] = "all"
    conditions: list[Condition] = Field(min_length=1)
    steps: list[Step] = Field(default_factory=list)


class BranchStep(StepBase):
    type: Literal["branch"]
    branches: list[BranchCase] = Field(min_length=1)
    otherwise: list[Step] = Field(default_factory=list, alias="else")

    model_config = ConfigDict(populate_by_name=True)

    def blocks(self) -> list[Block]:
        """Each case's steps, then the else steps (always last)."""
        cases = [
            Block(f"branches.{j}", ("branches", j, "steps"), case.steps)
            for j, case in enumerate(self.branches)
        ]
        return [*cases, Block("else", ("else",), self.otherwise)]

    @field_validator("branches")
    @classmethod
    def _at_most(cls, value: list[BranchCase]) -> list[BranchCase]:
        if len(value) > MAX_BRANCHES:
            raise ValueError(f"at most {MAX_BRANCHES} branches (plus else)")
        return value


class AssignStep(StepBase):
    """Assign to a named agent, or to one of a team's agents by round robin or by fewest
    open conversations.

    Nobody eligible: the conversation waits in the team's queue (agents who come online or
    free a slot take the queue in arrival order) and the run takes `when_unavailable`, or,
    with `timeout_seconds`, waits at this step until an agent takes it (then carries on) or
    the time is up (then takes `on_timeout`).

    A named agent who cannot take it (away, offline, full): with `when_unavailable` and no
    `timeout_seconds` the run takes `when_unavailable` and nothing waits; otherwise the
    conversation waits for that agent alone (no teammate takes it) until they can, and
    `timeout_seconds` bounds the wait as for a team.

    `assigned_message` (a template; `agent` is the agent who took it) tells the customer who
    helps them whenever that happens: at once, or later when an agent takes the conversation
    from the queue or from its first agent.
    """

    type: Literal["assign"]
    team: str | None = None
    agent: str | None = None
    assigned_message: str | None = Field(default=None, min_length=1, max_length=4096)
    strategy: Literal["round_robin", "least_open"] = "round_robin"
    only_online: bool = True
    max_open: int | None = Field(default=None, ge=1)  # only agents with fewer open than this
    when_unavailable: list[Step] = Field(default_factory=list)
    timeout_seconds: int | None = Field(default=None, ge=1, le=90 * 24 * 3600)
    on_timeout: list[Step] = Field(default_factory=list)
    # The agent must accept or answer within this many seconds, else the team's next online
    # agent gets it (instead of the team's `accept_timeout_seconds`).
    accept_timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.team is None) == (self.agent is None):
            raise ValueError("give exactly one of team or agent")
        if self.timeout_seconds is not None and self.when_unavailable:
            raise ValueError(
                "when_unavailable runs at once, timeout_seconds waits first: give one of them"
            )
        if self.on_timeout and self.timeout_seconds is None:
            raise ValueError("on_timeout needs timeout_seconds")
        return self

    def blocks(self) -> list[Block]:
        return [
            Block("when_unavailable", ("when_unavailable",), self.when_unavailable),
            Block("on_timeout", ("on_timeout",), self.on_timeout),
        ]


class UnassignStep(StepBase):
    """Take the conversation away from its agent (the team stays)."""

    type: Literal["unassign"]


class HttpRequestStep(StepBase):
    """Call an HTTP API (a CRM) and map its JSON answer into variables.

    `url`, `headers` and the string values inside `body` are templates. Values put into the
    URL are URL-encoded (config `settings` go in as they are); `body` is sent as JSON, so
    values in it are JSON-encoded. Header templates may use `secrets.<name>` from the
    config, which reads them from the environment; nothing else can. `save` maps variable
    names to JSONPath expressions (`$.customerType`). A 2xx JSON answer with every path
    found takes `on_success`; anything else (another status, a timeout, invalid JSON, a
    missing path) takes `on_failure`; either way the run then carries on after the step.
    """

    type: Literal["http_request"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(min_length=1, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    max_response_bytes: int = Field(default=65536, ge=1, le=10 * 1024 * 1024)
    save: dict[str, str] = Field(default_factory=dict)
    max_attempts: int = Field(default=2, ge=1, le=5)  # when a result is lost (a restart)
    on_success: list[Step] = Field(default_factory=list)
    on_failure: list[Step] = Field(default_factory=list)

    def blocks(self) -> list[Block]:
        return [
            Block("on_success", ("on_success",), self.on_success),
            Block("on_failure", ("on_failure",), self.on_failure),
        ]

    @field_validator("save")
    @classmethod
    def _paths(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not re.fullmatch(r"[A-Za-z_]\w{0,63}", name):
                raise ValueError(f"{name!r} is not a variable name")
            try:
                jsonpath.compile(path)
            except jsonpath.JSONPathError as exc:
                raise ValueError(f"{path!r} is not a JSONPath: {exc}") from exc
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", name):
                raise ValueError(f"{name!r} is not a header name")
        return value


class JumpStep(StepBase):
    type: Literal["jump"]
    to: str = Field(pattern=STEP_ID)
    max: int = Field(default=3, ge=1, le=100)


class UpdateContactStep(StepBase):
    """Set fields (values are templates), clear fields, add and remove tags."""

    type: Literal["update_contact"]
    set: dict[SavePath, str] = Field(default_factory=dict)
    clear: list[SavePath] = Field(default_factory=list)
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)

    @field_validator("set", "clear")
    @classmethod
    def _fields(
        cls, value: dict[FieldPath, str] | list[FieldPath]
    ) -> dict[FieldPath, str] | list[FieldPath]:
        for path in value:
            if path.kind == "var":
                raise ValueError(f"'{path}': update_contact changes contact.<field> only")
        return value

    @field_validator("add_tags", "remove_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not re.fullmatch(r"[\w.:-]{1,64}", tag):
                raise ValueError(f"{tag!r} is not a tag (letters, digits, _ . : -)")
        return value

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (self.set or self.clear or self.add_tags or self.remove_tags):
            raise ValueError("give at least one of set, clear, add_tags, remove_tags")
        both = set(self.add_tags) & set(self.remove_tags)
        if both:
            raise ValueError(f"tags both added and removed: {', '.join(sorted(both))}")
        twice = set(self.set) & set(self.clear)
        if twice:
            raise ValueError(f"fields both set and cleared: {', '.join(sorted(map(str, twice)))}")
        return self


class CloseConversationStep(StepBase):
    type: Literal["close_conversation"]


class WaitStep(StepBase):
    type: Literal["wait"]
    seconds: int = Field(ge=1, le=90 * 24 * 3600)


Step = Annotated[
    SendMessageStep
    | AskQuestionStep
    | BranchStep
    | AssignStep
    | UnassignStep
    | HttpRequestStep
    | JumpStep
    | UpdateContactStep
    | CloseConversationStep
    | WaitStep,
    Field(discriminator="type"),
]


AskQuestionStep.model_rebuild()
UpdateContactStep.model_rebuild()
HttpRequestStep.model_rebuild()
BranchCase.model_rebuild()
BranchStep.model_rebuild()
AssignStep.model_rebuild()
