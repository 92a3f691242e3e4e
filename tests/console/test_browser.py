"""The console in a real headless browser: signing in, a conversation appearing live,
assigning it (the customer hears of it), setting an agent away, the workflow drawn with its
waiting count; screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By

from core.agents import AgentStatus
from core.graph import draw
from core.workflow import load_workflow
from tests.console.browser import ARTIFACTS, browser
from tests.console.signing import ANA_TOKEN, console_config
from tests.support.harness import SECRET, event, records_of, running
from tests.support.receiver import Receiver

TEMPLATES = Path(__file__).parents[2] / "core" / "templates"


async def test_running_the_desk_from_the_console(tmp_path: Path) -> None:
    receiver = Receiver(SECRET)
    callback = await receiver.start()
    try:
        async with running(console_config(tmp_path, callback)) as desk, browser() as b:
            await b.open(f"{desk.url}/console/conversations")
            assert (await b.run(lambda: b.driver.current_url)).endswith("/console/sign-in")
            await b.type("#token", ANA_TOKEN)
            await b.click("#sign-in button")
            await b.until_css("html[data-live-ready]")
            assert "No conversation matches." in await b.text("#conversations")

            # A signed webhook event: the row appears without reloading the page.
            status, _ = await desk.post(event("c-1", "hello", name="Ana"))
            assert status == 200
            await b.until_text("#conversations tbody", "Ana")
            await desk.say("c-2", "hi there", name="Bea")  # stays waiting for an agent
            await b.until_text("#conversations tbody", "Bea")

            [conversation] = await records_of(desk.frontdesk).conversations_of("webhook", "c-1")
            await b.click(f'tr[data-conversation="{conversation.id}"] a')
            await b.until_text("#transcript", "Hi! Let me find someone for you.")
            assert await b.text("#assignee") == "nobody"
            await b.choose("#agent", "carol")
            await b.click("#assign button")
            await b.until_text("#assignee", "carol")
            texts = await receiver.wait_for_texts("c-1", 2)
            assert texts[-1] == "Carol will help you."
            await b.until_text("#transcript", "Carol will help you.")
            assert "assigned to carol" in await b.text("#history")
            await b.screenshot("conversation.png")

            await b.open(f"{desk.url}/console/queues")
            await b.choose('tr[data-agent="alice"] select', "away")
            await b.click('tr[data-agent="alice"] button')
            await b.until_text('tr[data-agent="alice"] .agent-status', "away")
            agents = {a.id: a.status for a in await desk.frontdesk.store.list_agents()}
            assert agents["alice"] == AgentStatus.AWAY

            await b.open(f"{desk.url}/console/workflows")
            await b.until_css('svg g.count[data-step="give"]')
            assert await b.text('svg g.count[data-step="give"]') == "1 waiting"
            await b.screenshot("workflows.png")
    finally:
        await receiver.close()


async def test_the_templates_graphs_in_a_browser() -> None:
    folders = sorted(p for p in TEMPLATES.iterdir() if (p / "workflows").is_dir())
    assert len(folders) == 5
    ARTIFACTS.mkdir(exist_ok=True)
    async with browser() as b:
        for folder in folders:
            for path in sorted((folder / "workflows").glob("*.yaml")):
                svg = ARTIFACTS / f"graph-{folder.name}-{path.stem}.svg"
                svg.write_text(draw(load_workflow(path)))
                await b.open(svg.as_uri())
                sizes = await b.run(
                    lambda: [e.rect for e in b.driver.find_elements(By.CSS_SELECTOR, "g.step")]
                )
                assert sizes, path
                # Drawn by the browser: every step's box is on the page, with a size.
                for size in sizes:
                    assert size["width"] > 0
                    assert size["height"] > 0
                await b.screenshot(f"graph-{folder.name}-{path.stem}.png")
