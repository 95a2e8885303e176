"""Every input sheet: the workbook's own, each instrument's (instruments/), the workflows'.

This module is the one source for the workbook reader, the validator, the template
workbook and `docs/workbook.md`. It follows `workbook-contract.md`. The sheets of an
instrument are declared in its module, with its checks.
"""

from __future__ import annotations

from etslink.core.sheet import (
    NO_WORDS,
    YES_WORDS,
    Column,
    Sheet,
    announced_column,
    first_last_columns,
    system_column,
    year_column,
)
from etslink.instruments import INSTRUMENTS
from etslink.instruments.links import LINKS

SETTINGS_KEYS: tuple[Column, ...] = (
    Column("scenario_name", "text", "Label used in outputs.", default_doc="workbook file name"),
    Column(
        "currency",
        "text",
        "Currency code used in output column names, e.g. EUR, USD.",
        default="EUR",
    ),
    Column(
        "base_year", "year", "Year to which costs are discounted.", default_doc="first model year"
    ),
    Column(
        "discount_rate",
        "number",
        "Discount rate per year as a fraction (5% = 0.05).",
        unit="1/year",
        default=0.0,
        minimum=0.0,
        maximum=0.5,
    ),
    Column(
        "draws",
        "integer",
        "Number of draws of `etslink sweep`.",
        default=100,
        minimum=1,
        maximum=100_000,
    ),
    Column(
        "seed",
        "integer",
        "Base seed of `etslink sweep`; draw i uses the seed (seed, i).",
        default=0,
        minimum=0,
    ),
    Column(
        "foresight_years",
        "integer",
        "Limited foresight: the years are decided one at a time, each plan seeing this many "
        "years (allowances banked past its last year are worth nothing in it); blank = "
        "perfect foresight over all years.",
        unit="years",
        default_doc="perfect foresight",
        minimum=1,
    ),
    Column(
        "transfer_timing",
        "choice",
        "When allowances cross a border where the least-cost plan leaves it open (linked "
        "systems with banking): earliest = surrendered abroad as soon as the plan allows (the "
        "exporter's bank stays small); latest = each system banks its own allowances and they "
        "move when needed. Prices and the present value of costs do not depend on it, except "
        "through a reserve (sheet msr), which reads each system's own bank.",
        default="earliest",
        choices=("earliest", "latest"),
    ),
)

SETTINGS = Sheet(
    "settings",
    "One row per setting: `key` names the setting, `value` holds it.",
    (
        Column("key", "text", "Setting name (see the table of keys).", required=True),
        Column("value", "text", "Setting value."),
    ),
    required=True,
    key=("key",),
    examples=(
        ("scenario_name", "template"),
        ("currency", "EUR"),
        ("base_year", 2030),
        ("discount_rate", 0.05),
        ("draws", 100),
        ("seed", 0),
    ),
)

SYSTEMS = Sheet(
    "systems",
    "One row per emissions trading system.",
    (
        Column("system", "text", "Short unique id, e.g. EU, CH, CA, QC.", required=True),
        Column("name", "text", "Display name.", default_doc="the id"),
        Column(
            "banking",
            "yesno",
            "Unused allowances may be carried to the system's next year.",
            default="yes",
            choices=("yes", "no"),
        ),
        Column(
            "borrowing_limit_MtCO2e",
            "number",
            "How far the bank may go below zero (borrowing from future years).",
            unit="MtCO2e",
            default=0.0,
            minimum=0.0,
        ),
        Column(
            "initial_bank_MtCO2e",
            "number",
            "Allowances banked before the first model year.",
            unit="MtCO2e",
            default=0.0,
            minimum=0.0,
        ),
        Column(
            "cap_type",
            "choice",
            "absolute: a fixed cap per year (sheet emissions); intensity: allowances issued "
            "per unit of output (a tradable performance standard such as China's national "
            "ETS) in the years of sheet intensity, the cap of sheet emissions in its other "
            "years.",
            default="absolute",
            choices=("absolute", "intensity"),
        ),
    ),
    required=True,
    key=("system",),
    examples=(
        ("A", "System A", "yes", 0, 0, "absolute"),
        ("B", "System B", "yes", 0, 0, "absolute"),
    ),
)

