"""Write `report.html`: a self-contained summary that opens offline."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from etslink.results import Results

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #eef3f8; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
"""


def _table(frame: pd.DataFrame, caption: str) -> str:
    body = frame.to_html(index=False, float_format=lambda v: f"{v:,.3f}", border=0)
    return body.replace(
        '<table class="dataframe">',
        f'<table class="dataframe"><caption>{html.escape(caption)}</caption>',
        1,
    )


def price_comparison(results: Results) -> pd.DataFrame:
    """Return prices per system and year, linked next to autarky [CUR per tCO2e]."""
    col = results.columns.price
    wide = (
        results.table("prices")
        .pivot_table(index=["system", "year"], columns="case", values=col)
        .reset_index()
    )
    wide.columns.name = None
    return wide.rename(columns={c: f"{c} {col}" for c in ("linked", "autarky")})


def write_report(results: Results, record: dict[str, Any], path: Path) -> None:
    """Write a report with prices, gains, transfers and the run record, with no external links."""
    d = results.data
    parts = [
        f"<h1>etslink: {html.escape(d.scenario_name)}</h1>",
        f"<p>Allowance prices in {html.escape(d.currency)} per tCO2e, money of each year. "
        f"Costs discounted to {d.base_year} at {d.discount_rate:.1%} per year.</p>",
        _table(price_comparison(results), "Allowance prices: linked vs autarky"),
        _table(results.gains, "Gains from linking per system (present value)"),
        _table(results.table("transfers"), "Transfers between systems"),
        _table(results.table("shadow_prices"), "Binding restrictions and their shadow prices"),
        "<h2>Run record</h2>",
        f"<pre>{html.escape(str(record.get('versions')))}</pre>",
    ]
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>etslink report</title><style>{_STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )
    path.write_text(page, encoding="utf-8")
