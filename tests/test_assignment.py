"""Assignment beyond round robin: least open, limits, the team queue, timeouts, unassign."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import records_of, running, write_config
from tests.support.receiver import Receiver
from tests.support.waiting import until

CREW = """
agents:
  a1: {status: online, capacity: 10}
  a2: {status: online, capacity: 10}
  a3: {status: online, capacity: 10}
  a4: {status: online, capacity: 10}
  a5: {status: online, capacity: 10}
  late: {status: offline}
teams:
  crew: {agents: [a1, a2, a3, a4, a5]}
  night: {agents: [late]}
"""

LEAST_OPEN = """
name: least-open
trigger: conversation_opened
steps:
  - {id: give, type: assign, team: crew, strategy: least_open}
  - {id: told, type: send_message, text: "You have {{ agent.id }}"}
"""


async def test_least_open_never_exceeds_capacity_under_load(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"least-open": LEAST_OPEN}, CREW)
    async with running(config) as fd:
        contacts = [f"c{n}" for n in range(200)]
        await fd.burst(contacts)
        counted = await fd.assignees(contacts)
        assert counted == {"a1": 10, "a2": 10, "a3": 10, "a4": 10, "a5": 10, None: 150}
        queued = await fd.frontdesk.store.queued_conversations(["crew"], 500)
        assert len(queued) == 150


async def test_least_open_prefers_the_least_busy(tmp_path: Path, receiver: Receiver) -> None:
    workflow = """
    name: least-open
    trigger: conversation_opened
    steps:
      - {id: give, type: assign, team: crew, strategy: least_open}
      - {id: ask, type: ask_question, text: "Done?"}
      - {id: bye, type: close_conversation}
    """
    directory = """
    agents:
      busy: {status: online}
      idle: {status: online}
    teams:
      crew: {agents: [busy, idle]}
    """
    config = write_config(tmp_path, receiver.url, {"least-open": workflow}, directory)
    async with running(config) as fd:
        await fd.say("x0", "hi")  # busy (a tie, so the first in turn)
        await fd.say("x1", "hi")  # idle (fewer open)
        await fd.say("x1", "yes")  # closes: busy 1 open, idle 0
        await fd.say("x2", "hi")  # round robin would say busy; least open says idle
        counted = await fd.assignees(["x0", "x2"])
        assert counted == {"busy": 1, "idle": 1}
        [x2] = await records_of(fd.frontdesk).conversations_of("webhook", "x2")
        assert x2.assignee == "idle"


QUEUE = """
name: queue
trigger: conversation_opened
steps:
  - id: give
    type: assign
    team: night
    timeout_seconds: 600
    on_timeout:
      - {id: sorry, type: send_message, text: "Nobody could take this; we'll email you."}
      - {id: done, type: close_conversation}
  - {id: told, type: send_message, text: "{{ agent.id }} is here."}
"""


async def test_the_queue_goes_to_an_agent_who_comes_online_in_arrival_order(
    tmp_path: Path, receiver: Receiver
) -> None:
    directory = CREW.replace("late: {status: offline}", "late: {status: offline, capacity: 2}")
    config = write_config(tmp_path, receiver.url, {"queue": QUEUE}, directory)
    async with running(config) as fd:
        for contact in ("q1", "q2", "q3"):
            await fd.say(contact, "hi")
            fd.clock.advance(1)
        assert receiver.texts("q1") == []
        await fd.set_status("late", "online")
        assert await receiver.wait_for_texts("q1", 1) == ["late is here."]
        assert await receiver.wait_for_texts("q2", 1) == ["late is here."]
        # late is full (capacity 2): q3 keeps waiting, then times out.
        await fd.frontdesk.runtime.idle()
        assert receiver.texts("q3") == []
        await fd.advance(600)
        assert await receiver.wait_for_texts("q3", 1) == [
            "Nobody could take this; we'll email you."
        ]
        [q3] = await records_of(fd.frontdesk).conversations_of("webhook", "q3")
        assert (q3.status, q3.assignee) == ("closed", None)
        # q1's timer was dropped when late took it: nothing more arrives for it.
        assert receiver.texts("q1") == ["late is here."]


RELEASE = """
name: release
trigger: conversation_opened
steps:
  - {id: give, type: assign, team: night, only_online: false, max_open: 1,
     when_unavailable: [{id: wait, type: send_message, text: "Please wait."}]}
  - {id: ask, type: ask_question, text: "Done?"}
  - {id: release, type: unassign}
  - {id: bye, type: send_message, text: "Bye."}
