"""The output sheets of `results.xlsx`, documented from the instruments' declarations.

`python -m etslink.outputs.sheets > docs/workbook.md` writes the workbook reference: the
input sheets (inputs/schema.py) and these output sheets, whose `balances` and `costs`
columns and `shadow_prices` restrictions are those the instruments declare. A test runs
workbooks and fails when one writes a sheet, column or restriction not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from etslink.formulation import BALANCE_COLUMNS, COST_ITEMS, HELD, RESTRICTIONS
from etslink.inputs.schema import input_reference, markdown_table

RESTRICTION_NAMES = (*(r.name for r in RESTRICTIONS), *(h.restriction for h in HELD))
"""Every name the `restriction` column of `shadow_prices` can hold."""


def _compliance_cost() -> str:
    """Return the compliance cost as the signed sum of the cost items, in words."""
    terms = [("- " if item.sign < 0 else "+ ") + item.name for item in COST_ITEMS]
    return " ".join(terms).removeprefix("+ ")


@dataclass(frozen=True)
class OutputSheet:
    """One sheet of `results.xlsx`: its meaning and its columns (name, meaning)."""

    name: str
    doc: str
    columns: tuple[tuple[str, str], ...]


_CASE = (
    "case",
    "`linked` (the workbook as it is) or `autarky` (every `links` row removed); with links "
    "marked `in_counterfactual`, `counterfactual` (only those links kept) instead of `autarky`, "
    "here and in every `<case>_` column of `gains`",
)
OUTPUT_SHEETS: tuple[OutputSheet, ...] = (
    OutputSheet(
        "prices",
        "Allowance price per system and year.",
        (
            _CASE,
            ("system", "system id"),
            ("year", "year"),
            (
                "price_<CUR>_per_tCO2e",
                "allowance price in that year's money: the dual of the "
                "system-year's allowance balance (E11)",
            ),
        ),
    ),
    OutputSheet(
        "balances",
        "Where each system's compliance comes from, per year (MtCO2e): a column per "
        "instrument's part of the allowance balance (E11).",
        (
            _CASE,
            ("system", "system id"),
            ("year", "year"),
            *((column.name, column.doc) for column in BALANCE_COLUMNS),
            ("surplus_MtCO2e", "allowances neither surrendered nor banked (they expire)"),
        ),
    ),
    OutputSheet(
        "transfers",
        "Allowances moved along links, one row per direction and year (linked case only).",
        (
            _CASE,
            ("from_system", "system whose allowances move"),
            ("to_system", "system that surrenders them"),
            ("year", "year"),
            ("quantity_MtCO2e", "allowances moved, in from_system allowances"),
            ("exchange_rate", "tonnes of compliance in to_system per from_system allowance"),
            ("compliance_MtCO2e", "quantity * exchange_rate"),
            ("payment_M<CUR>", "quantity * from_system's price: what to_system's firms pay"),
        ),
    ),
    OutputSheet(
        "costs",
        "Cost of compliance per system and year, in that year's money.",
        (
            _CASE,
            ("system", "system id"),
            ("year", "year"),
            *((f"{item.name}_M<CUR>", item.doc) for item in COST_ITEMS),
            ("compliance_cost_M<CUR>", _compliance_cost()),
            ("compliance_cost_pv_M<CUR>", "the same, discounted to base_year"),
            ("discount_factor", "(1 + discount_rate)^-(year - base_year)"),
        ),
    ),
    OutputSheet(
        "gains",
        "Per system: discounted cost items in each case, the gain from "
        "linking and the money paid abroad (`<case>` is linked or autarky).",
        (
            ("system", "system id"),
            ("<case>_compliance_cost_pv_M<CUR>", "sum over years of costs.compliance_cost_pv"),
            (
                "<case>_allowance_imports_pv_M<CUR>",
                "paid for other systems' allowances, discounted",
            ),
            ("<case>_allowance_exports_pv_M<CUR>", "received for allowances sold, discounted"),
            ("<case>_offset_purchases_pv_M<CUR>", "paid for offset credits, discounted"),
            ("<case>_paid_abroad_pv_M<CUR>", "allowance imports + offset purchases"),
            (
                "<case>_border_adjustments_paid_pv_M<CUR>",
                "with border adjustments: what the system's exporters pay at other systems' "
                "borders, discounted (not a compliance cost, so not in the gain)",
            ),
            (
                "<case>_border_adjustments_revenue_pv_M<CUR>",
                "with border adjustments: what the system collects at its border, discounted",
            ),
            ("gain_from_linking_pv_M<CUR>", "autarky - linked compliance cost"),
            ("gain_percent_of_autarky_cost", "gain as a percentage of the autarky cost"),
        ),
    ),
    OutputSheet(
        "gains_by_year",
        "The gains sheet year by year, for windows (e.g. 2028-2035) and undiscounted sums.",
        (
            ("system", "system id"),
            ("year", "year"),
            ("<case>_compliance_cost_M<CUR>", "costs.compliance_cost of the second case"),
            ("linked_compliance_cost_M<CUR>", "costs.compliance_cost of the linked case"),
            ("gain_from_linking_M<CUR>", "the difference, in that year's money"),
            ("gain_from_linking_pv_M<CUR>", "the same discounted; its sum is gains' gain"),
            ("linked_paid_abroad_M<CUR>", "allowance imports and credit purchases, linked"),
        ),
    ),
    OutputSheet(
        "shadow_prices",
        "Every binding restriction with its shadow price, so that "
        "every price gap between linked systems is explained by a number.",
        (
            _CASE,
            ("restriction", ", ".join(RESTRICTION_NAMES)),
            ("system", "the system the restriction belongs to (exporter for transfer limits)"),
            ("counterpart", "the other system, or the offset type"),
            ("year", "year"),
            ("level_MtCO2e", "the restricted quantity at the solution"),
            (
                "shadow_price_<CUR>_per_tCO2e",
                "value of relaxing the restriction by one tonne, in "
                "that year's money (for price_floor/price_ceiling: the price they hold)",
            ),
            ("meaning", "what the number means, in words"),
        ),
    ),
    OutputSheet(
        "offset_prices",
        "Market price of each credit type and year.",
        (
            _CASE,
            ("offset_type", "credit type"),
            ("year", "year"),
            ("price_<CUR>_per_tCO2e", "dual of the credit market balance (E6)"),
        ),
    ),
    OutputSheet(
        "offset_use",
        "Credits each system surrenders, per credit type and year.",
        (
            _CASE,
            ("system", "system id"),
            ("offset_type", "credit type"),
            ("year", "year"),
            ("quantity_MtCO2e", "credits surrendered"),
            ("payment_M<CUR>", "quantity * the credit market price"),
        ),
    ),
    OutputSheet(
        "msr",
        "The reserve's operations per system and year (workbooks with an msr sheet only), at "
        "the market equilibrium.",
        (
            _CASE,
            ("system", "system id"),
            ("year", "year"),
            ("tnac_previous_MtCO2e", "the previous year's TNAC: the bank at its end"),
            ("intake_MtCO2e", "allowances taken into the reserve from this year's cap"),
            ("release_MtCO2e", "allowances released from the reserve"),
            ("invalidated_MtCO2e", "reserve holdings above the limit, cancelled"),
            ("holdings_MtCO2e", "what the reserve holds at the end of the year"),
        ),
    ),
    OutputSheet(
        "intensity",
        "Intensity-based system-years (workbooks with an intensity sheet only): the output "
        "the market chose and what it implies.",
        (
            _CASE,
            ("system", "system id"),
            ("year", "year"),
            ("output_Munits", "output Q, million units"),
            ("allowances_issued_MtCO2e", "benchmark x Q"),
            ("emissions_MtCO2e", "intensity x Q - abatement"),
        ),
    ),
    OutputSheet(
        "border_adjustments",
        "What each border adjustment charges (workbooks with a border_adjustments sheet "
        "only), at the case's prices; it does not change them.",
        (
            _CASE,
            ("importer", "the system that charges"),
            ("origin", "where the goods come from (a system or a region)"),
            ("year", "year"),
            ("embedded_MtCO2e", "emissions embedded in the covered imports"),
            (
                "charge_<CUR>_per_tCO2e",
                "phase_in x max(0, importer's price - origin's price where deducted), in "
                "that year's money; 0 when exempt",
            ),
            ("paid_M<CUR>", "embedded_MtCO2e x charge: paid by the origin's exporters"),
            (
                "exempt_linked",
                "yes: the importer and the origin are directly linked that year and the row "
                "exempts linked partners",
            ),
        ),
    ),
    OutputSheet(
        "fit",
        "The model held against what the markets did (workbooks with an observed sheet "
        "only): each `observed` row within the model's years beside the linked case's "
        "figure.",
        (
            ("system", "system id"),
            ("year", "year"),
            ("quantity", "price, emissions, bank or msr_intake (as on sheet observed)"),
            ("unit", "<CUR> per tCO2e for a price (money of the year), else MtCO2e"),
            ("observed", "the observed figure"),
            (
                "model",
                "the linked case's figure: prices.price, balances.emissions_MtCO2e, "
                "balances.bank_end_MtCO2e or msr.intake_MtCO2e (0 without a reserve)",
            ),
            ("difference", "model / observed - 1 (blank where 0 was observed)"),
            ("weight", "the row's weight in `etslink calibrate`"),
            ("source", "where the observed figure comes from"),
        ),
    ),
    OutputSheet(
        "run",
        "The run record (same content as run.json): the input file and its SHA-256, the "
        "command, the versions, per case the solver's `status`, `termination`, `stage_two` "
        "(the second stage's status: `optimal`, `not needed`, or HiGHS's termination if it "
        "failed), objective, time and options, and the time of each stage [s].",
        (
            ("item", "dotted name, e.g. versions.highs"),
            ("value", "its value"),
        ),
    ),
)


def render_markdown() -> str:
    """Return docs/workbook.md: every input sheet and column, and every output sheet."""
    lines = input_reference()
    lines += [
        "",
        "## Output sheets of `results.xlsx`",
        "",
        "`<CUR>` is the workbook's currency. Money of a year is undiscounted unless the "
        "column name says `pv` (present value in base_year money).",
    ]
    for out in OUTPUT_SHEETS:
        lines += ["", f"### `{out.name}`", "", out.doc, ""]
        lines += markdown_table(
            ("column", "meaning"), [(f"`{name}`", doc) for name, doc in out.columns]
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_markdown())
