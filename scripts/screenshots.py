"""Screenshots of the main screens for the README, taken from a running demo (`./dev run`).

    EMBUDO_DEMO_PASSWORD=demo-pass ./dev run            # in one terminal
    uv run python scripts/screenshots.py --password demo-pass

Writes docs/screenshots/*.png (desktop width, plus the inbox at phone width). Uses Debian's chromium.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def shoot(page: Page, base: str, path: str, name: str) -> None:
    page.goto(f"{base}{path}")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
    print(f"{name}.png  ←  {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--password", required=True, help="the demo personas' password (EMBUDO_DEMO_PASSWORD)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=ARGS)
        rep = browser.new_context(viewport={"width": 1366, "height": 860}, locale="en-US")
        page = rep.new_page()
        log_in(page, args.base, "emma@embudo.demo", args.password)
        shoot(page, args.base, "/inbox/", "inbox")
        first = page.locator("[data-inbox-row] a[href^='/leads/']").first
        href = first.get_attribute("href") if first.count() else None
        if href:
            shoot(page, args.base, href, "lead-page")
        shoot(page, args.base, "/pipeline/", "pipeline-board")
        shoot(page, args.base, "/tasks/", "my-day")
        manager = browser.new_context(viewport={"width": 1366, "height": 860}, locale="es-ES")
        page = manager.new_page()
        log_in(page, args.base, "manager@embudo.demo", args.password)
        shoot(page, args.base, "/inbox/team/", "team-view-es")
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", is_mobile=True)
        page = phone.new_page()
        log_in(page, args.base, "emma@embudo.demo", args.password)
        shoot(page, args.base, "/inbox/", "inbox-phone")
        browser.close()


if __name__ == "__main__":
    main()
