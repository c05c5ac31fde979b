"""The first five minutes, in a real browser: `wxbot run` as the README starts it, and Playwright
driving Debian's Chromium through a whole binding in the simulator — the menu, an SMS code from
the desk, a photo, the summary, a manual approval at the desk and the approval card; subscribing on
the subscribe page inside the phone and the approval as a subscription notice. It saves a screenshot
to var/test-artifacts/simulator-binding.png."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from flows.texts import subscribe as subscribe_texts
from tests.conftest import free_port, wait_for
from tests.support.binding import person
from tests.support.processes import ROOT, healthy

CHROMIUM = "/usr/bin/chromium"   # Debian's, installed by `make test`
# Chromium on a machine with no way out: no background connections, no sandbox (we run as root).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOT = ROOT / "var" / "test-artifacts" / "simulator-binding.png"
# A 1×1 PNG: the 户口本 photo.
PHOTO = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture
def product(running, tmp_path):
    """The whole product, started as `make run` does, on free ports; the desk reviews by hand and
    the sandbox sends real random SMS codes."""
    port, fake_port, simulator_port = free_port(), free_port(), free_port()
    env = {"WXBOT_SERVER__BIND": f"127.0.0.1:{port}", "WXBOT_REDIS__DATA_DIR": str(tmp_path / "redis"),
           "WXBOT_BINDING__SANDBOX__REVIEW": "manual", "WXBOT_BINDING__SANDBOX__VERIFICATION_CODE": ""}
    running("run", "--config", str(ROOT / "config.example.toml"), "--fake-wechat-port", str(fake_port),
            "--simulator-port", str(simulator_port), env=env)
    wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), timeout=30)
    return f"http://127.0.0.1:{simulator_port}"


@pytest.fixture
def page(product):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 960, "height": 860}, locale="zh-CN")
        page.set_default_timeout(15_000)
        page.goto(product)
        yield page
        browser.close()


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def verify(page: Page, who, sent_before: int) -> None:
    """Name and ID number, then the code the desk shows for this verification (the newest one).
    `sent_before`: codes the desk has sent in this test so far — not what the panel shows now: a
    page just opened may not have polled yet, and an earlier code arriving would pass for this one."""
    codes = sent_before
    say(page, who.name)
    expect(last_bot_message(page)).to_contain_text("身份证号码")
    say(page, who.id_number)
    expect(last_bot_message(page)).to_contain_text("验证码已发送")
    expect(page.locator("#sms code")).to_have_count(codes + 1)
    code = page.locator("#sms code").first.text_content()
    assert code and code.isdigit()
    say(page, code)


def last_bot_message(page: Page):
    return page.locator("#messages li.bot").last


def bind_a_grandchild(page: Page, grandpa, child) -> None:
    """From the menu to the submitted application, waiting for the desk's review."""
    page.click("#menu button:has-text('家庭共济')")
    page.click("#submenu button:has-text('绑定家人')")
    expect(last_bot_message(page)).to_contain_text("先验证一下您的身份")

    page.click("#to-keyboard")
    verify(page, grandpa, sent_before=0)
    expect(last_bot_message(page)).to_contain_text("请问要绑定的家人是您的")

    say(page, "孙女")
    expect(last_bot_message(page)).to_contain_text("姓名")
    say(page, child.name)
    expect(last_bot_message(page)).to_contain_text("证件号码")
    say(page, child.id_number)
    expect(last_bot_message(page)).to_contain_text("户口本")
    page.set_input_files("#photo", files=[{"name": "hukou.png", "mimeType": "image/png", "buffer": PHOTO}])
    expect(last_bot_message(page)).to_contain_text("承诺书")
    say(page, "同意")
    expect(last_bot_message(page)).to_contain_text("4. 证明材料：已上传")
    say(page, "确认")
    expect(last_bot_message(page)).to_contain_text("正在审核")


