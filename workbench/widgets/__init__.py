"""ipywidgets panels, thin faces over the API (DESIGN section 7)."""
from workbench.widgets.panel import CampaignPanel  # noqa: F401
from workbench.widgets.ablation import AblationPanel  # noqa: F401