EMISSIONS = Sheet(
    "emissions",
    "One row per system and year; a system takes part in exactly the years it has rows for.",
    (
        system_column(),
        year_column(),
        Column(
            "baseline_MtCO2e",
            "number",
            "Emissions with no carbon price.",
            unit="MtCO2e",
            default_doc="required; for an intensity year: intensity x output baseline",
            minimum=0.0,
            header_required=True,
        ),
        Column(
            "cap_MtCO2e",
            "number",
            "Allowances issued that year.",
            unit="MtCO2e",
            default_doc="required; blank for an intensity year (benchmark x output)",
            minimum=0.0,
            header_required=True,
        ),
        announced_column("this row's baseline and cap"),
    ),
    required=True,
    key=("system", "year", "announced_year"),
    examples=(("A", 2030, 100, 90, None), ("B", 2030, 100, 80, None)),
)


STATUS_QUO = "status quo"
"""The id of explore's combination without candidates; no candidate may take it."""
COMBINATION_SEPARATOR = " + "
"""What joins candidate ids into a combination's id; no candidate id may hold it."""

CANDIDATE_LINKS = Sheet(
    "candidate_links",
    "A link that `etslink explore` tries on top of the workbook's own links (read by "
    "`explore`, ignored by `run`). Rows with the same `candidate` form one candidate (e.g. a "
    "link whose limit changes over time). Without this sheet, `explore` tries every pair of "
    "systems that are not directly linked and share a year, as an unrestricted two-way "
    "link at rate 1.",
    (
        Column(
            "candidate",
            "text",
            "Id of the candidate, used in the outputs; rows with the same id are tried together.",
            default_doc="FROM-TO",
        ),
        Column(
            "design_of",
            "text",
            "Candidates with the same label are alternative designs of one link (e.g. start "
            "years, limits or fees of EU-UK): never combined with each other, they may link "
            "the same pair; the report ranks them side by side.",
            default_doc="blank: a link of its own",
        ),
        *LINKS.columns,
    ),
)


UNCERTAIN_PARAMETERS = (
    "baseline",
    "cap",
    "mac_slope",
    "mac_intercept",
    "step_cost",
    "offset_supply",
    "offset_price",
    "benchmark",
    "output_baseline",
)
OFFSET_PARAMETERS = ("offset_supply", "offset_price")
INTENSITY_PARAMETERS = ("benchmark", "output_baseline")
"""Uncertain inputs of sheet intensity: they target intensity-based systems only."""

UNCERTAINTY = Sheet(
    "uncertainty",
    "One row per uncertain input, read by `etslink sweep` and ignored by `run`. Each draw "
    "perturbs the input value the row names.",
    (
        Column(
            "parameter",
            "choice",
            "Which input is uncertain. benchmark and output_baseline are the columns "
            "benchmark_tCO2e_per_unit and output_baseline_Munits of sheet intensity (a drawn "
            "output baseline moves the year's baseline, intensity x output baseline, with it).",
            required=True,
            choices=UNCERTAIN_PARAMETERS,
        ),
        Column(
            "target",
            "text",
            "A system id (an offset type for offset_supply and offset_price; an "
            "intensity-based system for benchmark and output_baseline, which move its "
            "years on sheet intensity), or * for all.",
            required=True,
        ),
        *first_last_columns("the row applies"),
        Column(
            "distribution",
            "choice",
            "Distribution of the draw.",
            required=True,
            choices=("normal", "lognormal", "uniform", "triangular"),
        ),
        Column(
            "apply",
            "choice",
            "add: value + draw (in the parameter's unit); scale: value * draw.",
            default="add",
            choices=("add", "scale"),
        ),
        Column(
            "mean",
            "number",
            "Mean of the draw (normal) or of its logarithm (lognormal).",
            default_doc="0 for add, 1 for scale (lognormal: 0)",
        ),
        Column(
            "sd",
            "number",
            "Standard deviation of the draw (normal) or of its logarithm (lognormal).",
            minimum=0.0,
            default_doc="required for normal and lognormal",
        ),
        Column(
            "low",
            "number",
            "Lowest draw (uniform, triangular).",
            default_doc="required for uniform and triangular",
        ),
        Column(
            "high",
            "number",
            "Highest draw (uniform, triangular).",
            default_doc="required for uniform and triangular",
        ),
        Column(
            "mode",
            "number",
            "Most likely draw (triangular).",
            default_doc="required for triangular",
        ),
        Column(
            "group",
            "text",
            "Rows with the same label share one random number per draw "
            "(perfect correlation); blank: independent, and each year draws anew.",
            default_doc="blank",
        ),
    ),
    examples=(("cap", "A", 2030, 2030, "normal", "scale", 1, 0.05, None, None, None, "caps"),),
)


