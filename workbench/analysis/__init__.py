"""Analysis over campaign results: seaborn figures (plots.py). The per-campaign statistics (Wilson
intervals, summary tables) live with the results in workbench.campaign (summary.py, stats.py) so that
`CampaignResults.summary()` needs nothing from this layer; they are re-exported here."""
from workbench.analysis.plots import plot_outcomes  # noqa: F401
from workbench.campaign.stats import half_width, wilson  # noqa: F401
from workbench.campaign.summary import CampaignSummary, summarize  # noqa: F401
