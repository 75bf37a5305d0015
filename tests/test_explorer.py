"""The browser explorer in a real headless Chromium: load, step, change a lever, two sessions.

Debian's Chromium (/usr/bin/chromium) is required; `make test` installs it where it can (as root or
with sudo). Without it these tests fail with a message saying so, except for a user who could not
install it (no root, no sudo): then they are skipped, and the skip says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from hourglass.explorer.browser import (
    chromium,
    explorer_server,
    open_explorer,
    require_chromium,
    step,
)
from simulation.errors import HourglassError

pytestmark = pytest.mark.slow


def could_install() -> bool:
    """Whether ``make test`` could have installed Chromium (root, or sudo with no password)."""
    if os.geteuid() == 0:
        return True
    sudo = shutil.which("sudo")
    return sudo is not None and subprocess.run(
        [sudo, "-n", "true"], capture_output=True, check=False
    ).returncode == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        require_chromium()
    except HourglassError as error:
        if not could_install():
            pytest.skip(f"no root and no sudo, so no Chromium: {error}")
        pytest.fail(str(error))
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with explorer_server() as address:
        yield address


def images(page) -> list[bytes]:
    """Pixels of every figure on the page, in layout order."""
    figures = page.locator("img")
    return [figures.nth(i).screenshot() for i in range(figures.count())]


def status(page) -> str:
    return page.locator(".hourglass-status").inner_text()


def test_explorer_steps_levers_and_sessions(browser, url, tmp_path):
    first = open_explorer(browser, url)
    assert first.get_by_text("Hourglass explorer").first.is_visible()
    assert "scenario baseline" in status(first)
    # Every input section is offered: levers, the facilitator's choice and the tool mix.
    for label in ("lever: trust", "facilitator: selection", "tool: Site visits"):
        assert first.get_by_text(label, exact=True).count() == 1, label
    before = images(first)
    assert len(before) == 4  # hourglass, network, organisations, heat map

    step(first, 3)
    after = images(first)
    assert after[0] != before[0], "the hourglass must redraw after a step"
    assert after[1] != before[1], "the network must redraw after a step"

    # A second browser context is a second session with its own model at month 0.
    second = open_explorer(browser, url)
    assert "Month 0 of" in status(second)
    step(second, 1)
    assert "Month 1 of" in status(second)
    assert "Month 3 of" in status(first), "stepping one session moved the other's model"

    # Change a lever in the first session: trust to its maximum, then Reset rebuilds the model.
    slider = first.locator(".v-input", has_text="lever: trust").locator(
        ".v-slider__thumb-container"
    )
    slider.focus()
    slider.press("End")
    first.get_by_role("button", name="Reset").click()
    first.get_by_text("levers.trust = 1").wait_for(timeout=20_000)
    assert "Month 0 of" in status(first)
    assert "Changed from the scenario: none" in status(second), "a lever leaked across sessions"
    step(first, 3)
    assert after != images(first), "full trust should change what three months look like"

    # The heat map switches between trust and this month's contacts.
    heat = first.locator("img").nth(3)
    trust_map = heat.screenshot()
    first.get_by_role("button", name="contacts this month").click()
    first.wait_for_timeout(1500)
    assert heat.screenshot() != trust_map

    shot = tmp_path / "explorer.png"
    first.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000


# In-process checks of the pieces the page is made of (fast; no browser).


def test_inputs_cover_every_lever_tool_and_facilitator_choice():
    from hourglass.explorer.app import model_params
    from simulation import parameter_specs

    params = model_params("baseline")
    wanted = [
        name
        for name in parameter_specs()
        if name.split(".")[0] in ("levers", "tools", "facilitator")
    ]
    assert set(wanted) <= set(params)
    assert params["facilitator.selection"]["type"] == "Select"
    assert params["facilitator.selection"]["values"] == ["position", "matched"]
    assert params["levers.trust"]["type"] == "SliderFloat"
    assert params["scenario_name"] == "baseline"


def test_explorer_model_applies_overrides_and_ignores_mesa_scenario():
    from hourglass.explorer.app import ExplorerModel

    model = ExplorerModel(
        seed=3, scenario=object(), **{"levers.trust": 1.0, "levers.turnover": 0.15}
    )
    assert model.hourglass_scenario["levers.trust"] == 1.0
    assert model.overrides == {"levers.trust": 1.0}  # turnover equals the baseline's
    twin = ExplorerModel(seed=3, **{"levers.trust": 1.0})
    for _ in range(6):
        model.step()
        twin.step()
    assert model.observer.timeseries().equals(twin.observer.timeseries())


def test_figures_draw_at_month_zero_and_later():
    from hourglass.explorer import figures
    from hourglass.explorer.app import ExplorerModel

    model = ExplorerModel()
    layout = figures.peer_layout(model)
    assert layout.shape == (model.state.peers.n, 2)
    for month in (0, 2):
        while model.month < month:
            model.step()
        drawn = [
            figures.network_figure(model, layout),
            figures.hourglass_figure(model),
            figures.organisations_figure(model),
            *(figures.heatmap_figure(model, what) for what in figures.HEATMAPS),
        ]
        assert all(fig.axes for fig in drawn)
    assert (figures.peer_layout(model) == layout).all()  # fixed layout, no random draws
    with pytest.raises(ValueError, match="unknown"):
        figures.heatmap_figure(model, "gossip")


def test_explore_command_refuses_a_bad_port(capsys):
    from hourglass.cli import main

    assert main(["explore", "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err