FORESIGHT = Sheet(
    "foresight",
    "How far the market looks ahead, per system and over time: plans made from first_year "
    "on use a horizon of `years` for the system (or every system, *). It overrides the "
    "settings key foresight_years where it applies; a system and year it does not cover "
    "keeps that setting. Linked systems (directly or through shared credits) must look "
    "equally far in every year.",
    (
        Column(
            "system",
            "text",
            "System id, as on sheet systems, or * for every system.",
            required=True,
        ),
        Column("first_year", "year", "First year whose plan uses this horizon.", required=True),
        Column(
            "years",
            "integer",
            "Years each plan sees, its own year included (1: each year alone).",
            unit="years",
            required=True,
            minimum=1,
        ),
    ),
    key=("system", "first_year"),
    examples=(("*", 2030, 3),),
)

OBSERVED_QUANTITIES = ("price", "emissions", "bank", "msr_intake")
"""What an `observed` row may hold: see `OBSERVED`."""

OBSERVED = Sheet(
    "observed",
    "What a market did, to hold the model against: one row per system, year and quantity. "
    "`etslink run` writes the model's figure next to each (results.xlsx sheet `fit`, a "
    "chart per system in the report).",
    (
        system_column(),
        year_column(),
        Column(
            "quantity",
            "choice",
            "price: the average allowance price of the year; emissions: verified emissions; "
            "bank: the allowances banked at the end of the year (the EU's TNAC); "
            "msr_intake: the reserve's intake that the previous year's TNAC triggers (the "
            "EU's from September of the year to August of the next).",
            required=True,
            choices=OBSERVED_QUANTITIES,
        ),
        Column(
            "value",
            "number",
            "The observed figure: a price in the workbook's currency per tCO2e (money of the "
            "year, at the exchange rates used for the workbook's other prices), a quantity "
            "in MtCO2e.",
            unit="CUR per tCO2e or MtCO2e",
            required=True,
            minimum=0.0,
        ),
        Column(
            "weight",
            "number",
            "How much the row counts in `etslink calibrate`; 0 = shown but not fitted.",
            default=1.0,
            minimum=0.0,
        ),
        Column("source", "text", "Where the figure comes from.", default_doc="blank"),
    ),
    key=("system", "year", "quantity"),
    examples=(("A", 2030, "price", 40, 1, "assumed"),),
)

CALIBRATED_PARAMETERS = ("mac_scale", "baseline_scale", "foresight_years")
"""What `etslink calibrate` fits: see `CALIBRATION`."""
SCALES = ("mac_scale", "baseline_scale")
"""The calibrated parameters that multiply cells of the workbook (factors, initial 1)."""

