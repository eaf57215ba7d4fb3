"""Analysis over campaign results: the paper's figures (figures.py, one function each, returning a
matplotlib Figure), the tables they draw (data.py: rows of several campaigns, the papers' published
figures), one run's timeline and a campaign's reproduction (runs.py). The per-campaign statistics
(Wilson intervals, summary tables) live with the results in workbench.campaign (summary.py, stats.py)
so that `CampaignResults.summary()` needs nothing from this layer; they are re-exported here."""
from workbench.analysis.data import paper_figures, reference_campaigns, rows, service_comparison  # noqa: F401
from workbench.analysis.figures import (fig_outcomes, fig_recovery_latency, fig_recovery_rate,  # noqa: F401
                                        fig_timeline,
                                        fig_service_interruption)
from workbench.analysis.plots import plot_outcomes  # noqa: F401
from workbench.analysis.runs import appendix, differences, phases, reproduce, rerun, stack_changed  # noqa: F401
from workbench.campaign.stats import half_width, wilson  # noqa: F401
from workbench.campaign.summary import CampaignSummary, summarize  # noqa: F401
