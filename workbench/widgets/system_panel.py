"""`SystemPanel`: configure a system (harts, AppVM workloads and iterations, recovery, enhancements), Boot
it, and read its components live (the hypervisor, PrivVM, DVM, each AppVM, the network peer, the domain
and I/O tables) as their own HTML reprs. A thin face over `SystemConfig`, `System.boot` and the views."""
from __future__ import annotations

from html import escape

from workbench.machine import MAX_HARTS
from workbench.system import System, SystemConfig
from workbench.system.config import ALL_ENHANCEMENTS, RECOVERY_IMPLEMENTED, workload_names
from workbench.widgets.common import LOAD_ERRORS, error_html, frame_html, open_results


def views(system: System) -> dict:
    """The live views a user can open, by name: each is the API's own object (or table)."""
    out = {"system": lambda: system, "hypervisor": lambda: system.hv, "PrivVM": lambda: system.privvm}
    if system.config.dvm:
        out["DVM"] = lambda: system.dvm
    for i in range(len(system.config.appvms)):
        out[f"AppVM {i}"] = (lambda i=i: system.appvms[i])
    if "net" in system.config.appvms:
        out["network peer"] = lambda: system.peer
    out["domains"] = system.domain_table
    out["I/O"] = system.io_table
    return out


def _html(obj) -> str:
    if hasattr(obj, "_repr_html_"):
        return obj._repr_html_()
    return f"<pre>{escape(repr(obj))}</pre>"


class SystemPanel:
    """Harts, AppVM workloads ("blk,net,hcall") and iterations (blank: the workloads' defaults; one
    number for all, or one per AppVM), recovery, ReHype's enhancements (they act under rehype); Boot;
    a view selector showing the chosen component live, and Refresh to read it again.
    `SystemPanel(system=s)` shows an already booted System; `SystemPanel(results="dir")` fills the
    controls from a saved campaign's configuration without booting."""

    def __init__(self, config: SystemConfig | None = None, results=None, system: System | None = None):
        import ipywidgets as w
        config = system.config if system is not None else config or SystemConfig()
        self.harts = w.BoundedIntText(value=config.harts, min=1, max=MAX_HARTS, description="harts")
        self.appvms = w.Text(value=",".join(config.appvms), description="AppVMs",
                             placeholder=f"workloads from {', '.join(workload_names())}")
        self.iterations = w.Text(value=",".join(map(str, config.iterations)), description="iterations",
                                 placeholder="blank: defaults; N or N,N,N")
        self.recovery = w.Dropdown(options=RECOVERY_IMPLEMENTED, value=config.recovery, description="recovery")
        self.enhancements = w.SelectMultiple(options=ALL_ENHANCEMENTS, value=config.enhancements,
                                             description="enhancements", rows=min(9, len(ALL_ENHANCEMENTS)))
        self.boot_button = w.Button(description="Boot", button_style="primary", icon="power-off")
        self.view = w.Dropdown(options=[], description="view", disabled=True)
        self.refresh_button = w.Button(description="Refresh", icon="refresh", disabled=True)
        self.status = w.HTML("not booted")
        self.shown = w.HTML("")
        self.boot_button.on_click(lambda _: self._click_boot())
        self.refresh_button.on_click(lambda _: self.show())
        self.view.observe(lambda ch: self.show(), names="value")
        self.widget = w.VBox([w.HBox([w.VBox([self.harts, self.appvms, self.iterations, self.recovery]),
                                      self.enhancements]),
                              w.HBox([self.boot_button, self.view, self.refresh_button]), self.status, self.shown])
        self.widget.add_class("mrwb-system-panel")
        self.system: System | None = None
        if results is not None:
            self.open(results)
        if system is not None:
            if system.machine is None:
                raise ValueError("system is not booted: allowed a System after boot(), or none (use Boot)")
            self._booted(system, system.boot_summary)

    def config(self) -> SystemConfig:
        """The configuration the controls describe (ValueError naming the field)."""
        text = self.iterations.value.strip()
        try:
            its = None if not text else tuple(int(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise ValueError(f"iterations={text!r} is invalid: allowed blank, N, or N,N,... (one per AppVM)") from None
        if its is not None and len(its) == 1:
            its = its[0]
        return SystemConfig(harts=self.harts.value, appvms=self.appvms.value, iterations=its,
                            recovery=self.recovery.value, enhancements=tuple(self.enhancements.value))

    def open(self, source) -> None:
        """Fill the controls from a saved campaign's configuration (a folder or `CampaignResults`)."""
        try:
            cfg = open_results(source).manifest["config"]
        except LOAD_ERRORS as e:
            self.status.value = error_html(e)
            return
        self.harts.value = cfg["harts"]
        self.appvms.value = ",".join(cfg["appvms"])
        self.iterations.value = ",".join(map(str, cfg["iterations"]))
        if cfg["recovery"] in self.recovery.options:
            self.recovery.value = cfg["recovery"]
        # a campaign saved before enhancements existed ran with none of them switchable: show the default
        self.enhancements.value = tuple(e for e in cfg.get("enhancements", ALL_ENHANCEMENTS) if e in ALL_ENHANCEMENTS)
        self.status.value = f"configuration of {escape(str(source))} (not booted)"

    def _click_boot(self):
        try:
            self.boot()
        except Exception:
            pass                           # shown in the status line

    def boot(self) -> System:
        """What Boot does: `System(config).boot()`, then show the system."""
        try:
            config = self.config()
        except (ValueError, NotImplementedError) as e:
            self.status.value = f"<b>invalid:</b> {escape(str(e))}"
            raise
        self.status.value = "booting ..."
        self.boot_button.disabled = True
        try:
            system = System(config)
            summary = system.boot()
        except Exception as e:
            self.status.value = error_html(e)
            raise
        finally:
            self.boot_button.disabled = False
        self._booted(system, summary)
        return system

    def _booted(self, system: System, summary):
        self.system = system
        self.status.value = f"booted to steady state: {summary.elapsed_cycles:,} cycles, {summary.wall_seconds:.1f} s"
        names = list(views(system))
        self.view.disabled = self.refresh_button.disabled = False
        if self.view.options == tuple(names):
            self.show()
        else:
            self.view.options = names          # sets value to the first name, which shows it
            if self.view.value != names[0]:
                self.view.value = names[0]

    def show(self, name: str | None = None) -> str:
        """Render view `name` (default: the selected one), read live from the simulated memory."""
        if self.system is None:
            return ""
        if name is not None:
            self.view.value = name             # observed: renders
            return self.shown.value
        obj = views(self.system)[self.view.value]()
        import polars as pl
        self.shown.value = frame_html(obj, 50) if isinstance(obj, pl.DataFrame) else _html(obj)
        return self.shown.value

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)