"""


async def test_unassign_frees_a_slot_for_the_next_in_the_queue(
    tmp_path: Path, receiver: Receiver
) -> None:
    directory = CREW.replace("late: {status: offline}", "late: {status: online}")
    config = write_config(tmp_path, receiver.url, {"release": RELEASE}, directory)
    async with running(config) as fd:
        await fd.say("first", "hi")
        await fd.say("second", "hi")
        assert await receiver.wait_for_texts("second", 2) == ["Please wait.", "Done?"]
        [second] = await records_of(fd.frontdesk).conversations_of("webhook", "second")
        assert (second.team, second.assignee) == ("night", None)
        await fd.say("first", "yes")
        await receiver.wait_for_texts("first", 2)
        [first] = await records_of(fd.frontdesk).conversations_of("webhook", "first")
        assert first.assignee is None

        async def second_assignee() -> str | None:  # the offer round follows the freeing commit
            [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "second")
            return conversation.assignee

        assert await until(second_assignee) == "late"


LIMITED = """
name: limited
trigger: conversation_opened
steps:
  - id: route
    type: branch
    branches:
      - name: vip
        conditions: [{field: contact.name, op: equals, value: VIP}]
        steps: [{id: anyone, type: assign, team: night, timeout_seconds: 3600}]
    else:
      - {id: few, type: assign, team: night, max_open: 2, timeout_seconds: 3600}
  - {id: told, type: send_message, text: "{{ agent.id }} is here."}
"""


async def test_the_queue_keeps_the_max_open_of_the_step_that_queued_it(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"limited": LIMITED}, CREW)
    limited = [f"q{n}" for n in range(1, 6)]
    async with running(config) as fd:
        for contact in limited:
            await fd.say(contact, "hi")
            fd.clock.advance(1)
        await fd.say("vip", "hi", name="VIP")  # queued last, by a step without max_open
        assert await fd.assignees([*limited, "vip"]) == {None: 6}

        await fd.set_status("late", "online")
        await fd.frontdesk.runtime.idle()

        # Two of the five that allow two open, and the one that allows any number.
        assert await fd.assignees(limited) == {"late": 2, None: 3}
        assert await fd.assignees(["vip"]) == {"late": 1}
        for contact in ("q1", "q2", "vip"):
            assert await receiver.wait_for_texts(contact, 1) == ["late is here."]
        restarted_at = fd.clock.now()

    async with running(config, start=restarted_at) as fd:
        # The queue is offered again after a start, by the same rule.
        fd.frontdesk.runtime.agent_available("late")
        await fd.frontdesk.runtime.idle()
        assert await fd.assignees(limited) == {"late": 2, None: 3}

        # late is down to two open: still not fewer than two.
        [vip] = await records_of(fd.frontdesk).conversations_of("webhook", "vip")
        assert await fd.frontdesk.runtime.close_conversation(vip.id) is True
        await fd.frontdesk.runtime.idle()
        assert await fd.assignees(limited) == {"late": 2, None: 3}

        # Down to one: the longest waiting of the rest goes to late.
        [q1] = await records_of(fd.frontdesk).conversations_of("webhook", "q1")
        assert await fd.frontdesk.runtime.close_conversation(q1.id) is True
        await fd.frontdesk.runtime.idle()
        [q3] = await records_of(fd.frontdesk).conversations_of("webhook", "q3")
        assert (q3.assignee, q3.queued_at, q3.queue_limit) == ("late", None, None)
        assert await fd.assignees(["q4", "q5"]) == {None: 2}
        assert receiver.texts("q4") == []


DEDICATED_DIRECTORY = """
agents:
  dave: {status: away, capacity: 1}
  erin: {status: online, capacity: 10}
teams:
  sales: {agents: [dave, erin]}
"""

DEDICATED = """
name: dedicated
trigger: conversation_opened
steps:
  - {id: team, type: assign, team: sales}
  - {id: unassign, type: unassign}
  - id: give
    type: assign
    agent: dave
    assigned_message: "{{ agent.id }} will help you."
  - {id: ask, type: ask_question, text: "Done?"}
  - {id: bye, type: close_conversation}