CALIBRATION = Sheet(
    "calibration",
    "The free parameters `etslink calibrate` fits to the observed rows with weight > 0, one "
    "row each; ignored by the other commands.",
    (
        Column(
            "parameter",
            "choice",
            "mac_scale: multiplies every cost of the target's abatement options (the linear "
            "slope and intercept, every step's cost); baseline_scale: multiplies the target's "
            "baselines; foresight_years: the horizon of the market's plans (settings "
            "foresight_years), tried as every whole number from lower to upper.",
            required=True,
            choices=CALIBRATED_PARAMETERS,
        ),
        Column(
            "target",
            "text",
            "The system the parameter applies to, or several joined by + (e.g. CA+QC), which "
            "share one value; * = every system. foresight_years applies to every system "
            "(target *).",
            required=True,
        ),
        Column(
            "lower",
            "number",
            "Smallest value allowed.",
            default_doc="none (required for foresight_years)",
            minimum=0.0,
        ),
        Column(
            "upper",
            "number",
            "Largest value allowed.",
            default_doc="none (required for foresight_years)",
            minimum=0.0,
        ),
        Column(
            "initial",
            "number",
            "Where the search starts.",
            default_doc="1 for factors; lower for foresight_years",
            exclusive_minimum=True,
            minimum=0.0,
        ),
    ),
    key=("parameter", "target"),
    examples=(("mac_scale", "A", 0.2, 5, 1),),
)

WORKBOOK_SHEETS: tuple[Sheet, ...] = (SETTINGS, SYSTEMS, EMISSIONS)
"""The sheets of the workbook as a whole: its settings, its systems and their years."""
WORKFLOW_SHEETS: tuple[Sheet, ...] = (
    CANDIDATE_LINKS,
    FORESIGHT,
    UNCERTAINTY,
    OBSERVED,
    CALIBRATION,
)
"""The sheets that workflows and solving read: explore, limited foresight, sweep, calibrate."""
SHEETS: tuple[Sheet, ...] = (
    *WORKBOOK_SHEETS,
    *(spec for instrument in INSTRUMENTS for spec in instrument.sheets),
    *WORKFLOW_SHEETS,
)
"""Every input sheet, in template and docs order: the workbook's, each instrument's, the
workflows'."""
ANNOUNCED: tuple[str, ...] = tuple(
    spec.name
    for spec in SHEETS
    if any(c.name == "announced_year" and not c.refused for c in spec.columns)
)
"""Sheets whose rows may carry `announced_year`: rules announced later (emissions, msr)."""


def sheet(name: str) -> Sheet:
    """Return the sheet called `name`."""
    return next(s for s in SHEETS if s.name == name)


