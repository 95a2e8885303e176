"""Per-sheet and cross-sheet checks that turn raw tables into typed records.

Every problem found is collected as an `Issue` (sheet, Excel row, column, what, fix); all of
them are reported together by raising one `InputError`.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from etslink.core.checking import (
    Checker,
    RawTable,
    RawWorkbook,
    Record,
    Tables,
    closest,
    fix_for,
    model_years,
    overlap,
    parse,
    quote,
    span,
    year_spans,
)
from etslink.errors import InputError, Issue
from etslink.inputs.schema import (
    ANNOUNCED,
    COMBINATION_SEPARATOR,
    INTENSITY_PARAMETERS,
    OFFSET_PARAMETERS,
    SETTINGS_KEYS,
    SHEETS,
    STATUS_QUO,
    Sheet,
)
from etslink.instruments import INSTRUMENTS
from etslink.instruments.links import arcs, check_link_rows


@dataclass
class Validated:
    """The workbook's typed records, settings and the warnings found on the way."""

    tables: dict[str, list[Record]]
    settings: dict[str, Any]
    warnings: list[Issue] = field(default_factory=list)


NEAR_MISS = 0.8
"""How alike (difflib's ratio) an unknown sheet or header must be to a contract name that
the workbook lacks to be taken for a misspelling of it: "link" for links (0.89),
"max_transfer_MtC02e" for max_transfer_MtCO2e (0.95); "README" is like nothing."""


def _near_miss(name: str, options: Iterable[str]) -> str | None:
    """Return the contract name `name` (a sheet or header) is a misspelling of, if any."""
    found = difflib.get_close_matches(name.strip().lower(), list(options), n=1, cutoff=NEAR_MISS)
    return found[0] if found else None


def _check_names(checker: Checker) -> None:
    """Flag misspelt sheets and headers, and twin sheets; list the other sheets in a warning."""
    contract = {s.name for s in SHEETS}
    unread = []
    for title in checker.other_sheets:
        key = title.strip().lower()
        near = _near_miss(key, contract - set(checker.raw))
        if key in contract:
            problem = f"a second sheet is named {key} (case and spaces aside); only one is read"
            checker.issues.append(Issue(title, None, "", "", problem, "delete or rename one"))
        elif near:
            problem = f"etslink reads no sheet {quote(title)}: did you mean {near}?"
            fix = f"rename the sheet to {near}, or it is ignored"
            checker.issues.append(Issue(title, None, "", "", problem, fix))
        else:
            unread.append(title)
    if unread:
        listed = ", ".join(quote(t) for t in unread)
        problem = f"etslink does not read the sheet(s) {listed}"
        fix = "nothing to do if they hold notes; sheet names are in docs/workbook.md"
        checker.warnings.append(Issue(unread[0], None, "", "", problem, fix))
    for table in checker.raw.values():
        absent = {
            c.name.lower(): c.name for c in table.sheet.columns if c.name not in table.letters
        }
        for header in table.other_headers:
            near = _near_miss(header, absent)
            if near:
                checker.issues.append(
                    Issue(
                        table.sheet.name,
                        1,
                        "",
                        absent[near],
                        f"the header {quote(header)} is not a column of sheet "
                        f"{table.sheet.name}: did you mean {absent[near]}?",
                        f"rename the header to {absent[near]}, or the column is ignored",
                    )
                )


def _settings(checker: Checker, rows: list[Record]) -> dict[str, Any]:
    table = checker.raw.get("settings")
    known = {c.name: c for c in SETTINGS_KEYS}
    values: dict[str, Any] = {c.name: c.default for c in SETTINGS_KEYS}
    for record in rows:
        key = str(record.get("key") or "").strip().lower()
        assert table is not None
        if key not in known:
            checker.flag(
                table,
                record["_row"],
                "key",
                f"unknown setting {quote(record['key'])}{closest(key, known)}",
                f"use one of {', '.join(known)}",
            )
            continue
        spec = known[key]
        raw_value = record.get("value")
        if raw_value is None:
            continue
        typed, problem = parse(spec, raw_value)
        if problem:
            checker.flag(table, record["_row"], "value", f"{key}: {problem}", fix_for(spec))
        values[key] = typed
    currency = values.get("currency")
    if table is not None and not re.fullmatch(r"[A-Za-z]{3}", str(currency)):
        checker.flag(
            table,
            None,
            "value",
            f"currency {quote(currency)} is not a 3-letter code",
            "enter a code such as EUR, USD or CHF",
        )
    return values


