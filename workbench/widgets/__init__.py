"""ipywidgets panels, thin faces over the API (DESIGN section 7)."""
from workbench.widgets.panel import CampaignPanel  # noqa: F401
