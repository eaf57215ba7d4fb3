"""ipywidgets panels, thin faces over the API (DESIGN section 7): SystemPanel (configure, boot, read the
components live), CampaignPanel (run, stop, resume a campaign), RunExplorer (one run's row, re-run and
timeline), ComparePanel (two campaigns side by side). Each also opens saved results folders."""
from workbench.widgets.compare import ComparePanel  # noqa: F401
from workbench.widgets.explorer import RunExplorer  # noqa: F401
from workbench.widgets.panel import CampaignPanel  # noqa: F401
from workbench.widgets.ablation import AblationPanel  # noqa: F401
from workbench.widgets.system_panel import SystemPanel  # noqa: F401
