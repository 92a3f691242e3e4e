"""A real headless Chromium driven through chromedriver (Debian's `chromium` and
`chromium-driver`), for the console's browser tests.

Selenium's calls block, so each runs in a thread: the frontdesk under test serves from the
test's event loop meanwhile. Missing browser packages fail the tests, loudly: a skipped
browser test would let a broken console through.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
WAIT_SECONDS = 15
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"{' or '.join(names)} is not installed: apt-get install -y chromium chromium-driver",
        pytrace=False,
    )


class Browser:
    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(call, *args)

    async def open(self, url: str) -> None:
        await self.run(self.driver.get, url)

    async def click(self, css: str) -> None:
        await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def type(self, css: str, text: str) -> None:
        await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).send_keys(text))

    async def choose(self, css: str, value: str) -> None:
        """Pick the option `value` of the <select> at `css`."""
        await self.run(
            lambda: Select(self.driver.find_element(By.CSS_SELECTOR, css)).select_by_value(value)
        )

    async def text(self, css: str) -> str:
        found: str = await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).text)
        return found

    async def until_text(self, css: str, part: str) -> None:
        """Until the element at `css` shows `part` (the page may be replaced meanwhile)."""

        def shows(driver: webdriver.Chrome) -> bool:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            try:
                return bool(found) and part in found[0].text
            except StaleElementReferenceException:
                return False
            except WebDriverException as exc:
                # Chromium reports an element of a page that a navigation has just replaced
                # as an "unknown error" rather than as a stale element.
                if "does not belong to the document" in str(exc):
                    return False
                raise

        await self.until(shows)

    async def until(self, condition: Callable[[webdriver.Chrome], Any]) -> Any:
        """The first truthy result of `condition`, polled by Selenium; bounded."""
        return await self.run(WebDriverWait(self.driver, WAIT_SECONDS).until, condition)

    async def until_css(self, css: str) -> None:
        """Until an element matches `css`."""
        await self.until(lambda d: d.find_elements(By.CSS_SELECTOR, css))

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        saved = await self.run(self.driver.save_screenshot, str(path))
        assert saved, path
        return path


@asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    chromium = _binary("chromium", "chromium-browser")
    chromedriver = _binary("chromedriver")
    with tempfile.TemporaryDirectory(prefix="frontdesk-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        service = Service(executable_path=chromedriver)
        driver = await asyncio.to_thread(webdriver.Chrome, options=options, service=service)
        driver.set_page_load_timeout(WAIT_SECONDS)
        try:
            yield Browser(driver)
        finally:
            await asyncio.to_thread(driver.quit)
