"""Analysis over campaign results: the paper's figures (figures.py, one function each, returning a
matplotlib Figure), the tables they draw (data.py: rows of several campaigns, the papers' published
figures), microreboot per component (components.py: outcome, causes, latency, service interruption,
issue 11's goals, the papers' figures beside), one run's timeline and a campaign's reproduction
(runs.py), the ablation ladder and the papers' loop (ablation.py: `ablation`, `next_enhancement`,
`ladder_figure`) and code size per mechanism (complexity.py). The per-campaign statistics (Wilson
intervals, summary tables) live with the results in workbench.campaign (summary.py, stats.py) so that
`CampaignResults.summary()` needs nothing from this layer; they are re-exported here."""
from workbench.analysis.ablation import (Ablation, NextEnhancement, ablation, fig_ablation,  # noqa: F401
                                         ladder, ladder_figure, next_enhancement)
from workbench.analysis.complexity import complexity  # noqa: F401
from workbench.analysis.components import beside_papers, component_table, goals, service_table  # noqa: F401
from workbench.analysis.data import paper_figures, reference_campaigns, rows, service_comparison  # noqa: F401
from workbench.analysis.figures import (fig_component_service, fig_components,  # noqa: F401
                                        fig_outcomes, fig_recovery_latency, fig_recovery_rate, fig_timeline,
                                        fig_service_interruption)
from workbench.analysis.plots import plot_outcomes  # noqa: F401
from workbench.analysis.runs import appendix, differences, phases, reproduce, rerun, stack_changed  # noqa: F401
from workbench.campaign.stats import half_width, wilson  # noqa: F401
from workbench.campaign.summary import CampaignSummary, summarize  # noqa: F401
