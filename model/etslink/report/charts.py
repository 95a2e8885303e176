"""Charts of the HTML report, drawn with matplotlib and returned as inline SVG text.

Every series carries an SVG id (`gid`) naming what it shows, e.g. `price-linked-EU`, so that
tests can check a chart's content without looking at it.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from etslink.data import ModelData

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


def price_paths(prices: pd.DataFrame, price_col: str, d: ModelData) -> str:
    """Return a line chart of each system's price over the years, linked and autarky."""
    colour = colours(d.systems)
    with _figure(7.5, 3.6) as fig:
        ax = fig.add_subplot()
        for system in d.systems:
            for case, style in (("linked", "-"), ("autarky", ":")):
                rows = prices[(prices["case"] == case) & (prices["system"] == system)]
                (line,) = ax.plot(
                    rows["year"],
                    rows[price_col],
                    style,
                    marker="o",
                    markersize=3,
                    color=colour[system],
                    label=f"{system} {case}",
                )
                line.set_gid(f"price-{case}-{system}")
        ax.set_xlabel("year")
        ax.set_ylabel(f"{d.currency} per tCO2e")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(ncols=2, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
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
            bars = ax.bar(x + offset, [values[s] for s in systems], 0.4, color=shade, label=case)
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


def mac_curves(d: ModelData, prices: dict[tuple[str, str], float], year: int) -> str:
    """Return one panel per system: its MAC curve in `year` with both cases' prices marked.

    Args:
        d: The workbook's data (abatement options).
        prices: Price by (case, system) in `year` [CUR per tCO2e].
        year: The year shown.
    """
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

    Pairs that no link connects are left blank.
    """
    arcs = {(link.from_system, link.to_system) for link in d.links}
    arcs |= {(link.to_system, link.from_system) for link in d.links if link.two_way}
    moved = transfers.groupby(["from_system", "to_system"])["quantity_MtCO2e"].sum()
    n = len(d.systems)
    matrix = np.full((n, n), np.nan)
    for (i, a), (j, b) in itertools.product(enumerate(d.systems), repeat=2):
        if (a, b) in arcs:
            matrix[i, j] = moved.get((a, b), 0.0)
    with _figure(1.6 + 0.7 * n, 0.9 + 0.6 * n) as fig:
        ax = fig.add_subplot()
        ax.grid(False)
        image = ax.imshow(np.ma.masked_invalid(matrix), cmap="Blues", aspect="auto")
        image.set_gid("transfer-matrix")
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
        ax.set_xticks(range(n), d.systems)
        ax.set_yticks(range(n), d.systems)
        ax.set_xlabel("to system (uses the allowances)")
        ax.set_ylabel("from system (its allowances)")
        fig.colorbar(image, ax=ax, label="MtCO2e, all years")
        return _svg(fig)


def bars_by_system(values: dict[str, dict[str, float]], d: ModelData, ylabel: str, gid: str) -> str:
    """Return grouped bars: one group per system, one bar per series in `values`."""
    x = np.arange(len(d.systems))
    width = 0.8 / max(len(values), 1)
    with _figure(7.5, 3.0) as fig:
        ax = fig.add_subplot()
        for i, (series, by_system) in enumerate(values.items()):
            bars = ax.bar(
                x - 0.4 + width * (i + 0.5),
                [by_system.get(s, 0.0) for s in d.systems],
                width,
                label=series,
                color=PALETTE[i % len(PALETTE)],
            )
            for patch, system in zip(bars, d.systems, strict=True):
                patch.set_gid(f"{gid}-{i}-{system}")
            ax.bar_label(bars, fmt="{:,.1f}", fontsize=7)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(x, d.systems)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=7)
        return _svg(fig)


def fan_chart(stats: pd.DataFrame, d: ModelData) -> str:
    """Return the price fan of each system: median and 5-95% band, linked and autarky."""
    colour = colours(d.systems)
    with _figure(7.5, 3.6) as fig:
        ax = fig.add_subplot()
        for system in d.systems:
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
        ax.legend(ncols=2, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig)
