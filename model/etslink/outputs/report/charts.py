"""Charts of the HTML report, drawn with matplotlib and returned as inline SVG text.

Every series carries an SVG id (`gid`) naming what it shows, e.g. `price-linked-EU`, so that
tests can check a chart's content without looking at it.

A chart's drawing cost follows what a reader can tell apart, not systems x years: beyond a
handful of systems, tables of numbers become colour (`price_heatmap`, `transfer_matrix`,
drawn as one raster image each) and bars lose their value labels.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from matplotlib import colormaps, rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, ScalarFormatter, StrMethodFormatter

from etslink.core.data import ModelData, ReserveRule

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
_STYLE = {
    "svg.fonttype": "path",  # text as outlines: no font files needed offline
    "svg.hashsalt": "etslink",  # stable ids, so the same results give the same file
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


LABELLED_MAX = 8
"""Charts with more systems than this drop the numbers written on bars and cells."""
TICKS_MAX = 60
"""At most this many system names along an axis; beyond it every k-th is named."""


def colours(systems: tuple[str, ...]) -> dict[str, str]:
    """Return one colour per system, the same in every chart."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(systems)}


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    with rc_context(cast(Any, _STYLE)):
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with rc_context(cast(Any, _STYLE)):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue and doctype


def underneath(rank: int, of: int) -> dict[str, Any]:
    """Return the line width, marker size and z-order of the `rank`-th of `of` equal lines.

    The first is drawn widest and lowest, each next one narrower and above it, so that lines
    of equal prices (linked systems) show as one striped line instead of hiding each other.
    """
    wide = (of - 1 - rank) / max(of - 1, 1)
    return {"linewidth": 1.0 + 1.8 * wide, "markersize": 3.0 + 2.5 * wide, "zorder": 2 + rank}


STRIPE_PT = 5.0
"""Length of one colour's stretch of a striped line [points]."""


def stripes(rank: int, of: int) -> dict[str, Any]:
    """Return the look of the `rank`-th of `of` linked systems' lines [points].

    The first is solid; each other is dashed so that its dashes fill every `of`-th stretch
    of the first: where linked prices are equal, the line shows each system's colour in
    turn instead of the last one drawn hiding the others.
    """
    look: dict[str, Any] = {"linewidth": 2.2, "zorder": 2 + rank}
    look["markersize"] = 4.5 if rank == 0 else 3.0
    if rank:
        offset = (of - rank) * STRIPE_PT  # starts the dash at the rank-th stretch
        look["linestyle"] = (offset, (STRIPE_PT, (of - 1) * STRIPE_PT))
    return look


