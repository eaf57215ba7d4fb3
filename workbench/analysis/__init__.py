"""Statistics over campaign results: Wilson intervals, summary tables (polars, rendered through
workbench/display), seaborn figures. Builds on workbench.campaign; nothing below imports it."""
from workbench.analysis.plots import plot_outcomes  # noqa: F401
from workbench.analysis.stats import half_width, wilson  # noqa: F401
from workbench.analysis.summary import CampaignSummary, summarize  # noqa: F401
