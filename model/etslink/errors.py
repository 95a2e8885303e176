"""Problems an analyst can act on: input issues, infeasible inputs, solver trouble."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

MAX_ISSUES_SHOWN = 50


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in the workbook, located by sheet, Excel row and column.

    Attributes:
        sheet: Sheet name as in the contract.
        row: Excel row number (the header is row 1); None for the whole sheet.
        cell: Excel cell reference such as "D7", or "" when the problem is a whole row/sheet.
        column: Column name as in the contract, or "" when none applies.
        problem: What is wrong, quoting the value.
        fix: What the analyst should do.
    """

    sheet: str
    row: int | None
    cell: str
    column: str
    problem: str
    fix: str

    def message(self) -> str:
        """Return `<sheet>!<cell> (<column>): <problem>. Fix: <fix>.`."""
        where = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
        if self.row is not None and not self.cell:
            where = f"{self.sheet}!{self.row}:{self.row}"
        col = f" ({self.column})" if self.column else ""
        return f"{where}{col}: {self.problem.rstrip('.')}. Fix: {self.fix.rstrip('.')}."


def _sort_key(issue: Issue) -> tuple[str, int, str, str]:
    return (issue.sheet, issue.row or 0, issue.column, issue.problem)


def format_issues(issues: list[Issue]) -> str:
    """Return the issues as sorted lines, at most MAX_ISSUES_SHOWN of them."""
    ordered = sorted(set(issues), key=_sort_key)
    lines = [i.message() for i in ordered[:MAX_ISSUES_SHOWN]]
    if len(ordered) > MAX_ISSUES_SHOWN:
        lines.append(f"... and {len(ordered) - MAX_ISSUES_SHOWN} more problems.")
    return "\n".join(lines)


class EtslinkError(Exception):
    """An error whose message is written for the analyst."""


class InputError(EtslinkError):
    """The workbook has problems; exit code 2."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = sorted(set(issues), key=_sort_key)
        super().__init__(format_issues(self.issues))


def reject(where: str, problem: str, fix: str) -> NoReturn:
    """Raise an InputError about a command-line option or a file, not a workbook cell."""
    raise InputError([Issue(where, None, "", "", problem, fix)])


def refuse_announcements(command: str) -> NoReturn:
    """Raise an InputError: `command` does not yet solve rows announced later."""
    reject(
        "emissions",
        f"{command} does not yet solve rules announced later (announced_year on sheets "
        "emissions or msr): it would hold every draw or combination to the rules in force",
        f"run {command} on a copy without the later rows, or use etslink run or calibrate",
    )


@dataclass(frozen=True)
class Shortfall:
    """A system-year that cannot comply, and by how much [MtCO2e].

    `alone`: found with the system on its own; `linked_MtCO2e` is then what its linked group
    lacks in that year with the links (its links cover the rest).
    """

    system: str
    year: int
    shortfall_MtCO2e: float
    alone: bool = False
    linked_MtCO2e: float = 0.0


class InfeasibleError(EtslinkError):
    """The inputs admit no solution; exit code 3."""

    def __init__(self, case: str, shortfalls: list[Shortfall]) -> None:
        self.case = case
        self.shortfalls = shortfalls
        lines = [
            f"{s.system} {s.year} cannot comply ({case} case): {s.shortfall_MtCO2e:.3f} MtCO2e "
            + (
                f"short on its own, {s.linked_MtCO2e:.3f} with what its links bring in"
                if s.alone
                else "short"
            )
            + ". Fix: raise max_abatement_MtCO2e (mac_linear), add mac_steps options, raise "
            "cap_MtCO2e (emissions), allow banking or borrowing (systems), or add a ceiling "
            "(price_controls)."
            for s in shortfalls
        ]
        if not lines:
            lines = [
                f"The {case} case admits no solution, and the diagnosis could not name the "
                "system-years. Fix: check caps against abatement options, offsets and links."
            ]
        super().__init__("\n".join(lines))


class SolverTroubleError(EtslinkError):
    """The solver stopped without an optimal solution (time limit, numerics); exit code 4."""


def messages(issues: list[Issue]) -> list[str]:
    """Return every issue's message, without repeats, in the order `etslink run` prints them."""
    # InputError is where that order is defined; all messages are kept (the CLI shows 50)
    return [issue.message() for issue in InputError(issues).issues]


class WorkbookError(EtslinkError):
    """The workbook, or the file given as one, has problems; nothing was solved.

    Not a subclass of `InputError`: that error's `issues` are `Issue` records, and here they
    are the messages, as the contract says. The `InputError` is this error's `__cause__`.

    Attributes:
        issues: The messages `etslink run` prints, all of them and in its order, each
            `<sheet>!<cell> (<column>): <what is wrong>. Fix: <action>.`
        details: The same problems as `Issue` records (sheet, Excel row, cell, column,
            problem, fix), for programs that point at cells.
    """

    def __init__(self, issues: list[Issue]) -> None:
        self.details = InputError(issues).issues
        self.issues = [issue.message() for issue in self.details]
        super().__init__(format_issues(self.details))