def _check_duplicates(checker: Checker, spec: Sheet, rows: list[Record]) -> None:
    if not spec.key:
        return
    seen: dict[tuple[object, ...], int] = {}
    for record in rows:
        key = tuple(str(record[k]).lower() for k in spec.key)
        if key in seen:
            given = [k for k in spec.key if record[k] is not None]  # a blank key: its default
            checker.flag(
                checker.raw[spec.name],
                record["_row"],
                given[-1],
                f"duplicate of row {seen[key]} ({', '.join(str(record[k]) for k in given)})",
                "delete one of the two rows or merge them",
            )
        else:
            seen[key] = record["_row"]


def _check_refs(checker: Checker, tables: Tables) -> None:
    ids = {
        "system": {str(r["system"]) for r in tables["systems"] if r["system"] is not None},
        "offset_type": {
            str(r["offset_type"]) for r in tables["offsets"] if r["offset_type"] is not None
        },
    }
    where = {"system": "sheet systems", "offset_type": "sheet offsets (no supply)"}
    for spec in SHEETS:
        for column in spec.columns:
            if column.ref is None:
                continue
            for record in tables[spec.name]:
                value = record.get(column.name)
                if value is not None and value not in ids[column.ref]:
                    options = ", ".join(sorted(ids[column.ref])) or "(none declared)"
                    checker.flag(
                        checker.raw[spec.name],
                        record["_row"],
                        column.name,
                        f"{quote(value)} is not on {where[column.ref]}"
                        f"{closest(str(value), ids[column.ref])}",
                        f"use one of {options}, or add it to {where[column.ref]}",
                    )


_OWN_YEARS = ("emissions", "observed")
"""Sheets with a system and a year whose years may lie outside the model years: emissions
gives them, and observations outside them are left out of a fit with a warning."""


def _sheets_with(*columns: str) -> list[str]:
    """Return the sheets that have every one of `columns`."""
    return [s.name for s in SHEETS if all(c in {x.name for x in s.columns} for c in columns)]


def _check_years(checker: Checker, tables: Tables) -> None:
    """Each system has years; rows fall in them; a span of years is not reversed."""
    years = model_years(tables)
    for record in tables["systems"]:
        if record["system"] is not None and not years[record["system"]]:
            checker.flag(
                checker.raw["systems"],
                record["_row"],
                "system",
                f"system {quote(record['system'])} has no rows on sheet emissions",
                "add its baseline and cap per year on sheet emissions, or delete it",
            )
    for name in _sheets_with("system", "year"):
        if name in _OWN_YEARS:
            continue
        for record in tables[name]:
            system, year = record["system"], record["year"]
            if system in years and year is not None and year not in years[system]:
                checker.flag(
                    checker.raw[name],
                    record["_row"],
                    "year",
                    f"{system} has no row for {year} on sheet emissions",
                    f"use one of {system}'s years ({min(years[system])}-"
                    f"{max(years[system])}) or add {year} on sheet emissions",
                )
    for name in _sheets_with("first_year", "last_year"):
        for record in tables[name]:
            first, last = record.get("first_year"), record.get("last_year")
            if first is not None and last is not None and first > last:
                checker.flag(
                    checker.raw[name],
                    record["_row"],
                    "last_year",
                    f"last_year {last} is before first_year {first}",
                    "swap the two years",
                )


