"""The web pages in a real headless Chromium against a real `callscope serve` (real model, real audio).

One server and one uploaded call for the module: sign in with a token, the call page's transcript
seeks the audio player, the evidence links seek, the manager overview and call search render,
a manager overrides an item, a rep sees their own call but not another rep's. Screenshots go to
tests/artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import soundfile

from tests.service_support import ROOT, Server, make_token, wait_status

SAMPLE = ROOT / "samples" / "zh-demo.stereo.flac"
CLIP_SECONDS = 40.5  # the first nine turns of zh-demo (greeting to budget and decision): half the ASR time
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TEAM = "华东销售一组"
REP_A, REP_B = "li.ming@example.com", "zhao.lei@example.com"



@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A running server with one analysed call by rep A on a CRM deal, and tokens for three people."""
    data_dir = tmp_path_factory.mktemp("web")
    tokens = {
        "manager": make_token(data_dir, "manager", "--team", TEAM, "--rep", "wang.jing@example.com"),
        "rep_a": make_token(data_dir, "rep", "--rep", REP_A, "--team", TEAM),
        "rep_b": make_token(data_dir, "rep", "--rep", REP_B, "--team", TEAM),
    }
    clip = data_dir / "zh-demo-start.stereo.flac"
    audio, rate = soundfile.read(SAMPLE, dtype="int16", always_2d=True)
    soundfile.write(clip, audio[: int(CLIP_SECONDS * rate)], rate, format="FLAC")
    server = Server(data_dir).start()
    try:
        with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {tokens['manager']}"},
                          timeout=60) as client:
            with clip.open("rb") as upload:
                answer = client.post("/api/v1/calls", files={"file": (clip.name, upload, "audio/flac")},
                                     data={"rep": REP_A, "deal": "CRM-2048", "title": "华信物流 · 仓储需求"})
            assert answer.status_code == 202, answer.text
            call_id = answer.json()["id"]
            status = wait_status(client, call_id, {"done", "failed"}, timeout=240)
            assert status["status"] == "done", status
            document = client.get(f"/api/v1/calls/{call_id}/analysis").json()
        yield {"base": server.base, "tokens": tokens, "call_id": call_id, "document": document, "clip": clip}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright import sync_api

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run tests/prepare_machine.sh"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in(browser, site: dict, who: str, lang: str | None = None):  # noqa: ANN001, ANN201 - playwright types
    """A fresh browser context signed in through the sign-in form as `who`."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=site["base"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.errors = errors
    page.goto("/login" + (f"?lang={lang}" if lang else ""))
    page.fill("#token", site["tokens"][who])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    return page


def test_sign_in_sets_an_httponly_cookie_and_a_bad_token_is_refused(browser, site: dict) -> None:
    context = browser.new_context(base_url=site["base"])
    page = context.new_page()
    page.goto("/calls")
    assert "/login" in page.url  # not signed in: sent to sign in, and back afterwards
    page.fill("#token", "cs_not-a-real-token")
    page.click("form[action='/login'] button[type=submit]")
    assert page.locator(".alert").is_visible()
    assert not [c for c in context.cookies() if c["name"] == "callscope_token"]
    page.fill("#token", site["tokens"]["manager"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/calls")
    cookie = next(c for c in context.cookies() if c["name"] == "callscope_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("callscope_token") < 0  # scripts cannot read it
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")
    assert not [c for c in context.cookies() if c["name"] == "callscope_token"]
    context.close()


def test_clicking_a_transcript_line_seeks_the_player_to_that_turn(browser, site: dict) -> None:
    page = signed_in(browser, site, "manager")
    page.goto(f"/calls/{site['call_id']}")
    segments = site["document"]["segments"]
    turns = page.locator("#turns .turn")
    assert turns.count() == len(segments) >= 4
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=20000)
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(
        site["document"]["duration"], abs=1.0)

    target = len(segments) // 2
    turns.nth(target).click()
    start = segments[target]["start"]
    page.wait_for_function("document.getElementById('player').seeking === false")
    now = page.evaluate("document.getElementById('player').currentTime")
    assert start - 0.05 <= now <= start + 1.5, (now, start)
    assert "current" in (turns.nth(target).get_attribute("class") or "")
    page.evaluate("document.getElementById('player').pause()")
    page.screenshot(path=str(ARTIFACTS / "web-call.png"), full_page=True)

    # a scorecard evidence link seeks to its moment too
    evidence = page.locator(".scorecard .evidence button.seek")
    assert evidence.count() >= 1
    moment = float(evidence.last.get_attribute("data-seek"))
    evidence.last.click()
    page.evaluate("document.getElementById('player').pause()")
    now = page.evaluate("document.getElementById('player').currentTime")
    assert now == pytest.approx(moment, abs=1.5)

    # the timeline draws one bar per turn, coloured by role
    assert page.locator(".tl-bar.rep").count() + page.locator(".tl-bar.customer").count() == len(segments)
    assert page.errors == []
    page.context.close()


def test_manager_overview_and_chinese_search_render(browser, site: dict) -> None:
    page = signed_in(browser, site, "manager")
    page.goto("/overview")
    assert page.locator("[data-kpi=calls-week]").inner_text().strip() == "1"
    assert page.locator("svg.trend circle.dot").count() == 1
    assert page.locator("text=团队总览").first.is_visible()
    assert page.locator(f"#recent a[href='/calls/{site['call_id']}']").count() == 1
    page.screenshot(path=str(ARTIFACTS / "web-overview.png"), full_page=True)

    # the deal's 1-15-30 clocks, reached from the call page
    page.goto(f"/calls/{site['call_id']}")
    page.click("a[href='/deals/CRM-2048']")
    assert page.locator(".clocks .kpi").count() == 3
    assert page.locator(f"tr.call-row a[href='/calls/{site['call_id']}']").count() == 1
    page.screenshot(path=str(ARTIFACTS / "web-deal.png"), full_page=True)

    # a word the customer said, searched in Chinese, finds the call and marks the words
    said = " ".join(s["text"] for s in site["document"]["segments"])
    word = next(w for w in ("预算", "仓库", "发错货", "拍板") if w in said)
    page.goto(f"/calls?q={word}")
    rows = page.locator("tr.call-row")
    assert rows.count() == 1
    assert word in page.locator(".snippet mark").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "web-calls-search.png"), full_page=True)
    page.goto("/calls?q=完全不相干的词语组合")
    assert page.locator("tr.call-row").count() == 0

    page.goto("/calls?lang=en")
    assert page.locator(".mainnav").inner_text().find("Calls") >= 0
    page.goto("/overview")  # the choice is remembered
    assert page.locator("h1").inner_text() == "Team overview"
    page.screenshot(path=str(ARTIFACTS / "web-overview-en.png"), full_page=True)
    page.context.close()


def test_manager_overrides_an_item_and_comments(browser, site: dict) -> None:
    page = signed_in(browser, site, "manager")
    page.goto(f"/calls/{site['call_id']}")
    item = site["document"]["scorecard"]["items"][0]
    row = page.locator(f"#item-{item['id']}")
    row.locator("summary").click()
    row.locator("select[name=verdict]").select_option("fail" if item["passed"] else "pass")
    row.locator("input[name=reason]").fill("复核录音后调整")
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "已由" in page.locator(f"#item-{item['id']}").inner_text()
    assert "复核录音后调整" in page.locator(".audit").inner_text()
    page.fill("#comment-form textarea", "开场很好，预算问得自然。")
    page.click("#comment-form button[type=submit]")
    page.wait_for_load_state()
    assert "开场很好" in page.locator(".comments").inner_text()
    page.context.close()


def test_uploading_the_same_recording_again_opens_the_existing_call(browser, site: dict) -> None:
    page = signed_in(browser, site, "manager")
    page.goto("/upload")
    page.set_input_files("input[name=file]", str(site["clip"]))
    page.select_option("select[name=rep]", label=f"{REP_A.split('@')[0]} · {REP_A}")
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(f"**/calls/{site['call_id']}")
    assert page.locator("#turns .turn").count() == len(site["document"]["segments"])
    page.context.close()


def test_a_rep_sees_their_own_call_but_not_another_reps(browser, site: dict) -> None:
    own = signed_in(browser, site, "rep_a")
    assert "/reps/" in own.url  # a rep lands on their own evaluation
    assert own.locator(f"a[href='/calls/{site['call_id']}']").count() >= 1
    own.screenshot(path=str(ARTIFACTS / "web-rep.png"), full_page=True)
    own.goto(f"/calls/{site['call_id']}")
    assert own.locator("#turns .turn").count() == len(site["document"]["segments"])
    assert own.locator("details.override").count() == 0  # reps cannot change scores
    own.context.close()

    other = signed_in(browser, site, "rep_b")
    answer = other.goto(f"/calls/{site['call_id']}")
    assert answer.status == 404
    assert other.locator("#turns").count() == 0
    other.goto("/calls")
    assert other.locator("tr.call-row").count() == 0
    answer = other.goto("/overview")
    assert "/reps/" in other.url  # reps have no team overview
    other.context.close()



def test_api_docs_render_offline_from_packaged_assets(browser, site: dict) -> None:
    """/docs is Swagger UI from the swagger-ui-bundle package: every request stays on this server."""
    context = browser.new_context(base_url=site["base"])
    page = context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(site["base"]) or
            request.url.startswith("data:") else elsewhere.append(request.url))
    page.goto("/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/calls" in p for p in paths)
    assert not elsewhere, elsewhere
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    context.close()
