"""The compiled program: how each step type and its nested blocks are laid out as one flat
list of instructions, where jumps land, and where a stored run resumes."""

from __future__ import annotations

import logging

import pytest

from core.errors import ConfigError
from core.models import Waiting
from core.program import Instruction, Program, resume_pc, waiting_at
from tests.core.turns import conversation, drive, program, start, turn


def _say(step_id: str) -> str:
    return f"{{id: {step_id}, type: send_message, text: {step_id}}}"


def layout(prog: Program) -> list[str]:
    """Each instruction as text: a step's id with where its blocks start, or `goto n`."""

    def line(ins: Instruction) -> str:
        if ins.step is None:
            return f"goto {ins.goto}"
        parts = [ins.step.id]
        parts += [f"{name}={at}" for name, at in ins.blocks.items()]
        if ins.cases:
            parts.append(f"cases={','.join(map(str, ins.cases))} else={ins.otherwise}")
        return " ".join(parts)

    return [line(ins) for ins in prog.code]


# (rule, steps, the compiled layout)
LAYOUTS: list[tuple[str, str, list[str]]] = [
    (
        "steps with no blocks follow each other",
        f"""
        - {_say("a")}
        - {{id: w, type: wait, seconds: 5}}
        - {{id: u, type: unassign}}
        - {{id: c, type: close_conversation}}
        """,
        ["a", "w", "u", "c"],
    ),
    (
        "a question with no nested steps is one instruction",
        f"""
        - {{id: q, type: ask_question, text: q, timeout_seconds: 5}}
        - {_say("z")}
        """,
        ["q", "z"],
    ),
    (
        "a question's failure steps sit after a goto past them",
        f"""
        - {{id: q, type: ask_question, text: q, on_failure: [{_say("f")}]}}
        - {_say("z")}
        """,
        ["q on_failure=2", "goto 4", "f", "goto 4", "z"],
    ),
    (
        "each non-empty block in order, each ending with a goto to the end",
        f"""
        - id: q
          type: ask_question
          text: q
          timeout_seconds: 5
          on_failure: [{_say("f1")}, {_say("f2")}]
          on_timeout: [{_say("t")}]
        - {_say("z")}
        """,
        ["q on_failure=2 on_timeout=5", "goto 7", "f1", "f2", "goto 7", "t", "goto 7", "z"],
    ),
    (
        "an assign step's unavailable steps",
        f"""
        - {{id: s, type: assign, team: sales, when_unavailable: [{_say("u")}]}}
        - {_say("z")}
        """,
        ["s when_unavailable=2", "goto 4", "u", "goto 4", "z"],
    ),
    (
        "an assign step's timeout steps",
        f"""
        - {{id: s, type: assign, agent: ann, timeout_seconds: 9, on_timeout: [{_say("t")}]}}
        """,
        ["s on_timeout=2", "goto 4", "t", "goto 4"],
    ),
    (
        "an HTTP request's success and failure steps",
        f"""
        - id: h
          type: http_request
          url: http://127.0.0.1/x
          on_success: [{_say("ok")}]
          on_failure: [{_say("ko")}]
        """,
        ["h on_success=2 on_failure=4", "goto 6", "ok", "goto 6", "ko", "goto 6"],
    ),
    (
        "a branch: each case then a goto to the end, the else last",
        f"""
        - id: b
          type: branch
          branches:
            - {{conditions: [{{field: vars.a, op: exists}}], steps: [{_say("a1")}, {_say("a2")}]}}
            - {{conditions: [{{field: vars.b, op: exists}}], steps: [{_say("b1")}]}}
          else: [{_say("e")}]
        - {_say("z")}
        """,
        ["b cases=1,4 else=6", "a1", "a2", "goto 7", "b1", "goto 7", "e", "z"],
    ),
    (
        "a branch without else: the else is its end",
        f"""
        - id: b
          type: branch
          branches: [{{conditions: [{{field: vars.a, op: exists}}], steps: [{_say("a")}]}}]
        - {_say("z")}
        """,
        ["b cases=1 else=3", "a", "goto 3", "z"],
    ),
    (
        "an empty case is only its goto",
        f"""
        - id: b
          type: branch
          branches:
            - {{conditions: [{{field: vars.a, op: exists}}]}}
            - {{conditions: [{{field: vars.b, op: exists}}], steps: [{_say("y")}]}}
        """,
        ["b cases=1,2 else=4", "goto 4", "y", "goto 4"],
    ),
    (
        "a branch inside a case, inside a question's failure steps",
        f"""
        - id: q
          type: ask_question
          text: q
          on_failure:
            - id: outer
              type: branch
              branches:
                - conditions: [{{field: vars.a, op: exists}}]
                  steps:
                    - id: inner
                      type: branch
                      branches:
                        - conditions: [{{field: vars.b, op: exists}}]
                          steps: [{_say("x")}]
                      else: [{_say("y")}]
              else: [{_say("e")}]
        - {_say("z")}
        """,
        [
            "q on_failure=2",
            "goto 10",
            "outer cases=3 else=8",
            "inner cases=4 else=6",
            "x",
            "goto 7",
            "y",
            "goto 9",  # the inner branch's end is the outer case's way out
            "e",
            "goto 10",
            "z",
        ],
    ),
]