DECISIONS: tuple[str, ...] = (
    "Errors, not guesses: a contract sheet that is hidden, a hidden row that holds data or a "
    "hidden column that is read (.xlsx; not yet detected in .ods), merged cells in a table, a "
    "blank "
    "row with data below it, a formula with no stored value, a number typed where an id is "
    'expected (e.g. 2030 in `system`), and text in a number cell ("1,5", "1 000", '
    '"12 Mt") are each reported with the cell and a fix; every problem is listed at once '
    "(at most 50). A cap above the baseline where the surplus cannot be banked (no banking, "
    "or the system's last year), a system with no abatement options and a "
    "system with banking that skips years (its bank passes over years that are not "
    "modelled) are warnings: the run goes on.",
    "Workbooks may be .xlsx (Excel) or .ods (LibreOffice Calc, OpenDocument): both are "
    "read with the same checks and give the same cell references in messages. .xls, .xlsb "
    "and .csv files are refused with a fix (save as .xlsx or .ods); `etslink template` "
    "writes .xlsx.",
    "An optional sheet left empty (no header and no rows) reads as absent; a required sheet "
    "left empty is an error.",
    "Names that are almost right are errors, not silently dropped data: a sheet whose name "
    "is a near miss of a contract sheet the workbook lacks (e.g. link), a header that is a "
    "near miss of a column the sheet lacks (e.g. max_transfer_MtC02e), two sheets of one name "
    "(links and Links) and a header that appears twice. Other sheets (README, notes) are "
    "listed in one warning and not read.",
    "A system with an msr reserve must bank (the reserve is triggered by its bank, the "
    "TNAC). Rows of one system may change the reserve's rules over time but not overlap. "
    "Where two linked systems both bank, prices do not say which holds the bank; each "
    "system's TNAC is then that of the smallest transfers, the choice reported for the "
    "transfers, and among equal totals that of the earliest transfers (setting "
    "`transfer_timing`: `latest` for the other bound), so that one linked group's choice "
    "does not depend on the rest of the model (docs/formulation.md: the smallest "
    "transfers, E14, and a reserve's supply, E15).",
    "Unused allowances of a system with banking are carried to its next year and do not "
    "vanish before its last year, so the bank (TNAC) is known even where the price is zero.",
    "A blank `max_abatement_MtCO2e` on `mac_linear` is the baseline less the stepwise "
    "options' quantities of the same system-year, so the default never exceeds the baseline.",
    "A link is active in the years both systems have rows for on `emissions`, within "
    "`first_year`-`last_year`. An offset rule applies in the system's years within its "
    "`first_year`-`last_year`, and only in years with supply on `offsets`.",
    "Two rows may not link the same pair in the same direction in overlapping years (a "
    "two-way row covers both directions); rows for different years let a link change its "
    "limit or exchange rate over time. Offset rules work the same way.",
    "A transfer is paid at the exporting system's price, per exporting-system allowance. When "
    "a transfer limit separates the two prices, the gap (the limit's shadow price on "
    "`shadow_prices`) stays with the importing system's firms that hold the import rights.",
    "Offset credits are bought at the credit market's clearing price (the dual of the credit "
    "market balance), which is at least the asking price of the dearest step bought. Offsets "
    "count as paid abroad in `gains`.",
    "A price floor withholds allowances of that year's cap (at most the cap); a price ceiling "
    "sells extra allowances from a reserve (blank reserve = unlimited).",
    "A link (or candidate link) that carries a system's allowances to a partner whose floor, "
    "per allowance at the exchange rate, is above that system's ceiling plus the border fee "
    "in a year is an error: no price satisfies both controls, and the least-cost solution "
    "would buy ceiling allowances without end to hold the partner's back at its floor.",
    "Rules announced later (`announced_year` on emissions and msr rows): each year is "
    "decided by a plan made in that year with the rules known then, starting from the bank "
    "actually held; the results show the rules in force. A rule may not be announced after "
    "the year it governs (it would never apply), and every system-year needs a row known "
    "from the start. `announced_year` on price_controls and supply_steps is refused, not "
    "ignored, until the plans solve it there; explore refuses announced rows. A sweep draws "
    "every rule a plan sees alike: a cap drawn 5% high is 5% high in the rule known before "
    "and in the one announced later.",
    "The discount rate must be between 0 and 0.5; the currency a 3-letter code.",
    "Quantities are meaningful to about 1e-6 MtCO2e (one tonne); prices to about 1e-5 "
    "relative (HiGHS's QP duals).",
    "`etslink sweep` writes `draws.parquet` (one row per draw, case, system and year: `draw`, "
    "`case`, `system`, `year`, `price_<CUR>_per_tCO2e`, `abatement_cost_M<CUR>`, "
    "`compliance_cost_pv_M<CUR>`, `emissions_MtCO2e` and `net_imports_MtCO2e` as on `balances`, "
    "`paid_abroad_pv_M<CUR>` (allowance imports plus offset purchases, discounted), `status`; "
    "Parquet, which pandas (`pd.read_parquet`), R (arrow), polars and DuckDB read: on 500 draws "
    "of 20 systems x 20 years 7.8 MB instead of 18.2 MB as gzip CSV, and about 20 times faster to"
    " write), `summary.xlsx` (sheets `gains`: expected gain from linking, its sd and the "
    "probability of a gain per system; `distributions`: per system the draws, mean, sd, min, 5%, "
    "50% and 95% percentiles (as numpy's percentile) and max of the three quantities of "
    "`gains_by_draw`; `gains_by_draw`: per draw and system, over all years, the gain from linking"
    " and the money the linked case pays abroad (`gain_from_linking_pv_M<CUR>`, "
    "`linked_paid_abroad_pv_M<CUR>`) and the emissions linked less alone "
    "(`emissions_change_MtCO2e`); `volatility`: the price's sd over draws within a year, averaged"
    " over the years, linked and alone; `price_statistics`: the same statistics per case, system "
    "and year; `run`), `report.html` (price fans, and per system a chart of each draw's gain, "
    "money paid abroad and emissions change) and `run.json` (with `seed`, `draws`, the draw seeds"
    " and any failed draws). A gain smaller than 1e-5 of the autarky cost counts as no gain in "
    "the probability of a gain (the solver's accuracy). Where linked systems bank, when "
    "allowances cross a border is left open at equal cost: `etslink run` reports the smallest "
    "transfers (E14, setting `transfer_timing`), and so does a draw of a workbook with a reserve "
    "or limited foresight; a draw of any other workbook keeps the first solution's (taking the "
    "smallest transfers would rebuild a model per draw: 10 times a draw's time, measured), so its"
    " net imports and money paid abroad year by year may differ from `run`'s, while prices, "
    "emissions, costs, and net imports and money paid abroad in present value over the years "
    "agree (on two-way links the money paid abroad may be larger: allowances sent back and "
    "forth). A drawn quantity or price below zero is set to zero, and abatement options are cut "
    "back (dearest first) to fit within a drawn baseline. An unfinished sweep keeps its draws in "
    "`.<out>.partial` next to the output folder until `--resume`; a resumed sweep gives the draws"
    " of an uninterrupted one to about 1e-7 relative, not bit for bit (each draw starts from the "
    "basis of the draw solved before it, and HiGHS's QP answers agree to its tolerance); a task's"
    " draws are written at once, so a kill loses at most the draws being solved, which are solved"
    " again.",
    "Exit codes: 0 success; 1 internal error (details in a log file); 2 bad input or a "
    "non-empty output folder; 3 the inputs admit no solution; 4 the solver stopped without "
    "an optimal solution (time limit, numerical trouble).",
)


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Return the lines of a markdown table (a `|` in a cell is escaped)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _column_rows(columns: tuple[Column, ...]) -> list[tuple[str, ...]]:
    return [
        (f"`{c.name}`", c.unit or "-", c.default_text(), f"{c.doc} {accepted_values(c)}".strip())
        for c in columns
    ]


