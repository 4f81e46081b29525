"""Screenshots of a running SD Studio (e.g. `make run`) for docs/: headless Chromium (Debian's) driven by Playwright.

    .venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8000] [--out docs] [--width 1280] [--locale fr-FR]

Logs in as `admin` with the password `make run` keeps in var/demo-logins.txt and saves
home.png, study.png (the newest study), mask-editor.png (the demo photo's page) and scene-job.png (the newest
scene job), job-form.png, review-queue.png, campaign-form.png and shop.png, full pages. --locale is the browser's
language (its Accept-Language): fr-FR shows the French pages.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# Elements wider than the window (the page scrolls sideways): what longer words (French) would push out.
OVERFLOW = """() => { const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-scroll, pre, code'))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right)); }"""


def save(page, path: Path) -> None:
    """A full-page screenshot, and a line for each element that overflows the window."""
    page.screenshot(path=str(path), full_page=True)
    wide = page.evaluate(OVERFLOW)
    print(f"{path.name}: {'overflows: ' + ', '.join(wide) if wide else 'fits'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--locale", default="en-US")
    args = parser.parse_args()
    logins = dict(line.split(" ", 1) for line in (ROOT / "var" / "demo-logins.txt").read_text().splitlines())
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("SDSTUDIO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                                            "--disable-background-networking"])
        page = browser.new_context(viewport={"width": args.width, "height": 900}, locale=args.locale).new_page()
        page.goto(f"{args.url}/accounts/login/")
        page.fill("#id_username", args.user)
        page.fill("#id_password", logins[args.user].strip())
        page.click("main button[type=submit]")
        page.wait_for_url(f"{args.url}/")
        page.wait_for_load_state("networkidle")
        save(page, args.out / f"{args.prefix}home.png")
        page.goto(f"{args.url}/experiments/")
        links = page.eval_on_selector_all("a[href^='/experiments/']", "els => els.map(e => e.getAttribute('href'))")
        studies = sorted({int(m.group(1)) for href in links if (m := re.match(r"/experiments/(\d+)/$", href))})
        if studies:
            page.goto(f"{args.url}/experiments/{studies[-1]}/")
            page.wait_for_load_state("networkidle")
            save(page, args.out / f"{args.prefix}study.png")
            scene = page.eval_on_selector_all("[data-run^='scene_'] a", "els => els.map(e => e.getAttribute('href'))")
            if scene:
                page.goto(f"{args.url}{scene[0]}")
                page.wait_for_load_state("networkidle")
                save(page, args.out / f"{args.prefix}scene-job.png")
        page.goto(f"{args.url}/catalog/DEMO-HEADPHONES/")
        photo = page.query_selector("#photos a")
        if photo:
            photo.click()
            page.wait_for_selector("#mask-editor[data-loaded='1']")
            save(page, args.out / f"{args.prefix}mask-editor.png")
        for path, name in (("/jobs/new/", "job-form"), ("/review/", "review-queue"), ("/campaigns/new/", "campaign-form"),
                           ("/catalog/shop/", "shop")):
            page.goto(f"{args.url}{path}")
            page.wait_for_load_state("networkidle")
            save(page, args.out / f"{args.prefix}{name}.png")
        browser.close()
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
