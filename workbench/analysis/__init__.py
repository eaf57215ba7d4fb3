"""Analysis over campaign results: seaborn figures (plots.py), the ablation ladder and the papers' loop
(ablation.py: `ablation`, `next_enhancement`), code size per mechanism (complexity.py) and the published
figures (paper.py). The per-campaign statistics (Wilson intervals, summary tables) live with the results
in workbench.campaign (summary.py, stats.py) so that `CampaignResults.summary()` needs nothing from this
layer; they are re-exported here."""
from workbench.analysis.ablation import (Ablation, NextEnhancement, ablation, ladder, ladder_figure,  # noqa: F401
                                        next_enhancement)
from workbench.analysis.paper import paper_figure, paper_figures  # noqa: F401
from workbench.analysis.plots import plot_outcomes  # noqa: F401
from workbench.campaign.stats import half_width, wilson  # noqa: F401
from workbench.campaign.summary import CampaignSummary, summarize  # noqa: F401
