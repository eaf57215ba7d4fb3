"""Seaborn figures of campaign results."""
from __future__ import annotations

import polars as pl

from workbench.campaign import CampaignResults
from workbench.faults import OUTCOMES


def plot_outcomes(results: CampaignResults | pl.DataFrame, ax=None, share: bool = True):
    """Outcomes by fault type as stacked bars (shares of runs with `share`, else counts); returns the Axes."""
    import pandas as pd
    import seaborn as sns
    df = results.df if isinstance(results, CampaignResults) else results
    # pandas from plain lists: polars' to_pandas would need pyarrow
    data = pd.DataFrame({"fault type": df["fault_type"].to_list(), "outcome": df["outcome"].to_list()})
    present = [o for o in OUTCOMES if o in set(data["outcome"])] + \
        sorted(set(data["outcome"]) - set(OUTCOMES))
    ax = sns.histplot(data=data, x="fault type", hue="outcome", hue_order=present, multiple="fill" if share else "stack",
                      stat="count", shrink=0.8, discrete=True, ax=ax, palette="colorblind")
    ax.set_ylabel("share of runs" if share else "runs")
    ax.set_title("Outcomes by fault type")
    return ax