def _check_foresight(checker: Checker, tables: Tables, settings: dict[str, Any]) -> None:
    """Rows name systems (or *); linked systems look equally far in every year."""
    rows = tables["foresight"]
    if not rows:
        return
    raw = checker.raw["foresight"]
    known = {r["system"] for r in tables["systems"]}
    for r in rows:
        if r["system"] != "*" and r["system"] not in known:
            checker.flag(
                raw,
                r["_row"],
                "system",
                f"{quote(r['system'])} is not on sheet systems{closest(r['system'], known)}",
                "use a system id, or * for every system",
            )
    setting = settings.get("foresight_years")
    years = sorted({r["year"] for r in tables["emissions"]})

    def horizon(system: str, year: int) -> tuple[int | None, int | None]:
        """Return (years, row) of the horizon the plan of `year` uses for `system`."""
        for who in (system, "*"):
            given = [r for r in rows if r["system"] == who and r["first_year"] <= year]
            if given:
                row = max(given, key=lambda r: r["first_year"])
                return row["years"], row["_row"]
        return setting, None

    for a, b in _linked_pairs(tables):
        for year in years:
            (ha, ra), (hb, rb) = horizon(a, year), horizon(b, year)
            if ha != hb:
                where = " and ".join(f"row {r}" for r in (ra, rb) if r is not None)
                checker.flag(
                    raw,
                    ra or rb,
                    "years",
                    f"{a} and {b} are linked but their plans of {year} look {ha or 'to the end'} "
                    f"and {hb or 'to the end'} years ahead ({where}): one market, one horizon",
                    f"give {a} and {b} the same horizon in every year (or one row with system *)",
                )
                break


def _linked_pairs(tables: Tables) -> set[tuple[str, str]]:
    """Return the pairs of systems linked directly (links) or through shared credits."""
    pairs = {tuple(sorted((r["from_system"], r["to_system"]))) for r in tables["links"]}
    users: dict[str, set[str]] = defaultdict(set)
    for r in tables["offset_rules"]:
        users[r["offset_type"]].add(r["system"])
    for systems in users.values():
        pairs |= {tuple(sorted(pair)) for pair in itertools.combinations(sorted(systems), 2)}
    return {(a, b) for a, b in pairs}


DISCOUNT_RANGE = 1e6
"""Discount factors of the model years must lie within 1/1e6..1e6: beyond, costs span more
than the solver's 1e-7 relative accuracy can price (prices came out 0, or HiGHS spun)."""


def _check_discounting(checker: Checker, tables: Tables, settings: dict[str, Any]) -> None:
    """The base year and discount rate keep every year's discount factor within range."""
    years = [r["year"] for r in tables["emissions"]]
    if not years:
        return
    base = settings.get("base_year") or min(years)
    rate = float(settings.get("discount_rate") or 0.0)
    factors = [(1.0 + rate) ** -(y - base) for y in (min(years), max(years))]
    if all(1 / DISCOUNT_RANGE <= f <= DISCOUNT_RANGE for f in factors):
        return
    key = "base_year" if settings.get("base_year") else "discount_rate"
    row = next(
        (r["_row"] for r in tables["settings"] if str(r.get("key")).strip().lower() == key), None
    )
    checker.flag(
        checker.raw["settings"],
        row,
        "value",
        f"with base_year {base} and a discount rate of {rate:g}, the costs of {min(years)} "
        f"and {max(years)} are discounted by {factors[0]:.3g} and {factors[1]:.3g}: too far "
        "apart for the solver to price (it would report prices of 0 or not finish)",
        "set base_year within the model years, or lower the discount rate",
    )


def _check_announcements(checker: Checker, tables: Tables) -> None:
    """A rule applies from its announcement on; every system-year has one known from the start."""
    first = min((r["year"] for r in tables["emissions"]), default=0)
    for spec in SHEETS:
        column = next((c for c in spec.columns if c.name == "announced_year"), None)
        if column is not None and column.refused:
            _refuse_announcements(checker, spec.name, tables[spec.name])
        elif column is not None:
            _check_announced_in_time(checker, spec, tables[spec.name])
    known: set[tuple[str, int]] = set()
    for r in tables["emissions"]:
        if r.get("announced_year") is None or r["announced_year"] <= first:
            known.add((r["system"], r["year"]))
    for r in tables["emissions"]:
        if (r["system"], r["year"]) not in known:
            checker.flag(
                checker.raw["emissions"],
                r["_row"],
                "announced_year",
                f"{r['system']} {r['year']} has no row known from the start (announced_year "
                f"blank or {first} or earlier), so plans made before {r['announced_year']} "
                "have no cap for it",
                "add a row for the same system and year with announced_year blank: the "
                "rule expected before the announcement",
            )
            known.add((r["system"], r["year"]))