def price_paths(
    prices: pd.DataFrame, price_col: str, d: ModelData, groups: Sequence[Sequence[str]]
) -> str:
    """Return a line chart of each system's price over the years, linked and autarky.

    A linked group's linked lines are `stripes`, so that equal prices show every system's
    colour, and the first year of a link that starts after its systems is marked by a
    vertical line named at the top (`late_links`).

    Args:
        prices: The `prices` table of both cases [CUR per tCO2e].
        price_col: Its price column.
        d: The workbook's data (systems, links, currency).
        groups: The linked groups, each in workbook order.
    """
    colour = colours(d.systems)
    rank = {s: (group.index(s), len(group)) for group in groups for s in group}
    cases: tuple[tuple[str, Literal["-", ":"]], ...] = (("linked", "-"), (d.second_case, ":"))
    handles = []  # a striped line's dashes may miss a legend's short line: drawn whole there
    with _figure(7.5, 3.6) as fig:
        ax = fig.add_subplot()
        for system in d.systems:
            for case, style in cases:
                rows = prices[(prices["case"] == case) & (prices["system"] == system)]
                look: dict[str, Any] = {"linestyle": style, "marker": "o", "markersize": 3}
                if case == "linked" and system in rank:
                    look |= stripes(*rank[system])
                (line,) = ax.plot(rows["year"], rows[price_col], color=colour[system], **look)
                line.set_gid(f"price-{case}-{system}")
                handles.append(
                    Line2D(
                        [],
                        [],
                        color=colour[system],
                        linestyle=style,
                        marker="o",
                        label=f"{system} {case}",
                    )
                )
        _mark_link_starts(ax, d)
        ax.set_xlabel("year")
        ax.set_ylabel(f"{d.currency} per tCO2e")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(
            handles=handles,
            ncols=2,
            fontsize=7,
            markerscale=0.5,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
        return _svg(fig)


def late_links(d: ModelData) -> dict[int, list[str]]:
    """Return the links that start after the first year both their systems share, by year."""
    starts: dict[int, list[str]] = {}
    for link in d.links:
        shared = set(d.years_of(link.from_system)) & set(d.years_of(link.to_system))
        if link.years and shared and link.years[0] > min(shared):
            starts.setdefault(link.years[0], []).append(link.name)
    return dict(sorted(starts.items()))


def _mark_link_starts(ax: Axes, d: ModelData) -> None:
    """Draw a grey vertical line at each year a link starts (`late_links`), named at the top."""
    for year, names in late_links(d).items():
        ax.axvline(year, color="0.45", linestyle=(0, (1, 2)), linewidth=0.9, zorder=0.5)
        ax.text(
            year,
            0.98,
            f"{', '.join(names)} from {year}",
            transform=ax.get_xaxis_transform(),  # x in years, y in the axes' height
            rotation=90,
            ha="right",
            va="top",
            fontsize=7,
            color="0.3",
            gid=f"link-start-{year}",
        )


def _name_axis(ax: Axes, axis: str, names: Sequence[str]) -> None:
    """Name every row or column of a chart, or every k-th one when there are many.

    The names get smaller as they get more, and stand upright along x beyond 12.
    """
    step = -(-len(names) // TICKS_MAX)
    where = range(0, len(names), step)
    labels = [names[i] for i in where]
    size = 9 if len(names) <= 12 else 7 if len(names) <= 30 else 6
    if axis == "x":
        ax.set_xticks(where, labels, fontsize=size, rotation=0 if len(names) <= 12 else 90)
    else:
        ax.set_yticks(where, labels, fontsize=size)


def _year_axis(ax: Axes, years: Sequence[int]) -> None:
    """Label about eight of the columns of a systems x years heat map with their year."""
    step = max(1, -(-len(years) // 8))
    ax.set_xticks(range(0, len(years), step), [str(y) for y in years[::step]])


SPREAD_PERCENTILE = 98.0
"""Heat-map colours span this percentile of the values, so that one early-year spike does not
wash out the rest; the colour bar's pointed ends mark the values beyond."""


def _heat(fig: Figure, ax: Axes, values: np.ndarray, symmetric: bool, label: str) -> Any:
    """Draw one systems x years panel as a single image, blank where a system is absent.

    Args:
        fig: The figure (for the colour bar).
        ax: The panel.
        values: Systems x years [CUR per tCO2e], NaN where a system takes no part.
        symmetric: Colour around zero (blue below, red above) rather than from zero up.
        label: The colour bar's label.
    """
    finite = values[np.isfinite(values)]
    extent = np.abs(finite) if symmetric else finite
    top = float(np.percentile(extent, SPREAD_PERCENTILE)) if finite.size else 0.0
    top = top or 1.0
    low = -top if symmetric else min(0.0, float(finite.min(initial=0.0)))
    ax.grid(False)
    image = ax.imshow(
        np.ma.masked_invalid(values),
        cmap=colormaps["RdBu_r" if symmetric else "viridis"].with_extremes(bad="#eeeeee"),
        vmin=low,
        vmax=top,
        aspect="auto",
        interpolation="none",  # the SVG keeps one pixel per cell, drawn sharp
    )
    beyond = finite.size and float(extent.max()) > top
    extend = ("both" if symmetric else "max") if beyond else "neither"
    fig.colorbar(image, ax=ax, location="bottom", shrink=0.8, label=label, extend=extend)
    return image


def price_heatmap(
    prices: pd.DataFrame, price_col: str, d: ModelData, groups: Sequence[Sequence[str]]
) -> str:
    """Return two heat maps, systems (rows) x years: the linked price and its change.

    Args:
        prices: The `prices` table of both cases [CUR per tCO2e].
        price_col: Its price column.
        d: The workbook's data (currency).
        groups: The rows, in order; a white line separates one group from the next.
    """
    systems = [s for group in groups for s in group]
    by_case = prices.set_index(["case", "system", "year"])[price_col].unstack("year")
    years = [int(y) for y in by_case.columns]
    linked = by_case.loc["linked"].reindex(systems).to_numpy(dtype=float)
    change = linked - by_case.loc[d.second_case].reindex(systems).to_numpy(dtype=float)
    cur = d.currency
    with _figure(7.5, min(1.6 + 0.11 * len(systems), 9.0)) as fig:
        left, right = fig.subplots(1, 2, sharey=True)
        for ax, values, gid, symmetric, label in (
            (left, linked, "linked", False, f"linked price, {cur} per tCO2e"),
            (right, change, "change", True, f"linked minus autarky, {cur} per tCO2e"),
        ):
            _heat(fig, ax, values, symmetric, label).set_gid(f"price-heatmap-{gid}")
            _year_axis(ax, years)
            for edge in itertools.accumulate(len(g) for g in groups[:-1]):
                ax.axhline(edge - 0.5, color="#333333" if symmetric else "white", linewidth=1)
        _name_axis(left, "y", systems)
        return _svg(fig)


def price_moves(
    linked: dict[str, float],
    autarky: dict[str, float],
    d: ModelData,
    year: int,
    groups: Sequence[Sequence[str]],
) -> str:
    """Return each system's price without links (across) against with them (up), in one year.

    Args:
        linked: Linked price by system [CUR per tCO2e]; systems absent in `year` are left out.
        autarky: Autarky price by system [CUR per tCO2e].
        d: The workbook's data (currency).
        year: The year shown.
        groups: The linked groups: one colour each, so that a converged group lies on one
            horizontal line. Systems in none are grey. The biggest moves are named.
    """
    grouped = {s for group in groups for s in group}
    series = [(f"move-{i}", g, PALETTE[i % len(PALETTE)]) for i, g in enumerate(groups)]
    series.append(("move-alone", [s for s in d.systems if s not in grouped], "#7f7f7f"))
    with _figure(7.5, 3.6) as fig:
        ax = fig.add_subplot()
        top = max([*linked.values(), *autarky.values(), 1.0])
        ax.plot([0, top], [0, top], color="#999999", linewidth=0.8, label="no change")
        for gid, systems, colour in series:
            present = [s for s in systems if s in linked]
            x, y = [autarky[s] for s in present], [linked[s] for s in present]
            label = "not linked" if gid == "move-alone" and present else None
            ax.scatter(x, y, s=14, color=colour, zorder=3, label=label).set_gid(gid)
        for s in sorted(linked, key=lambda s: abs(linked[s] - autarky[s]))[-LABELLED_MAX:]:
            ax.annotate(
                s, (autarky[s], linked[s]), xytext=(3, 3), textcoords="offset points", fontsize=7
            )
        ax.set_xlabel(f"price without links, {d.currency} per tCO2e, {year}")
        ax.set_ylabel(f"linked price, {d.currency} per tCO2e, {year}")
        ax.legend(frameon=False, fontsize=7, loc="upper left")
        return _svg(fig)


def price_bars(linked: dict[str, float], autarky: dict[str, float], d: ModelData, year: int) -> str:
    """Return paired bars of each system's autarky and linked price in one year.

    Systems that do not take part in `year` are left out.
    """
    systems = [s for s in d.systems if s in linked]
    x = np.arange(len(systems))
    with _figure(7.5, 3.0) as fig:
        ax = fig.add_subplot()
        for offset, case, values, shade in (
            (-0.2, "autarky", autarky, "#bbbbbb"),
            (0.2, "linked", linked, "#1f77b4"),
        ):
            label = d.second_case if case == "autarky" else case
            bars = ax.bar(x + offset, [values[s] for s in systems], 0.4, color=shade, label=label)
            for patch, system in zip(bars, systems, strict=True):
                patch.set_gid(f"bar-{case}-{system}")
            ax.bar_label(bars, fmt="%.1f", fontsize=7)
        ax.set_xticks(x, systems)
        ax.set_ylabel(f"{d.currency} per tCO2e, {year}")
        ax.legend(frameon=False)
        return _svg(fig)


def abatement_at(price: float, d: ModelData, system: str, year: int) -> float:
    """Return the abatement [MtCO2e] that all options of a system-year deliver at `price`."""
    total = sum(
        step.abatement_MtCO2e
        for step in d.mac_steps.get((system, year), ())
        if step.cost_per_tCO2e <= price
    )
    mac = d.mac_linear.get((system, year))
    if mac is not None:
        if mac.slope_per_tCO2e_per_MtCO2e > 0:
            linear = (price - mac.intercept_per_tCO2e) / mac.slope_per_tCO2e_per_MtCO2e
        else:
            linear = np.inf if price >= mac.intercept_per_tCO2e else 0.0
        total += float(np.clip(linear, 0.0, mac.max_abatement_MtCO2e))
    return total


def mac_curves(
    d: ModelData,
    prices: dict[tuple[str, str], float],
    year: int,
    systems: Sequence[str] | None = None,
) -> str:
    """Return one panel per system: its MAC curve in `year` with both cases' prices marked.

    Args:
        d: The workbook's data (abatement options).
        prices: Price by (case, system) in `year` [CUR per tCO2e].
        year: The year shown.
        systems: The systems drawn (default: all that take part in `year`).
    """
    if systems is None:
        systems = [s for s in d.systems if (s, year) in d.baseline_MtCO2e]
    colour = colours(d.systems)
    cols = min(len(systems), 4) or 1
    rows = -(-len(systems) // cols)
    with _figure(2.2 * cols + 0.5, 2.2 * rows + 0.3) as fig:
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        top = 1.3 * max(prices.values(), default=1.0) + 1.0
        grid = np.linspace(0.0, top, 400)
        for ax, system in zip(axes, systems, strict=False):
            curve = [abatement_at(p, d, system, year) for p in grid]
            (line,) = ax.plot(curve, grid, color=colour[system])
            line.set_gid(f"mac-{system}")
            _mark_prices(ax, d, system, year, prices)
            ax.set_title(system, fontsize=9)
            ax.set_xlabel("abatement, MtCO2e", fontsize=7)
        axes[0].set_ylabel(f"{d.currency} per tCO2e")
        for ax in axes[len(systems) :]:
            ax.set_visible(False)
        return _svg(fig)


def _mark_prices(
    ax: Axes, d: ModelData, system: str, year: int, prices: dict[tuple[str, str], float]
) -> None:
    for case, style in (("autarky", ":"), ("linked", "-")):
        price = prices[case, system]
        ax.axhline(
            price, linestyle=style, color="black", linewidth=0.8, gid=f"price-{case}-{system}"
        )
        ax.plot([abatement_at(price, d, system, year)], [price], "o", color="black", markersize=3)
    ax.text(
        0.98,
        0.04,
        "dotted: autarky\nsolid: linked",
        transform=ax.transAxes,
        fontsize=6,
        ha="right",
        va="bottom",
    )


def transfer_matrix(transfers: pd.DataFrame, d: ModelData) -> str:
    """Return a heat map of allowances moved from each system (rows) to each (columns).

    Pairs that no link connects are left blank. Up to `LABELLED_MAX` systems every cell
    states its number; beyond, the colour alone does and the chart stops growing.
    """
    arcs = {(link.from_system, link.to_system) for link in d.links}
    arcs |= {(link.to_system, link.from_system) for link in d.links if link.two_way}
    moved = transfers.groupby(["from_system", "to_system"])["quantity_MtCO2e"].sum()
    n = len(d.systems)
    matrix = np.full((n, n), np.nan)
    for (i, a), (j, b) in itertools.product(enumerate(d.systems), repeat=2):
        if (a, b) in arcs:
            matrix[i, j] = moved.get((a, b), 0.0)
    with _figure(min(1.6 + 0.7 * n, 7.5), min(0.9 + 0.6 * n, 7.0)) as fig:
        ax = fig.add_subplot()
        ax.grid(False)
        image = ax.imshow(
            np.ma.masked_invalid(matrix), cmap="Blues", aspect="auto", interpolation="none"
        )
        image.set_gid("transfer-matrix")
        if n <= LABELLED_MAX:
            _write_cells(ax, matrix)
        _name_axis(ax, "x", d.systems)
        _name_axis(ax, "y", d.systems)
        ax.set_xlabel("to system (uses the allowances)")
        ax.set_ylabel("from system (its allowances)")
        fig.colorbar(image, ax=ax, label="MtCO2e, all years")
        return _svg(fig)


def _write_cells(ax: Axes, matrix: np.ndarray) -> None:
    """Write each finite cell's value on a heat map, white on the darkest cells."""
    peak = float(np.nanmax(matrix)) if np.isfinite(matrix).any() else 0.0
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            ax.text(
                j,
                i,
                f"{value:,.1f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > 0.6 * peak > 0 else "black",
            )


def bars_by_system(
    values: dict[str, dict[str, float]],
    d: ModelData,
    ylabel: str,
    gid: str,
    systems: Sequence[str] | None = None,
) -> str:
    """Return grouped bars: one group per system, one bar per series in `values`.

    Args:
        values: Per series, the value of each system (missing = 0).
        d: The workbook's data (the systems, in order, by default).
        ylabel: The unit of the values.
        gid: Bars get the SVG id `{gid}-{series number}-{system}`.
        systems: The systems shown, in order (default: all, in workbook order). Beyond
            `LABELLED_MAX` of them the bars carry no numbers and the names stand upright.
    """
    systems = list(d.systems if systems is None else systems)
    x = np.arange(len(systems))
    width = 0.8 / max(len(values), 1)
    with _figure(7.5, 3.0) as fig:
        ax = fig.add_subplot()
        for i, (series, by_system) in enumerate(values.items()):
            bars = ax.bar(
                x - 0.4 + width * (i + 0.5),
                [by_system.get(s, 0.0) for s in systems],
                width,
                label=series,
                color=PALETTE[i % len(PALETTE)],
            )
            for patch, system in zip(bars, systems, strict=True):
                patch.set_gid(f"{gid}-{i}-{system}")
            if len(systems) <= LABELLED_MAX:
                ax.bar_label(bars, fmt="{:,.1f}", fontsize=7)
        ax.axhline(0, color="black", linewidth=0.6)
        _name_axis(ax, "x", systems)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=7)
        return _svg(fig)


def _widest_fans(stats: pd.DataFrame, systems: tuple[str, ...]) -> tuple[str, ...]:
    """Return the LABELLED_MAX systems whose linked 5-95% band is widest (all if fewer)."""
    if len(systems) <= LABELLED_MAX:
        return systems
    linked = stats[stats["case"] == "linked"]
    width = (linked["95%"] - linked["5%"]).groupby(linked["system"]).max()
    widest = set(width.sort_values(ascending=False, kind="stable").index[:LABELLED_MAX])
    return tuple(s for s in systems if s in widest)


def fan_chart(stats: pd.DataFrame, d: ModelData) -> str:
    """Return the price fan of each system: median and 5-95% band, linked and autarky.

    Beyond LABELLED_MAX systems, the fans of those whose linked band is widest; the others
    are in the report's tables.
    """
    colour = colours(d.systems)
    shown = _widest_fans(stats, d.systems)
    with _figure(7.5, 3.6) as fig:
        ax = fig.add_subplot()
        for system in shown:
            for case, style, alpha in (("linked", "-", 0.25), ("autarky", ":", 0.10)):
                rows = stats[(stats["case"] == case) & (stats["system"] == system)]
                if rows.empty:
                    continue
                band = ax.fill_between(
                    rows["year"],
                    rows["5%"],
                    rows["95%"],
                    color=colour[system],
                    alpha=alpha,
                    linewidth=0,
                )
                band.set_gid(f"fan-{case}-{system}")
                offset = 0.08 if case == "linked" else -0.08  # side by side in one year
                ax.errorbar(
                    rows["year"] + offset,
                    rows["50%"],
                    yerr=[rows["50%"] - rows["5%"], rows["95%"] - rows["50%"]],
                    fmt="o" + style,
                    markersize=3,
                    capsize=3,
                    color=colour[system],
                    label=f"{system} {case}",
                )
        years = sorted(stats["year"].unique())
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        ax.set_xticks(
            years[:: max(1, len(years) // 10)], [str(y) for y in years][:: max(1, len(years) // 10)]
        )
        ax.set_xlabel("year")
        ax.set_ylabel(f"{d.currency} per tCO2e")
        title = None if len(shown) == len(d.systems) else f"widest {len(shown)} of {len(d.systems)}"
        ax.legend(
            ncols=2,
            fontsize=7,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            title=title,
            title_fontsize=7,
        )
        return _svg(fig)


BOXES_CHARTED = 24
"""The sweep's spread charts show at most this many systems (the widest spreads)."""
BOXES_PER_ROW = 8
"""Panels side by side in a spread chart; more systems wrap onto further rows."""


def draw_spread(by_draw: pd.DataFrame, column: str, d: ModelData, unit: str, gid: str) -> str:
    """Return a panel per system: a box of a quantity's values over the draws, each a dot.

    Each panel has its own scale (systems differ by orders of magnitude; the tables compare
    them). The box spans the quartiles, its line is the median and its whiskers reach the 5%
    and 95% percentiles (as the `distributions` sheet). Beyond BOXES_CHARTED systems, those
    whose 5-95% range is widest.

    Args:
        by_draw: One row per draw and system (`gains_by_draw`).
        column: The quantity charted, a column of `by_draw`.
        d: The workbook's data (systems, in order, and their colours).
        unit: The label of the first panel's axis.
        gid: Boxes get the SVG id `{gid}-{system}`.
    """
    values = {str(s): v[column].dropna().to_numpy() for s, v in by_draw.groupby("system")}
    shown = _widest(values, d.systems)
    colour = colours(d.systems)
    across = min(len(shown), BOXES_PER_ROW)
    rows = -(-len(shown) // across)
    with _figure(7.5, 0.4 + 2.0 * rows) as fig:
        axes = fig.subplots(rows, across, squeeze=False).ravel()
        for ax, system in zip(axes, shown, strict=False):
            _box_of_draws(ax, values[system], colour[system])
            box = ax.patches[0] if ax.patches else None
            if box is not None:
                box.set_gid(f"{gid}-{system}")
            ax.set_title(system, fontsize=8, color=colour[system])
        for ax in axes[len(shown) :]:
            ax.set_visible(False)
        axes[0].set_ylabel(unit, fontsize=7)
        if len(shown) < len(values):
            fig.suptitle(f"widest {len(shown)} of {len(values)} systems", fontsize=8)
        return _svg(fig)


SAME_IN_EVERY_DRAW = 1e-5
"""Values over draws that differ by less than this share of their median (the solver's
accuracy) are drawn as one value, on a scale of +-5% (at least +-1) around it."""


def _box_of_draws(ax: Axes, values: np.ndarray, colour: str) -> None:
    """Draw one box (quartiles, median, 5-95% whiskers) and the draws as jittered dots.

    `values` holds at least one draw.
    """
    ax.boxplot(
        values,
        positions=[0],
        whis=(5, 95),
        widths=0.6,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "none", "edgecolor": colour},
        medianprops={"color": colour, "linewidth": 2},
        whiskerprops={"color": colour},
        capprops={"color": colour},
    )
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(values))
    ax.scatter(jitter, values, s=5, color=colour, alpha=0.5, linewidths=0)
    ax.set_xlim(-0.5, 0.5)
    ax.set_xticks([])
    ax.tick_params(axis="y", labelsize=7)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    centre = float(np.median(values))
    if float(np.ptp(values)) <= SAME_IN_EVERY_DRAW * max(1.0, abs(centre)):
        pad = max(0.05 * abs(centre), 1.0)  # not solver noise blown up to the panel's height
        ax.set_ylim(centre - pad, centre + pad)
    low, high = ax.get_ylim()
    if low < 0 < high:
        ax.axhline(0, color="black", linewidth=0.6)


def _widest(values: dict[str, np.ndarray], systems: tuple[str, ...]) -> list[str]:
    """Return the systems with values, in order; beyond BOXES_CHARTED the widest spreads."""
    found = [s for s in systems if len(values.get(s, ())) > 0]
    if len(found) <= BOXES_CHARTED:
        return found
    width = {s: float(np.ptp(np.percentile(values[s], [5, 95]))) for s in found}
    widest = set(sorted(found, key=lambda s: -width[s])[:BOXES_CHARTED])
    return [s for s in found if s in widest]


def reserve_path(msr: pd.DataFrame, system: str, rules: Sequence[ReserveRule] = ()) -> str:
    """Return one system's reserve over the years [MtCO2e].

    TNAC and holdings are lines; intake, release and invalidation are bars; the thresholds
    of its rules (`rules` may hold other systems') are grey steps over the years they hold.
    """
    rows = msr[msr["system"] == system].sort_values("year")
    years = rows["year"].to_numpy()
    with _figure(7.5, 3.2) as fig:
        ax = fig.add_subplot()
        width = 0.27
        for offset, column, label, colour in (
            (-width, "intake_MtCO2e", "intake", PALETTE[3]),
            (0.0, "release_MtCO2e", "release", PALETTE[2]),
            (width, "invalidated_MtCO2e", "invalidated", PALETTE[7 % len(PALETTE)]),
        ):
            ax.bar(years + offset, rows[column], width, label=label, color=colour)
        ax.plot(
            years,
            rows["tnac_previous_MtCO2e"],
            "-o",
            markersize=3,
            color=PALETTE[0],
            label="TNAC of the previous year",
        )
        ax.plot(
            years,
            rows["holdings_MtCO2e"],
            "--o",
            markersize=3,
            color=PALETTE[1],
            label="reserve holdings (end of year)",
        )
        _thresholds(ax, [rule for rule in rules if rule.system == system])
        step = max(1, -(-len(years) // 8))
        ax.set_xticks(years[::step], [str(y) for y in years[::step]])
        ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
        ax.set_ylabel("MtCO2e")
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig)


FIT_TITLES = {
    "price": "price, {cur} per tCO2e",
    "emissions": "emissions, MtCO2e",
    "bank": "bank at the end of the year (TNAC), MtCO2e",
    "msr_intake": "reserve intake, MtCO2e",
}
"""Panel titles of `model_against_observed`, one per observable quantity, in panel order."""


ModelPath = tuple[str, str, dict[tuple[str, str, int], float]]
"""A model path of `model_against_observed`: its SVG id, label and figure per (quantity,
system, year)."""


def model_against_observed(
    fit: pd.DataFrame, paths: Sequence[ModelPath], system: str, d: ModelData
) -> str:
    """Return one panel per quantity observed in `system`: the model's paths and the points.

    Args:
        fit: A table with the columns `system`, `year`, `quantity` and `observed`.
        paths: The model's paths, each drawn as a line over all the system's years so that
            the observed points sit against it: the first solid in the system's colour, the
            others dashed grey.
        system: The system drawn.
        d: The workbook's data (currency, years).
    """
    observed = fit[fit["system"] == system]
    quantities = [q for q in FIT_TITLES if q in set(observed["quantity"])]
    years = list(d.years_of(system))
    styles = [("-", colours(d.systems)[system])] + [("--", "#888888")] * (len(paths) - 1)
    cols = min(len(quantities), 2)
    rows = -(-len(quantities) // cols)
    with _figure(1.6 + 2.9 * cols, 0.3 + 2.3 * rows) as fig:
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax in axes[len(quantities) :]:
            ax.set_visible(False)
        for ax, quantity in zip(axes, quantities, strict=True):
            for (gid, label, figures), (style, colour) in zip(paths, styles, strict=True):
                model = [figures.get((quantity, system, y), 0.0) for y in years]
                (line,) = ax.plot(years, model, style, color=colour, label=label)
                line.set_gid(f"fit-{gid}-{quantity}-{system}")
            seen = observed[observed["quantity"] == quantity]
            (points,) = ax.plot(
                seen["year"], seen["observed"], "o", color="black", markersize=3.5, label="observed"
            )
            points.set_gid(f"fit-observed-{quantity}-{system}")
            ax.set_title(FIT_TITLES[quantity].format(cur=d.currency), fontsize=8)
            ax.set_ylim(bottom=0)
            ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
            ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, fontsize=7, frameon=False, loc="outside right upper")
        return _svg(fig)


def _thresholds(ax: Axes, rules: Sequence[ReserveRule]) -> None:
    """Draw each rule's intake and release thresholds as steps over its years."""
    styles: tuple[tuple[str, str, Literal[":", "-."]], ...] = (
        ("intake_threshold_MtCO2e", "intake above (TNAC)", ":"),
        ("release_threshold_MtCO2e", "release below (TNAC)", "-."),
    )
    for field, label, style in styles:
        labelled = False
        for rule in rules:
            level = getattr(rule, field)
            if level is None:
                continue
            ax.hlines(
                level,
                rule.years[0] - 0.5,
                rule.years[-1] + 0.5,
                colors="0.45",
                linestyles=style,
                linewidth=1,
                label="_nolegend_" if labelled else label,  # matplotlib skips "_..." labels
            )
            labelled = True


CANDIDATES_CHARTED = 20
"""The gains chart of explore shows at most this many candidates (the best first)."""


def gains_by_candidate(gains: dict[str, dict[str, float]], d: ModelData, unit: str) -> str:
    """Return horizontal bars, one per candidate (the first on top), stacked by system.

    Gains go right of zero and losses left, so a bar's two ends are what the winners gain
    and the losers lose; the net gain is written at its end.

    Args:
        gains: Per candidate (in the order shown), each system's gain [unit].
        d: The workbook's data (systems and their colours).
        unit: The axis label, e.g. "MEUR, present value".
    """
    shown = list(gains)[:CANDIDATES_CHARTED]
    involved = [s for s in d.systems if any(abs(gains[c].get(s, 0.0)) > 0 for c in shown)]
    colour = colours(d.systems)
    with _figure(7.5, 0.9 + 0.35 * len(shown)) as fig:
        ax = fig.add_subplot()
        y = np.arange(len(shown))[::-1]
        right, left = np.zeros(len(shown)), np.zeros(len(shown))
        for system in involved:
            values = np.array([gains[c].get(system, 0.0) for c in shown])
            start = np.where(values >= 0, right, left)
            drawn = np.flatnonzero(values)  # no empty segments
            bars = ax.barh(
                y[drawn],
                values[drawn],
                left=start[drawn],
                color=colour[system],
                label=system,
                height=0.6,
            )
            for patch, index in zip(bars, drawn, strict=True):
                patch.set_gid(f"gain-{shown[index]}-{system}")
            right += np.maximum(values, 0)
            left += np.minimum(values, 0)
        for row, candidate in zip(y, shown, strict=True):
            net = sum(gains[candidate].values())
            ax.annotate(
                f"{net:,.0f}",
                (right[shown.index(candidate)], row),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
        ax.axvline(0, color="black", linewidth=0.6)
        span = max(right.max(initial=0.0) - left.min(initial=0.0), 1e-9)
        ax.set_xlim(left.min(initial=0.0) - 0.05 * span, right.max(initial=0.0) + 0.15 * span)
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_yticks(y, shown)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(unit)
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig)


PANELS_CHARTED = 6
"""The price chart of explore shows at most this many candidates (the best first)."""


def candidate_prices(
    panels: dict[str, dict[str, tuple[pd.Series, pd.Series]]], d: ModelData
) -> str:
    """Return one panel per candidate: its systems' prices with it (solid), without (dotted).

    Args:
        panels: Per candidate (in the order shown), per system the price by year [CUR per
            tCO2e] under the status quo and with the candidate alone.
        d: The workbook's data (currency, system colours).
    """
    shown = list(panels)[:PANELS_CHARTED]
    colour = colours(d.systems)
    columns = min(3, max(len(shown), 1))
    rows = -(-len(shown) // columns)
    with _figure(7.5, 0.6 + 2.2 * rows) as fig:
        axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
        for ax, candidate in zip(axes.flat, shown, strict=False):
            years: list[int] = []
            for system, (before, after) in panels[candidate].items():
                ax.plot(
                    before.index,
                    before.to_numpy(),
                    ":",
                    marker="o",
                    markersize=2.5,
                    markerfacecolor="none",
                    color=colour[system],
                )
                (line,) = ax.plot(
                    after.index,
                    after.to_numpy(),
                    "-",
                    marker="o",
                    markersize=2.5,
                    color=colour[system],
                    label=system,
                )
                line.set_gid(f"candidate-price-{candidate}-{system}")
                years += [int(y) for y in after.index]
            ax.set_title(candidate, fontsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
            if len(set(years)) < 4:  # a few years: each named, not an axis of a century
                ax.set_xticks(sorted(set(years)))
                ax.set_xlim(min(years) - 0.5, max(years) + 0.5)
            ax.legend(frameon=False, fontsize=6, loc="upper left")
        for ax in axes.flat[len(shown) :]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel(f"{d.currency} per tCO2e")
        return _svg(fig)
