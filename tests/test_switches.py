"""A result on a reserve's switch: a TNAC next to a threshold warns, on the console and in the
report (issue 22, item 8).

One system A, MAC(a) = a, baselines of 100 Mt, caps of 80 Mt in 2030 and 2031 and an initial
bank of 20 Mt: 20 Mt to abate over two years, 10 a year at a price of 10 (banking equalises
it), so the bank at the end of 2030, the TNAC that triggers 2031's reserve, is
20 + 80 - (100 - 10) = 10 Mt. The reserve's rules start in 2031.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import etslink
from conftest import linear_case
from etslink.cli import main
from etslink.inputs.workbook import write_workbook
from etslink.outputs.switches import switch_margin

YEARS = (2030, 2031)
NEVER_MtCO2e = 1000.0  # an intake threshold the TNAC never reaches


def _tables(**rule) -> dict:
    """Return A's workbook with one msr row from 2031 (`rule` overrides its columns)."""
    row = {
        "system": "A",
        "first_year": 2031,
        "intake_threshold_MtCO2e": NEVER_MtCO2e,
        "intake_rate": 0.24,
        **rule,
    }
    tables = linear_case({"A": 1.0}, {"A": 20.0}, years=YEARS, msr=[row])
    tables["systems"][0]["initial_bank_MtCO2e"] = 20.0
    return tables


@pytest.mark.unit
def test_the_margin_is_a_percent_of_the_threshold_and_at_least_one_mt():
    assert switch_margin(400.0) == pytest.approx(4.0)  # the EU's release threshold
    assert switch_margin(833.0) == pytest.approx(8.33)
    assert switch_margin(9.5) == 1.0


@pytest.mark.solve
def test_a_tnac_next_to_the_release_threshold_warns_on_the_console_and_in_the_report(
    tmp_path, capsys
):
    """TNAC 10 is 0.5 above a release threshold of 9.5: no release (the reserve holds 2 Mt),
    but 0.6 less would release 2 Mt and cut the price from 10 to 9."""
    path = tmp_path / "switch.xlsx"
    write_workbook(
        path,
        _tables(release_threshold_MtCO2e=9.5, release_MtCO2e=5.0, initial_holdings_MtCO2e=2.0),
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    sentence = (
        "A 2031: the previous year's TNAC is 10.0 MtCO2e linked and 10.0 MtCO2e without "
        "links, within 1.0 MtCO2e of the release threshold of 9.5 MtCO2e; below it the "
        "reserve releases 2.0 MtCO2e, so a small change of the inputs can switch that release "
        "on or off, and prices and the gain from linking jump with it"
    )
    err = capsys.readouterr().err
    assert f"msr (release_threshold_MtCO2e): {sentence}. Fix: before relying on these " in err
    assert "release_threshold_MtCO2e at 8.5 and at 10.5 and put the runs side by side" in err
    assert "Traceback" not in err
    page = (out / "report.html").read_text()
    assert "The results sit on a switch of the reserve." in page
    escaped = sentence.replace("'", "&#39;")  # as jinja2 writes an apostrophe
    assert f"<li>{escaped}.</li>" in page
    result = etslink.run(path)
    assert result.results.price("linked", "A", 2031) == pytest.approx(10.0)
    assert result.msr.set_index(["case", "year"]).loc[
        ("linked", 2031), "tnac_previous_MtCO2e"
    ] == pytest.approx(10.0)
    assert [w for w in result.warnings if w.startswith("msr (release_threshold")] != []


@pytest.mark.solve
@pytest.mark.parametrize(
    ("rule", "warned"),
    [
        # 1.1 Mt from a release threshold of 8.9: outside the margin of 1 Mt
        (
            {
                "release_threshold_MtCO2e": 8.9,
                "release_MtCO2e": 2.0,
                "initial_holdings_MtCO2e": 2.0,
            },
            None,
        ),
        # 0.5 Mt, but the reserve holds nothing to release: no switch
        ({"release_threshold_MtCO2e": 9.5, "release_MtCO2e": 2.0}, None),
        # 0.2 Mt below an intake of 10% above 10.2, which would take in 1.02 Mt or more
        (
            {"intake_threshold_MtCO2e": 10.2, "intake_rate": 0.1},
            "within 1.0 MtCO2e of the intake threshold of 10.2 MtCO2e; above it the reserve "
            "takes in 1.0 MtCO2e or more",
        ),
        # capped at the excess, the intake starts from zero at its threshold: no jump
        (
            {"intake_threshold_MtCO2e": 10.2, "intake_rate": 0.1, "intake_capped_at_excess": "yes"},
            None,
        ),
    ],
)
def test_only_a_threshold_within_the_margin_that_switches_supply_warns(rule, warned):
    """Without an intake, the TNAC is 10 (an intake of 10% would make it a = (20 + 0.1 a) / 2,
    10.53, above 10.2 too: the market is in equilibrium either way, and etslink starts from
    no intake)."""
    result = etslink.run(_tables(**rule))
    switches = [w for w in result.warnings if w.startswith("msr (")]
    if warned is None:
        assert switches == []
        return
    (message,) = switches
    assert message.startswith(
        "msr (intake_threshold_MtCO2e): A 2031: the previous year's TNAC is 10.0 MtCO2e linked "
        f"and 10.0 MtCO2e without links, {warned}"
    )


@pytest.mark.solve
def test_a_tnac_exactly_on_the_threshold_warns():
    """With the intake threshold at 10, the TNAC lands on it: 10 without an intake is an
    equilibrium, and so is 10.53 with one. Whichever the run reports, it says so."""
    result = etslink.run(_tables(intake_threshold_MtCO2e=10.0, intake_rate=0.1))
    (message,) = [w for w in result.warnings if w.startswith("msr (")]
    assert "A 2031: the previous year's TNAC is 10." in message
    assert "within 1.0 MtCO2e of the intake threshold of 10.0 MtCO2e" in message


@pytest.mark.solve
def test_the_example_sits_on_no_switch(example_run: Path):
    """Its TNAC of 2024, 815 Mt, is 18 Mt below the capped intake's threshold of 833."""
    page = (example_run / "report.html").read_text()
    assert "sit on a switch" not in page