def _check_announced_in_time(checker: Checker, spec: Sheet, rows: list[Record]) -> None:
    """A rule is announced no later than the first year it governs."""
    year_column = "year" if "year" in {c.name for c in spec.columns} else "first_year"
    for r in rows:
        said, year = r.get("announced_year"), r[year_column]
        if said is not None and said > year:
            checker.flag(
                checker.raw[spec.name],
                r["_row"],
                "announced_year",
                f"announced in {said} for {year}: the year {year} is decided before "
                "the rule is known, so it would never apply",
                f"set {year_column} to {said} or later, or the announced_year to {year} or earlier",
            )


def _refuse_announcements(checker: Checker, sheet: str, rows: list[Record]) -> None:
    """A sheet whose rules cannot yet be announced later refuses an `announced_year`."""
    for r in rows:
        if r.get("announced_year") is not None:
            checker.flag(
                checker.raw[sheet],
                r["_row"],
                "announced_year",
                f"rules announced later are not yet solved on sheet {sheet} (only on "
                f"{' and '.join(ANNOUNCED)})",
                "leave announced_year blank here (the row is then known from the start), "
                f"or model the announcement with rows of {' or '.join(ANNOUNCED)}",
            )


_NEEDS = {
    "normal": ("sd",),
    "lognormal": ("sd",),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
}


def _check_uncertainty(checker: Checker, tables: Tables) -> None:
    """Targets exist, and each distribution has its parameters in order."""
    systems = {str(r["system"]) for r in tables["systems"]}
    offsets = {str(r["offset_type"]) for r in tables["offsets"]}
    for r in tables["uncertainty"]:
        table, row = checker.raw["uncertainty"], r["_row"]
        ids, sheet_name = (
            (offsets, "offsets") if r["parameter"] in OFFSET_PARAMETERS else (systems, "systems")
        )
        if r["target"] != "*" and r["target"] not in ids:
            checker.flag(
                table,
                row,
                "target",
                f"{quote(r['target'])} is not on sheet "
                f"{sheet_name}{closest(str(r['target']), ids)}",
                f"use * or one of {', '.join(sorted(ids))}",
            )
        for name in _NEEDS[r["distribution"]]:
            if r[name] is None:
                checker.flag(
                    table, row, name, f"a {r['distribution']} draw needs {name}", f"enter {name}"
                )
        low, mode, high = r["low"], r["mode"], r["high"]
        if low is not None and high is not None and not low < high:
            checker.flag(
                table,
                row,
                "high",
                f"high {high:g} is not above low {low:g}",
                "enter a high above low",
            )
        if (
            r["distribution"] == "triangular"
            and None not in (low, mode, high)
            and not (low <= mode <= high)
        ):
            checker.flag(
                table,
                row,
                "mode",
                f"mode {mode:g} is not between low and high",
                "enter low <= mode <= high",
            )


def _check_intensity_targets(checker: Checker, tables: Tables) -> None:
    """Rows drawing a benchmark or an output baseline target intensity-based systems."""
    cap_type = {str(r["system"]): r["cap_type"] for r in tables["systems"]}
    based = sorted(s for s, kind in cap_type.items() if kind == "intensity")
    for r in tables["uncertainty"]:
        target, parameter = str(r["target"]), r["parameter"]
        # a target not on sheet systems is flagged by _check_uncertainty
        unfit = not based if target == "*" else cap_type.get(target) == "absolute"
        if parameter not in INTENSITY_PARAMETERS or not unfit:
            continue
        who = (
            "no system is intensity-based (sheet systems, cap_type)"
            if target == "*"
            else f"{target} is not intensity-based (sheet systems, cap_type absolute)"
        )
        checker.flag(
            checker.raw["uncertainty"],
            r["_row"],
            "target",
            f"{who}, and {parameter} is an input of sheet intensity",
            _intensity_fix(target, based),
        )


def _intensity_fix(target: str, based: list[str]) -> str:
    """Return what to do about a benchmark or output baseline row on no intensity system."""
    instead = "draw the baseline or cap" + ("" if target == "*" else f" of {target}") + " instead"
    if based:
        return f"target one of {', '.join(based)} (or *), or {instead}"
    system = "a system" if target == "*" else target
    return (
        f"set cap_type to intensity for {system} on sheet systems and give its standard on "
        f"sheet intensity, or {instead}"
    )