"""


async def test_a_conversation_for_an_away_agent_waits_for_him_alone(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"dedicated": DEDICATED}, DEDICATED_DIRECTORY)
    async with running(config) as fd:
        await fd.say("d1", "hi")
        fd.clock.advance(1)
        await fd.say("d2", "hi")
        assert await receiver.wait_for_texts("d1", 1) == ["Done?"]
        store = fd.frontdesk.store
        [d1] = await records_of(fd.frontdesk).conversations_of("webhook", "d1")
        assert (d1.team, d1.assignee, d1.queued_for) == ("sales", None, "dave")
        # Erin is online in the same team, yet neither is hers, even when she frees a slot.
        await fd.set_status("erin", "away")
        await fd.set_status("erin", "online")
        await fd.frontdesk.runtime.idle()
        assert await store.queued_conversations(["sales"], 9) == []
        waiting = await store.queued_conversations([], 9, agent_id="dave")
        assert [c.contact_id for c in waiting] == [d1.contact_id, waiting[1].contact_id]
        assert await fd.assignees(["d1", "d2"]) == {None: 2}
        # Dave comes online with room for one: the longest waiting is his, the other waits.
        await fd.set_status("dave", "online")
        assert await receiver.wait_for_texts("d1", 2) == ["Done?", "dave will help you."]
        await fd.frontdesk.runtime.idle()
        assert await fd.assignees(["d1", "d2"]) == {"dave": 1, None: 1}
        # He closes d1: his slot goes to d2.
        await fd.say("d1", "yes")
        assert await receiver.wait_for_texts("d2", 2) == ["Done?", "dave will help you."]
        [d2] = await records_of(fd.frontdesk).conversations_of("webhook", "d2")
        assert (d2.assignee, d2.queued_at, d2.queued_for) == ("dave", None, None)


DEDICATED_TIMEOUT = """
name: dedicated
trigger: conversation_opened
steps:
  - id: give
    type: assign
    agent: dave
    timeout_seconds: 300
    on_timeout:
      - {id: sorry, type: send_message, text: "Dave is away; we'll email you."}
      - {id: done, type: close_conversation}
  - {id: told, type: send_message, text: "{{ agent.id }} is here."}
"""


async def test_a_wait_for_an_agent_ends_with_on_timeout(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(
        tmp_path, receiver.url, {"dedicated": DEDICATED_TIMEOUT}, DEDICATED_DIRECTORY
    )
    async with running(config) as fd:
        await fd.say("t1", "hi")
        await fd.frontdesk.runtime.idle()
        assert receiver.texts("t1") == []
        [waiting] = await fd.frontdesk.store.queued_conversations([], 9, agent_id="dave")
        await fd.advance(300)
        assert await receiver.wait_for_texts("t1", 1) == ["Dave is away; we'll email you."]
        [t1] = await records_of(fd.frontdesk).conversations_of("webhook", "t1")
        assert (t1.id, t1.status, t1.assignee, t1.queued_for) == (waiting.id, "closed", None, None)


async def test_a_wait_for_an_agent_ends_when_he_comes_online(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(
        tmp_path, receiver.url, {"dedicated": DEDICATED_TIMEOUT}, DEDICATED_DIRECTORY
    )
    async with running(config) as fd:
        await fd.say("t2", "hi")
        await fd.frontdesk.runtime.idle()
        await fd.set_status("dave", "online")
        assert await receiver.wait_for_texts("t2", 1) == ["dave is here."]
        await fd.advance(300)  # the timer was dropped when he took it
        await fd.frontdesk.runtime.idle()
        assert receiver.texts("t2") == ["dave is here."]


async def test_when_unavailable_without_timeout_still_runs_at_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    workflow = """
    name: dedicated
    trigger: conversation_opened
    steps:
      - {id: give, type: assign, agent: dave,
         when_unavailable: [{id: away, type: send_message, text: "Dave is away."}]}
    """
    config = write_config(tmp_path, receiver.url, {"dedicated": workflow}, DEDICATED_DIRECTORY)
    async with running(config) as fd:
        await fd.say("u1", "hi")
        assert await receiver.wait_for_texts("u1", 1) == ["Dave is away."]
        [u1] = await records_of(fd.frontdesk).conversations_of("webhook", "u1")
        assert (u1.assignee, u1.queued_at, u1.queued_for) == (None, None, None)
        await fd.set_status("dave", "online")
        await fd.frontdesk.runtime.idle()
        [u1] = await records_of(fd.frontdesk).conversations_of("webhook", "u1")
        assert u1.assignee is None