@pytest.mark.parametrize(("steps", "code"), [r[1:] for r in LAYOUTS], ids=[r[0] for r in LAYOUTS])
def test_a_workflow_compiles_to_this_layout(steps: str, code: list[str]) -> None:
    prog = program(steps)
    assert layout(prog) == code
    # Every step, nested or not, is indexed at its own instruction.
    for step_id, at in prog.index.items():
        assert layout(prog)[at].split()[0] == step_id


JUMPS = f"""
- {_say("top")}
- id: b
  type: branch
  branches:
    - conditions: [{{field: vars.go, op: exists}}]
      steps: [{_say("inside")}, {{id: back, type: jump, to: top, max: 2}}]
- {{id: skip, type: jump, to: end, max: 1}}
- {_say("skipped")}
- {_say("end")}
"""

# (rule, the run's variables, what the customer is told)
JUMP_RUNS: list[tuple[str, dict[str, object], list[str]]] = [
    ("a forward jump skips the steps between", {}, ["top", "end"]),
    (
        "a backward jump out of a case is taken max times, then the run carries on",
        {"go": 1},
        ["top", "inside", "top", "inside", "top", "inside", "end"],
    ),
]


@pytest.mark.parametrize(
    ("vars_", "told"), [r[1:] for r in JUMP_RUNS], ids=[r[0] for r in JUMP_RUNS]
)
async def test_jumps(vars_: dict[str, object], told: list[str]) -> None:
    prog = program(JUMPS)
    at = start(prog, turn(), vars=vars_)
    assert await drive(prog, at) == told


def test_a_jump_resolves_to_its_target_instruction() -> None:
    prog = program(JUMPS)
    assert layout(prog)[prog.index["top"]] == "top"
    assert layout(prog)[prog.index["end"]] == "end"
    assert prog.index["inside"] == prog.code[prog.index["b"]].cases[0]


async def test_each_jump_counts_its_own_turns_and_keeps_them_for_the_run() -> None:
    prog = program(
        f"""
        - {_say("a")}
        - {{id: j1, type: jump, to: a, max: 1}}
        - {{id: j2, type: jump, to: a, max: 1}}
        """
    )
    at = start(prog, turn())
    # j1 once, then j2 once (j1 spent), then both spent.
    assert await drive(prog, at) == ["a", "a", "a"]
    run = at.conversation.run
    assert run is not None
    assert run.jumps == {"j1": 1, "j2": 1}


# (rule, the jump step, the problem reported)
BAD_JUMPS: list[tuple[str, str, str]] = [
    ("a jump to no step", "{id: j, type: jump, to: nowhere}", "no step with id 'nowhere'"),
    ("max below 1", "{id: j, type: jump, to: j, max: 0}", "greater than or equal to 1"),
    ("max above 100", "{id: j, type: jump, to: j, max: 101}", "less than or equal to 100"),
]


@pytest.mark.parametrize(
    ("step", "problem"), [r[1:] for r in BAD_JUMPS], ids=[r[0] for r in BAD_JUMPS]
)
def test_a_jump_out_of_bounds_is_refused_when_the_workflow_loads(step: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        program(f"- {step}")


NESTED = """
- {id: q, type: ask_question, text: q, on_failure: [{id: q2, type: ask_question, text: again}]}
- {id: w, type: wait, seconds: 5}
"""

# (rule, stored pc, the step the run waits at, where it resumes or None: LookupError)
RESUMES: list[tuple[str, int, str, int | None]] = [
    ("the stored pc when it is that step", 0, "q", 0),
    ("a nested step at its stored pc", 2, "q2", 2),
    ("another step's pc: back to the step by its id", 2, "q", 0),
    ("a goto's pc: back to the step", 1, "w", 4),
    ("a pc past the end: back to the step", 99, "w", 4),
    ("a negative pc: back to the step", -1, "q2", 2),
    ("a step this version lacks cannot resume", 0, "gone", None),
]


@pytest.mark.parametrize(
    ("pc", "step_id", "resumed"), [r[1:] for r in RESUMES], ids=[r[0] for r in RESUMES]
)
def test_where_a_stored_run_resumes(pc: int, step_id: str, resumed: int | None) -> None:
    prog = program(NESTED)
    assert layout(prog) == ["q on_failure=2", "goto 4", "q2", "goto 4", "w"]
    if resumed is None:
        with pytest.raises(LookupError, match="no step 'gone'"):
            resume_pc(prog, pc, step_id)
    else:
        assert resume_pc(prog, pc, step_id) == resumed


@pytest.mark.parametrize(
    ("pc", "logged"), [(2, False), (0, True)], ids=["in place: said nothing", "moved: logged"]
)
def test_waiting_at_puts_the_run_back_on_its_step(
    pc: int, logged: bool, caplog: pytest.LogCaptureFixture
) -> None:
    prog = program(NESTED)
    at = start(prog, turn(conversation()), pc=pc, waiting=Waiting(kind="answer", step_id="q2"))
    with caplog.at_level(logging.ERROR, logger="frontdesk.engine"):
        instruction = waiting_at(prog, at.conversation)
    assert instruction.step is not None
    assert instruction.step.id == "q2"
    run = at.conversation.run
    assert run is not None
    assert run.pc == 2
    assert ("stored position 0 is not the step" in caplog.text) is logged