def _check_designs(checker: Checker, rows: list[Record]) -> None:
    """Candidates that link the same pair in the same years must be designs of one link."""
    seen: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in rows:
        for arc in arcs(record):
            for other in seen[arc]:
                same_design = record.get("design_of") and record["design_of"] == other.get(
                    "design_of"
                )
                either = record.get("design_of") or other.get("design_of")
                if either and not same_design and overlap(span(record), span(other)):
                    checker.flag(
                        checker.raw["candidate_links"],
                        record["_row"],
                        "design_of",
                        f"{arc[0]} to {arc[1]} is also a candidate on row {other['_row']} in "
                        "some of the same years, and the two are not designs of one link",
                        "give both rows the same design_of (never combined), or years "
                        "that do not overlap",
                    )
            seen[arc].append(record)


def _check_counterfactual_candidates(checker: Checker, rows: list[Record]) -> None:
    """A candidate link is new by definition: it cannot be part of the status quo.

    Nor may its id be the status quo's or hold the separator of combination ids.
    """
    for r in rows:
        name = str(r.get("candidate") or "")
        if name.strip().lower() == STATUS_QUO or COMBINATION_SEPARATOR.strip() in name:
            checker.flag(
                checker.raw["candidate_links"],
                r["_row"],
                "candidate",
                f"the id {quote(name)} would be mistaken for "
                + ("the status quo" if "+" not in name else "a combination of candidates"),
                'choose another id (not "status quo", without "+")',
            )
        if r.get("in_counterfactual"):
            checker.flag(
                checker.raw["candidate_links"],
                r["_row"],
                "in_counterfactual",
                "a candidate link is tried on top of the status quo, so it cannot be in it",
                "set it to no (explore compares every combination with the status quo)",
            )


def _check_candidates(checker: Checker, tables: Tables) -> None:
    """Candidate links get the checks of `links`, add no link already there, and are active.

    A candidate row that moves allowances in a direction a `links` row already covers in
    some of the same years duplicates the status quo; one whose systems share no year
    within its first_year-last_year would never be active.
    """
    check_link_rows(checker, tables["candidate_links"], "candidate_links")
    years = model_years(tables)
    table = checker.raw.get("candidate_links")
    for record in tables["candidate_links"]:
        a, b = record["from_system"], record["to_system"]
        if table is None or a == b or a not in years or b not in years:
            continue  # unknown systems and self-links are reported already
        active = span(record)
        clash = next(
            (
                (arc, link["_row"])
                for arc in arcs(record)
                for link in tables["links"]
                if arc in arcs(link) and overlap(active, span(link))
            ),
            None,
        )
        if clash is not None:
            (x, y), row = clash
            checker.flag(
                table,
                record["_row"],
                "from_system",
                f"{x} to {y} is already linked on sheet links (row {row}) in some of the "
                "same years, so this candidate duplicates an existing link",
                "delete the row, or give it years that the links row does not cover",
            )
        elif not any(active[0] <= year <= active[1] for year in years[a] & years[b]):
            checker.flag(
                table,
                record["_row"],
                "first_year",
                f"{a} and {b} share no year between first_year and last_year, so the "
                "candidate would never be active",
                "give years in which both systems have rows on sheet emissions",
            )


def _check_observed(checker: Checker, rows: list[Record]) -> None:
    """An observed price is compared as a ratio (and fitted as a log ratio): it must be > 0."""
    for r in rows:
        if r["quantity"] == "price" and r["value"] == 0:
            checker.flag(
                checker.raw["observed"],
                r["_row"],
                "value",
                "an observed price of 0 cannot be compared with the model's as a ratio",
                "enter the year's average price, or delete the row",
            )


