"""Browser-test helpers: Debian's Chromium driven by Playwright, and what a player does in the Duel panel."""

from __future__ import annotations

import re
import shutil

from playwright.sync_api import Browser, Locator, Page, expect

from jupyter_duel_server.challenges import ChallengeLibrary

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())


VIEWPORT = {"width": 1280, "height": 800}


def player(browser: Browser, url: str, name: str, **context) -> Page:
    """A new isolated browser context (its own storage, as a second machine would have) with the panel open."""
    page = browser.new_context(viewport=VIEWPORT, **context).new_page()
    open_duel_panel(page, url, name)
    return page


def matched_pair(browser: Browser, url: str, first: str = "Alice", second: str = "Bob") -> tuple[Page, Page]:
    """Two players, each in a browser of their own, find an opponent and are matched: both see the duel."""
    pages = player(browser, url, first), player(browser, url, second)
    for page in pages:
        page.locator('[data-testid="duel-find"]').click()
    for page in pages:
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=30_000)
    return pages


def open_duel_panel(page: Page, url: str, name: str) -> None:
    page.goto(url)
    show_duel_panel(page)
    set_name(page, name)
    expect(page.locator('[data-testid="duel-me"]')).to_have_text(re.compile(name), timeout=20_000)
    expect(page.locator('[data-testid="duel-connection"]')).to_have_attribute("data-state", "connected")


def show_duel_panel(page: Page) -> None:
    """Open the Duel panel in the left sidebar (clicking its tab again would close it)."""
    tab = page.locator('.jp-SideBar [data-id="jupyter-duel-sidebar"]')
    tab.wait_for(timeout=60_000)
    # The splash screen goes once the layout is restored: only then is it known whether the panel is open.
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=60_000)
    if not page.locator("#jupyter-duel-sidebar").is_visible():
        tab.click()
    expect(page.locator("#jupyter-duel-sidebar")).to_be_visible()


def set_name(page: Page, name: str) -> None:
    """Type a display name in the Duel panel and apply it (what the service makes of it is up to the caller)."""
    name_input = page.locator('[data-testid="duel-name-input"]')
    name_input.fill(name)
    name_input.press("Enter")


def switch_theme(page: Page, theme: str, light: bool) -> None:
    """Pick a theme from JupyterLab's Settings menu and wait until it applies."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{theme}$")).click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", str(light).lower(), timeout=10_000)
    page.wait_for_timeout(800)  # the stylesheet applies (and charts redraw) before a picture is taken


def type_code(page: Page, code: str) -> None:
    editor = page.locator('[data-testid="duel-editor"] .cm-content')
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)


def challenge_on(page: Page):
    text = page.locator('[data-testid="duel-view"]').inner_text()
    matches = [c for c in LIBRARY.all() if c.title in text]
    assert len(matches) == 1, f"cannot tell the challenge from the duel view: {[c.id for c in matches]}"
    return matches[0]


def forfeit(page: Page) -> None:
    """Forfeit the running duel, confirming the dialog."""
    page.locator('[data-testid="duel-forfeit"]').click()
    page.locator(".jp-Dialog .jp-mod-warn", has_text="Forfeit").click()


def open_palette(page: Page, attempts: int = 4) -> Locator:
    """Open the command palette and return its search box."""
    search = page.locator(".lm-CommandPalette-input")
    for attempt in range(attempts):
        page.locator("#jp-main-dock-panel").click(position={"x": 5, "y": 5})
        # The click activates the tab under it, which then focuses its editor: a palette opened before that closes
        # again as the focus leaves it. On a loaded machine the focus can move later still, so open it again.
        page.wait_for_timeout(500 * (attempt + 1))
        page.keyboard.press("Control+Shift+C")
        try:
            expect(search).to_be_visible(timeout=5_000)
            page.wait_for_timeout(200)
            expect(search).to_be_visible(timeout=1_000)
            return search
        except AssertionError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def palette_labels(page: Page, query: str, shown: str) -> list[str]:
    """Open the command palette, search ``query`` and return the labels it lists once the search is applied (the
    item labelled ``shown`` is listed); the palette is closed again."""
    search = open_palette(page)
    search.fill(query)
    items = page.locator(".lm-CommandPalette-item .lm-CommandPalette-itemLabel")
    expect(items.filter(has_text=re.compile(f"^{re.escape(shown)}$"))).to_have_count(1, timeout=10_000)
    labels = items.all_inner_texts()
    page.keyboard.press("Escape")
    expect(search).to_be_hidden()
    return labels


def activate_tab(page: Page, label: str) -> None:
    """Bring the main-area tab whose title is ``label`` to the front."""
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=re.compile(f"^{re.escape(label)}$")).click()


def sample_lookup_code(challenge) -> str:
    """A solution that knows only the sample tests' answers: it passes the samples and (almost) nothing else."""
    table = {tuple(test.args): test.expected for test in challenge.samples}
    return f"def {challenge.function}(*args):\n    return {table!r}.get(args)\n"


# ---------------------------------------------------------------------------------------------- layout checks

