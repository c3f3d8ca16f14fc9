"""``make screenshots``: PNGs of the main screens into ``docs/screenshots/`` (linked from README).

Builds a throw-away demo deployment (SQLite in a temporary directory, the nine demo members, a few
thousand generated residents), serves it on a free local port, and drives Debian's Chromium
through Playwright over the counter's main journey. The pictures show the real screens with
made-up data; nothing here runs in production.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = os.environ.get("JICHITAI_CHROMIUM", "/usr/bin/chromium")
RESIDENTS = 3000


def _deployment(var: Path) -> Any:
    from core.migrate import upgrade
    from core.settings import Settings
    from core.uow import UnitOfWork
    from jichitai import demo
    from jichitai.demo_data import loader
    from jichitai.state import AppState
    from resident_records import population

    url = f"sqlite:///{var / 'screens.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        var_dir=var,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        public_base_url="https://jichitai.example.jp",
    )
    state = AppState.from_settings(settings)
    with UnitOfWork(state.session_factory, state.bus) as uow:
        demo.load(uow.session, state.ring)
        demo.load_machiaza(uow.session)
        uow.commit()
    with UnitOfWork(state.session_factory, state.bus) as uow:
        population.generate(
            uow.session,
            state.ring,
            ["162116"],
            RESIDENTS,
            today=dt.date.today(),
            pools=loader.name_pools(),
        )
        uow.commit()
    return state


def _serve(state: Any) -> tuple[str, Any]:
    import uvicorn

    from jichitai.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state.settings, state),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"  docs/screenshots/{name}.png")


def _journey(page: Any) -> None:
    from jichitai import demo

    page.goto("/login")
    _shoot(page, "01-login")
    page.fill("#lg_code", "162116")
    page.fill("#login_id", "imizu.clerk")
    page.fill("#password", demo.DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    _shoot(page, "02-home")
    page.click("text=住民検索")
    page.fill("#q", "タカ")
    page.wait_for_selector("#results tbody tr")
    _shoot(page, "03-search")
    page.click("#results tbody a")
    page.wait_for_selector("text=異動の履歴")
    _shoot(page, "04-resident")
    page.click("text=証明書の発行")
    page.fill("[name='requester.name']", "本人")
    _shoot(page, "05-certificate-form")
    page.click("button[value=issue]")
    page.wait_for_selector("text=証明書を発行しました")
    _shoot(page, "06-certificate-issued")
    page.click("text=転入届")
    page.fill("[name=previous_address]", "富山県富山市新桜町7番38号")
    page.fill("[name='persons.0.family_name']", "見本")
    page.fill("[name='persons.0.relationship']", "祖父")
    page.click("button[value=confirm]")
    page.wait_for_selector("text=入力内容に誤りがあります")
    _shoot(page, "07-move-in-errors")
    page.goto("/verify")
    _shoot(page, "08-verify")


def main() -> None:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        sys.exit(f"Chromium が見つかりません: {CHROMIUM}（make setup でインストールされます）")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        state = _deployment(Path(tmp))
        base_url, server = _serve(state)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(
                base_url=base_url, locale="ja-JP", viewport={"width": 1280, "height": 800}
            )
            page = context.new_page()
            page.set_default_timeout(20_000)
            _journey(page)
            browser.close()
        server.should_exit = True
        state.engine.dispose()


if __name__ == "__main__":
    main()