def _check_calibration(checker: Checker, tables: Tables) -> None:
    """Targets name systems, each in one row per parameter; ranges hold their start."""
    known = {r["system"] for r in tables["systems"]}
    taken: dict[tuple[str, str], int] = {}
    raw = checker.raw.get("calibration")
    for r in tables["calibration"]:
        assert raw is not None
        target, parameter = str(r["target"]).strip(), r["parameter"]
        members = sorted(known) if target == "*" else [s.strip() for s in target.split("+")]
        for system in members:
            if system not in known:
                checker.flag(
                    raw,
                    r["_row"],
                    "target",
                    f"{quote(system)} is not on sheet systems{closest(system, known)}",
                    "use system ids joined by + (e.g. CA+QC), or * for every system",
                )
            elif (parameter, system) in taken:
                checker.flag(
                    raw,
                    r["_row"],
                    "target",
                    f"{system}'s {parameter} is already fitted on row {taken[parameter, system]}",
                    "give each system one row per parameter (join systems that share a "
                    "value with +)",
                )
            else:
                taken[parameter, system] = r["_row"]
        _check_calibration_range(checker, raw, r)


def _check_calibration_range(checker: Checker, raw: RawTable, r: Record) -> None:
    lower, upper, initial = r["lower"], r["upper"], r["initial"]
    if r["parameter"] == "foresight_years":
        if str(r["target"]).strip() != "*":
            checker.flag(
                raw,
                r["_row"],
                "target",
                "the market's foresight is one setting for every system",
                "set target to *",
            )
        for name, value in (("lower", lower), ("upper", upper)):
            if value is None or value < 1 or value != int(value):
                checker.flag(
                    raw,
                    r["_row"],
                    name,
                    f"foresight_years needs a whole number of years here, not {quote(value)}",
                    "enter the shortest (lower) and longest (upper) horizon to try, e.g. 1 and 10",
                )
        return
    if lower == 0:
        checker.flag(
            raw,
            r["_row"],
            "lower",
            "a factor of 0 removes the cells it scales",
            "enter a positive lower bound, e.g. 0.1, or leave it blank",
        )
    start = 1.0 if initial is None else initial
    if lower is not None and upper is not None and lower > upper:
        checker.flag(
            raw,
            r["_row"],
            "upper",
            f"upper {upper:g} is below lower {lower:g}",
            "swap the two bounds",
        )
    elif (lower is not None and start < lower) or (upper is not None and start > upper):
        checker.flag(
            raw,
            r["_row"],
            "initial",
            f"the search would start at {start:g}, outside {lower}-{upper}",
            "enter an initial value between lower and upper",
        )


def _warn_unmodelled_observations(checker: Checker, tables: Tables) -> None:
    """Observations outside a system's model years are left out of the fit: say so once."""
    years = model_years(tables)
    outside: dict[str, list[Record]] = defaultdict(list)
    for r in tables["observed"]:
        if r["year"] not in years[r["system"]]:
            outside[r["system"]].append(r)
    for system, rows in outside.items():
        modelled = years[system]
        checker.warn(
            checker.raw["observed"],
            rows[0]["_row"],
            "year",
            f"{len(rows)} observed row(s) of {system} "
            f"({year_spans(sorted({r['year'] for r in rows}))}) "
            f"fall outside its model years ({min(modelled)}-{max(modelled)}) and are left "
            "out of the fit",
            "add those years on sheet emissions to compare them, or delete the rows",
        )


def validate(workbook: RawWorkbook) -> Validated:
    """Type and check every sheet; raise InputError listing every problem found."""
    checker = Checker(workbook)
    _check_names(checker)
    tables = checker.present_tables(SHEETS)
    settings = _settings(checker, tables["settings"])
    if checker.issues:  # cross-sheet checks need well-typed sheets
        raise InputError(checker.issues)
    for spec in SHEETS:
        _check_duplicates(checker, spec, tables[spec.name])
    _check_refs(checker, tables)
    _check_years(checker, tables)
    _check_discounting(checker, tables, settings)
    _check_announcements(checker, tables)
    for instrument in INSTRUMENTS:
        for check in instrument.checks:
            check(checker, tables)
    _check_candidates(checker, tables)
    _check_counterfactual_candidates(checker, tables["candidate_links"])
    _check_designs(checker, tables["candidate_links"])
    _check_foresight(checker, tables, settings)
    _check_uncertainty(checker, tables)
    _check_intensity_targets(checker, tables)
    _check_observed(checker, tables["observed"])
    _check_calibration(checker, tables)
    if checker.issues:
        raise InputError(checker.issues)
    for instrument in INSTRUMENTS:
        for warning in instrument.warnings:
            warning(checker, tables)
    _warn_unmodelled_observations(checker, tables)
    return Validated(tables, settings, checker.warnings)