#: Regions whose content scrolls sideways by design: code (``pre``), the history's battles table, the outline rows.
_HSCROLL_BY_DESIGN = "pre, .jp-DuelHistory-section.jp-mod-battles, .jp-DuelShape-rows, .cm-scroller"

#: Boxes an element of the Duel UI must stay inside (besides any element that clips or scrolls).
_CARDS = (
    ".jp-DuelCard, .jp-DuelBotOffer, .jp-DuelOffer, .jp-DuelResult, .jp-DuelOutcome, .jp-DuelAway,"
    " .jp-DuelView-column, .jp-DuelView-header, .jp-DuelView-resultsBox, .jp-DuelHistory-section,"
    " .jp-DuelHistory-header, .jp-DuelCountdown-box"
)

_OVERFLOWS = r"""([root, hscroll, cards]) => {
  const top = document.querySelector(root);
  if (!top) { return [`no ${root}`]; }
  const clips = el => getComputedStyle(el).overflowX !== 'visible';
  const describe = el => {
    const id = el.dataset && el.dataset.testid ? `[data-testid=${el.dataset.testid}]` : '';
    const cls = typeof el.className === 'string' ? el.className.trim().split(/\s+/).slice(0, 2).join('.') : '';
    return `${el.tagName.toLowerCase()}${id}${cls ? '.' + cls : ''}`;
  };
  const problems = [];
  for (const el of top.querySelectorAll('*')) {
    if (el.closest('.cm-editor') && !el.classList.contains('cm-editor')) { continue; }  // CodeMirror's own
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(el).position === 'fixed') { continue; }
    // The element's container: the nearest ancestor that clips or scrolls, or a card, else the root's parent.
    let container = el.parentElement;
    while (container && container !== top && !clips(container) && !container.matches(cards)) {
      container = container.parentElement;
    }
    if (!container) { continue; }
    if (clips(container) && container.matches(hscroll)) { continue; }  // scrolls sideways by design
    const outer = container.getBoundingClientRect();
    if (outer.width === 0) { continue; }
    if (box.left < outer.left - 1 || box.right > outer.right + 1) {
      problems.push(`${describe(el)} [${Math.round(box.left)}..${Math.round(box.right)}] outside ` +
        `${describe(container)} [${Math.round(outer.left)}..${Math.round(outer.right)}]`);
    }
  }
  return problems;
}"""


def horizontal_overflows(page: Page, root: str) -> list[str]:
    """The elements under ``root`` that stick out of their container sideways: the nearest ancestor that clips or
    scrolls, or the card they sit in (a region that scrolls sideways by design may hold wider content)."""
    return page.evaluate(_OVERFLOWS, [root, _HSCROLL_BY_DESIGN, _CARDS])


def assert_no_overflow(page: Page, *roots: str) -> None:
    for root in roots:
        problems = horizontal_overflows(page, root)
        assert not problems, f"{root}: " + "; ".join(problems[:10])


def box(locator) -> dict:
    """The element's bounding box (left, right, top, bottom, width, height), in CSS pixels."""
    return locator.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height}; }"
    )


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["top"] >= outer["top"] - slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


# ---------------------------------------------------------------------------------------------- colour contrast

_COLOURS = """el => {
  const text = getComputedStyle(el).color;
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    layers.push(getComputedStyle(node).backgroundColor);
  }
  return {text, layers};
}"""


def parse_colour(css: str) -> tuple[float, float, float, float]:
    """``rgb()``, ``rgba()`` or ``color(srgb ...)`` (what Chromium computes) as r, g, b in 0..1 and alpha."""
    css = css.strip()
    match = re.fullmatch(r"rgba?\(([^)]*)\)", css)
    if match:
        parts = [p for p in re.split(r"[\s,/]+", match.group(1)) if p]
        r, g, b = (float(p) / 255 for p in parts[:3])
        a = float(parts[3]) if len(parts) > 3 else 1.0
        return r, g, b, a
    match = re.fullmatch(r"color\(srgb ([^)]*)\)", css)
    if match:
        parts = [p for p in re.split(r"[\s/]+", match.group(1)) if p]
        r, g, b = (float(p) for p in parts[:3])
        a = float(parts[3]) if len(parts) > 3 else 1.0
        return r, g, b, a
    raise ValueError(f"cannot read the colour {css!r}")


def _over(top: tuple, bottom: tuple) -> tuple:
    """``top`` composited over the opaque ``bottom``."""
    a = top[3]
    return tuple(top[i] * a + bottom[i] * (1 - a) for i in range(3)) + (1.0,)


def _luminance(colour: tuple) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(locator) -> float:
    """The WCAG contrast ratio of the element's text colour against its effective background: its own and its
    ancestors' background colours composited from the page (white) up, the text colour over that."""
    colours = locator.evaluate(_COLOURS)
    background = (1.0, 1.0, 1.0, 1.0)
    for layer in reversed(colours["layers"]):
        background = _over(parse_colour(layer), background)
    text = _over(parse_colour(colours["text"]), background)
    lighter, darker = sorted((_luminance(text), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