def test_a_whole_binding_in_the_simulator(page: Page) -> None:
    expect(last_bot_message(page)).to_contain_text("点击下方菜单即可办理")   # followed: the welcome
    grandpa, child = person("王建国"), person("王朵朵")
    bind_a_grandchild(page, grandpa, child)

    application = page.locator("#applications li[data-application]")
    expect(application).to_contain_text("孙子女/外孙子女 王**（3301**********0428）")
    application.locator("button.approve").click()

    card = page.locator("#messages article.card")
    expect(card).to_contain_text("家庭共济办理成功通知", timeout=30_000)
    expect(card).to_contain_text("已通过")
    expect(card).to_contain_text("王**")
    expect(page.locator("#applications li.empty")).to_be_visible()
    # Only masked personal data in what the account said.
    said = " ".join(page.locator("#messages li.bot").all_text_contents())
    assert child.id_number not in said and child.name not in said and grandpa.id_number not in said

    page.click("#to-menu")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_member_consents_through_the_link_as_another_user(page: Page) -> None:
    grandpa, wife = person("王建国"), person("李秀英")
    page.click("#to-keyboard")
    say(page, "绑定家人")
    expect(last_bot_message(page)).to_contain_text("先验证一下您的身份")
    verify(page, grandpa, sent_before=0)
    for text, expected in [("老伴", "姓名"), (wife.name, "证件号码"), (wife.id_number, "承诺书"),
                           ("同意", "请核对"), ("确认", "本人确认同意")]:
        say(page, text)
        expect(last_bot_message(page)).to_contain_text(expected)

    # The link in the reply opens the simulator's consent page; from there, the member's own chat.
    with page.context.expect_page() as opened:
        last_bot_message(page).locator("a[href*='/consent/']").click()
    consent = opened.value
    consent.click("#open")
    expect(consent.locator("#text")).to_have_value(re.compile(r"^同意 [0-9A-F]{6}$"))
    consent.press("#text", "Enter")
    expect(last_bot_message(consent)).to_contain_text("先验证一下您的身份")
    verify(consent, wife, sent_before=1)
    expect(last_bot_message(consent)).to_contain_text("授权给您使用")
    say(consent, "同意")
    expect(last_bot_message(consent)).to_contain_text("您已同意")

    # Back in the first user's chat: the approval card (the desk is manual: approve it first).
    page.locator("#applications li[data-application] button.approve").click()
    expect(page.locator("#messages article.card")).to_contain_text("已通过", timeout=30_000)


def test_a_user_subscribes_on_the_subscribe_page_and_the_approval_comes_as_a_notice(page: Page) -> None:
    bind_a_grandchild(page, person("王建国"), person("王朵朵"))
    # The example config sends approvals as subscription notices to subscribers: the reply links the page.
    link = last_bot_message(page).locator("a", has_text="订阅办理结果提醒")
    link.click()
    expect(page.locator("#browser")).to_be_visible()        # inside the phone, as WeChat's browser
    site = page.frame_locator("#browser-frame")
    expect(site.locator("h1")).to_have_text(subscribe_texts.TITLE)
    expect(site.locator("#notices")).to_contain_text("家庭共济办理成功提醒")
    site.locator("button.stand-in").click()                  # WeChat's open tag, played by the simulator
    expect(page.locator("#popup-notices")).to_contain_text("家庭共济办理成功提醒")
    page.click("#popup-allow")
    expect(site.locator("#status")).to_have_text(subscribe_texts.DONE)
    page.click("#browser-close")

    page.locator("#applications li[data-application] button.approve").click()
    card = page.locator("#messages article.card")
    expect(card).to_contain_text("家庭共济办理成功提醒", timeout=30_000)
    expect(card.locator(".tag")).to_have_text("订阅通知")
    expect(card).to_contain_text("已通过")
    page.wait_for_timeout(2_500)                             # two more rounds of the inbox: nothing else comes
    expect(card).to_have_count(1)                            # one notice, no template message beside it