def accepted_values(column: Column) -> str:
    """Return the sentence of the docs that lists what a choice or yes/no column accepts.

    "" for other columns. The values are those validation accepts, so the docs list every
    one of them.
    """
    if column.kind == "yesno":
        return (
            f"Values: yes ({_code_list(YES_WORDS)}) or no ({_code_list(NO_WORDS)}), in any "
            "case, or an Excel TRUE/FALSE cell."
        )
    if column.kind == "choice":
        return f"Values: {_code_list(column.choices)} (in any case)."
    return ""


def _code_list(values: tuple[str, ...]) -> str:
    """Return values as a list of code spans, e.g. "`add`, `scale`"."""
    return ", ".join(f"`{v}`" for v in values)


def input_reference() -> list[str]:
    """Return the lines of docs/workbook.md on every input sheet and column and the decisions.

    outputs/sheets.py adds the output sheets and writes the whole page.
    """
    lines = [
        "# Workbook reference",
        "",
        "<!-- Generated from model/etslink/inputs/schema.py and the instruments' declarations "
        "by `python -m etslink.outputs.sheets`; do not edit by hand. -->",
        "",
        "Input workbooks follow the contract in `workbook-contract.md`: one header row in "
        "row 1, one record per row, no merged cells. Sheet names and headers match "
        "case-insensitively. Quantities are in MtCO2e, prices in the workbook's currency "
        "(CUR) per tCO2e, costs in million CUR. Blank optional cells take the default. "
        "Sheets not listed here are ignored.",
        "",
        "## Input sheets",
    ]
    for spec in SHEETS:
        need = "required" if spec.required else "optional"
        lines += ["", f"### `{spec.name}` ({need})", "", spec.doc, ""]
        lines += markdown_table(
            ("column", "unit", "default", "meaning"), _column_rows(spec.columns)
        )
        if spec.key:
            lines += ["", "Unique together: " + ", ".join(f"`{k}`" for k in spec.key) + "."]
        if spec is SETTINGS:
            lines += ["", "Keys:", ""]
            lines += markdown_table(
                ("key", "unit", "default", "meaning"), _column_rows(SETTINGS_KEYS)
            )
    lines += ["", "## Decisions where the contract is silent", ""]
    lines += [f"- {decision}" for decision in DECISIONS]
    return lines
