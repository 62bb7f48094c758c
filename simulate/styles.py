"""Visual styles for synthetic Kaplan-Meier figures: the :class:`FigureStyle` options, colour
palettes, fonts, and the random style/IPD sampler behind ``random_case`` (tiers clean,
typical, hard).

Units: lengths named ``*_px`` are image pixels at ``dpi``; ``*_pt`` are typographic points
(1/72 inch); ``width_in``/``height_in`` are inches (the whole figure, risk table included).
Survival values (``y_min``, ``y_ticks``) are probabilities 0-1 whatever the printed axis
(percent axes print them x100).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from kmrecon.errors import KMReconError
from simulate.ipd import simulate_arm

TIERS = ("clean", "typical", "hard")
TIME_UNITS = ("days", "months", "years")
CENSOR_MARKS = ("none", "+", "|")
LEGEND_LOCS = (
    "upper right", "lower left", "lower right", "upper center", "center right",
    "lower center", "center left", "upper left",
)
DAYS_PER_MONTH = 365.25 / 12

# Journal-like palettes (hex RGB). "near" pairs deliberately close hues (two blues, red/orange).
PALETTES: dict[str, tuple[str, ...]] = {
    "tab10": ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"),
    "lancet": ("#00468b", "#ed0000", "#42b540", "#0099b4"),
    "nejm": ("#bc3c29", "#0072b5", "#e18727", "#20854e"),
    "jco": ("#0073c2", "#efc000", "#868686", "#cd534c"),
    "ggplot": ("#f8766d", "#00bfc4", "#7cae00", "#c77cff"),
    "near_blues": ("#1f4e9c", "#4a90d9", "#d62728", "#e8702a"),
    "near_reds": ("#c0392b", "#e67e22", "#1f4e9c", "#3498db"),
    "black_grey": ("#000000", "#8c8c8c", "#4d4d4d", "#bdbdbd"),
    "mixed_black": ("#000000", "#d62728", "#1f4e9c", "#8c8c8c"),
}
COLOUR_PALETTES = ("tab10", "lancet", "nejm", "jco", "ggplot")

ARM_NAME_SETS = (
    ("Placebo", "Drug A", "Drug B", "Drug C"),
    ("Control", "Treatment", "Combination", "High dose"),
    ("Arm A", "Arm B", "Arm C", "Arm D"),
    ("Chemotherapy", "Immunotherapy", "Combination", "Observation"),
    ("Low risk", "Intermediate", "High risk", "Very high risk"),
    ("Stage I", "Stage II", "Stage III", "Stage IV"),
    ("Observation", "Radiotherapy", "Chemoradiation", "Surgery"),
)
Y_TITLES = (
    "Survival probability", "Overall survival", "Progression-free survival",
    "Proportion surviving", "Event-free survival", "Disease-free survival",
)
TITLES = ("Overall survival", "Progression-free survival", "Kaplan-Meier estimate")


class FigureSpecError(KMReconError):
    """A figure style or IPD that cannot be drawn (the message names the field to fix)."""


def available_fonts() -> tuple[str, ...]:
    """Fonts usable here: DejaVu Sans/Serif, STIX (Times-like), Liberation if installed."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    wanted = ("DejaVu Sans", "DejaVu Serif", "STIXGeneral", "Liberation Sans", "Liberation Serif")
    return tuple(n for n in wanted if n in names) or ("DejaVu Sans",)


@dataclass
class FigureStyle:
    """Every visual option of a synthetic KM figure (see module docstring for units).

    ``arm_names`` fixes the arm order and the legend/risk-table labels; empty = the order the
    arms first appear in the IPD. ``colors``/``line_styles`` are per arm in that order and must
    be at least as long as the number of arms.
    """

    # canvas
    width_in: float = 6.0
    height_in: float = 4.5
    dpi: int = 150
    font: str = "DejaVu Sans"
    font_size_pt: float = 10.0
    # curves
    arm_names: tuple[str, ...] = ()
    colors: tuple[str, ...] = PALETTES["tab10"]
    line_styles: tuple[str, ...] = ("solid",) * 4    # per arm: "solid" | "dashed" | "dotted"
    line_width_px: float = 1.5
    censor_mark: str = "none"                # "none" | "+" | "|"
    censor_size_pt: float = 6.0
    bands: bool = False                      # lifelines KM confidence intervals, same hue
    band_alpha: float = 0.2
    # axes
    time_unit: str = "months"                # "days" | "months" | "years"
    x_max: float | None = None               # None = next x_step multiple above the last follow-up
    x_step: float | None = None              # None = a round step giving 5-10 ticks
    x_title: str | None = None               # None = "Time (<unit>)"
    y_percent: bool = False                  # print 0-100 instead of 0-1
    y_percent_sign: bool = False             # "80%" rather than "80"
    y_min: float = 0.0                       # probability at the axis bottom (> 0: truncated)
    y_ticks: tuple[float, ...] = ()          # probabilities; empty = even steps of y_step
    y_step: float = 0.2
    y_label_format: str = "%.1f"             # for fraction labels: "%.1f" -> 0.8, "%g" -> 0.8/1
    y_title: str = "Survival probability"
    axis_pad: float = 0.0                    # limits extend this fraction of the range past ticks
    spines: str = "box"                      # "box" (4 sides) | "L" (left and bottom)
    tick_direction: str = "out"              # "out" | "in"
    grid: bool = False
    grid_style: str = "solid"                # "solid" | "dotted" | "dashed"
    title: str | None = None
    # legend
    legend_loc: str | None = None            # matplotlib loc inside the axes; None = no legend
    legend_frame: bool = True
    legend_avoid_curves: bool = True         # move the legend to a free corner if it hides a curve
    legend_show_n: bool = False              # label "Arm (n=120)"
    # number-at-risk table
    risk_table: bool = False
    risk_title: str | None = "Number at risk"
    risk_label_colored: bool = True          # row labels in the arm colour (else black)
    risk_cells_colored: bool = False         # counts in the arm colour (else black)
    risk_time_row: bool = False              # a row repeating the times above the counts
    risk_step_factor: float = 1.0            # columns every x_step * factor (0.5: between ticks)
    # degradations, applied in this order after rendering
    rotation_deg: float = 0.0                # counter-clockwise, about the image centre
    noise_sigma: float = 0.0                 # Gaussian noise, grey levels (0-255)
    jpeg_quality: int | None = None          # None = lossless PNG
    seed: int = 0                            # noise seed
    tier: str = "custom"                     # which random_case tier made it (for reports)

    def __post_init__(self):
        self.arm_names = tuple(str(a) for a in self.arm_names)
        self.colors = tuple(self.colors)
        self.line_styles = tuple(self.line_styles)
        self.y_ticks = tuple(float(v) for v in self.y_ticks)
        if self.time_unit not in TIME_UNITS:
            raise FigureSpecError(
                f"time_unit must be one of {TIME_UNITS}, not {self.time_unit!r}")
        if self.censor_mark not in CENSOR_MARKS:
            raise FigureSpecError(
                f"censor_mark must be one of {CENSOR_MARKS}, not {self.censor_mark!r}")
        if self.spines not in ("box", "L"):
            raise FigureSpecError("spines must be 'box' or 'L'")
        if not 0.0 <= self.y_min < 1.0:
            raise FigureSpecError("y_min must be in [0, 1)")
        bad_ls = [ls for ls in self.line_styles if ls not in ("solid", "dashed", "dotted")]
        if bad_ls:
            raise FigureSpecError(f"line_styles must be solid/dashed/dotted, not {bad_ls}")
        if not 0.1 <= self.risk_step_factor <= 10:
            raise FigureSpecError("risk_step_factor must be in 0.1-10 (1 = at the x ticks)")
        if self.width_in <= 0 or self.height_in <= 0 or self.line_width_px <= 0:
            raise FigureSpecError("width_in, height_in and line_width_px must be > 0")
        if not 20 <= self.dpi <= 600:
            raise FigureSpecError("dpi must be in 20-600")
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise FigureSpecError("jpeg_quality must be 1-100 or None")

    def to_dict(self) -> dict:
        """JSON-safe dict (tuples become lists)."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "FigureStyle":
        """Inverse of :meth:`to_dict`; unknown keys are ignored (older/newer files)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


_NICE_STEPS = (1, 2, 3, 4, 5, 6, 10, 12, 20, 24, 25, 30, 36, 50, 60, 90, 100, 180, 200, 250,
               365, 500, 730, 1000)


def x_axis_ticks(t_max: float, style: FigureStyle) -> tuple[float, float]:
    """(x_max, step) in time units: a round tick step giving 4-10 ticks (style.x_step if
    set), x_max the first multiple at/after the last follow-up t_max (style.x_max if set)."""
    if style.x_step:
        step = float(style.x_step)
    else:
        unit_steps = {"months": (3, 6, 12, 24, 36, 60), "years": (0.5, 1, 2, 5, 10),
                      "days": (30, 90, 100, 180, 200, 250, 365, 500, 730, 1000)}[style.time_unit]
        step = next((s for s in unit_steps if t_max / s <= 9), unit_steps[-1])
        if t_max / step < 3:  # very short follow-up: fall back to generic nice steps
            step = next(s for s in reversed((0.1, 0.25, 0.5) + _NICE_STEPS) if t_max / s >= 4) \
                if t_max >= 0.4 else 0.1
    x_max = float(style.x_max) if style.x_max else step * math.ceil(t_max / step - 1e-9)
    if x_max < t_max - 1e-9:
        raise FigureSpecError(f"x_max {x_max} is before the last follow-up time {t_max}")
    return x_max, step


# ---------------------------------------------------------------------------------------------
# random cases

def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _simulate_ipd(rng: np.random.Generator, names, unit: str, crossing: bool) -> pd.DataFrame:
    """IPD for the arms, simulated in months (simulate_arm) then converted to ``unit``."""
    follow_up = float(rng.uniform(24, 96))
    accrual = float(rng.uniform(0.3, 0.8)) * follow_up
    dropout = float(rng.choice([0.0, 0.002, 0.01]))
    base_median = float(rng.uniform(0.25, 1.2)) * follow_up
    frames = []
    for i, name in enumerate(names):
        n = int(rng.integers(30, 501))
        if crossing:
            shape = (0.55, 2.6, 0.8, 1.8)[i % 4]
            median = base_median * float(rng.uniform(0.8, 1.25))
        else:
            shape = float(rng.uniform(0.8, 1.5))
            median = base_median * float(rng.uniform(0.5, 2.0))
        df = simulate_arm(n, rng, median=median, shape=shape, follow_up=follow_up,
                          accrual=accrual, dropout_rate=dropout)
        df.insert(0, "arm", name)
        frames.append(df)
    ipd = pd.concat(frames, ignore_index=True)
    if unit == "days":
        ipd["time"] = np.maximum(np.round(ipd["time"] * DAYS_PER_MONTH), 1.0)
    elif unit == "years":
        ipd["time"] = np.round(ipd["time"] / 12.0, 4)
    else:
        ipd["time"] = np.round(ipd["time"], 2)
    ipd["time"] = np.maximum(ipd["time"], 1e-2)
    return ipd


def _min_survival(ipd: pd.DataFrame) -> float:
    from simulate.ipd import km_table

    lows = [km_table(g["time"], g["event"])["survival"].min() for _, g in ipd.groupby("arm")]
    return float(min(lows))


def random_style(rng: np.random.Generator, tier: str, n_arms: int) -> FigureStyle:
    """A random :class:`FigureStyle` for a tier (see :func:`simulate.figure.random_case`)."""
    if tier not in TIERS:
        raise FigureSpecError(f"tier must be one of {TIERS}, not {tier!r}")
    fonts = available_fonts()
    names = _pick(rng, ARM_NAME_SETS)[:n_arms]
    unit = _pick(rng, ("months", "months", "months", "years", "days"))
    s = FigureStyle(tier=tier, arm_names=names, time_unit=unit, seed=int(rng.integers(2**31)))
    s.width_in = float(rng.uniform(5.0, 7.5))
    s.height_in = s.width_in * float(rng.uniform(0.65, 0.85))
    s.font = _pick(rng, fonts)
    s.font_size_pt = float(rng.choice([8, 9, 10, 11, 12]))
    s.y_title = _pick(rng, Y_TITLES)
    s.axis_pad = float(rng.choice([0.0, 0.02, 0.04]))
    s.spines = _pick(rng, ("box", "L"))
    s.y_label_format = _pick(rng, ("%.1f", "%g", "%.2f"))
    if tier == "clean":
        s.dpi = 150
        s.colors = PALETTES[_pick(rng, COLOUR_PALETTES)]
        s.line_width_px = float(rng.uniform(1.5, 3.0))
        s.axis_pad = 0.02
        s.font_size_pt = float(rng.choice([10, 11, 12]))
        if n_arms > 1 or rng.random() < 0.5:  # a legend names the arms
            s.legend_loc = _pick(rng, LEGEND_LOCS)
            s.legend_frame = bool(rng.random() < 0.5)
        return s
    if tier == "typical":
        s.dpi = int(rng.integers(100, 201))
        pal = _pick(rng, COLOUR_PALETTES + ("mixed_black",))
        s.colors = PALETTES[pal]
        s.line_width_px = float(rng.uniform(1.0, 3.0))
        s.censor_mark = _pick(rng, ("+", "|"))
        s.censor_size_pt = float(rng.uniform(4, 8))
        s.legend_loc = _pick(rng, LEGEND_LOCS)
        s.legend_frame = bool(rng.random() < 0.6)
        s.legend_show_n = bool(rng.random() < 0.2)
        s.risk_table = True
        s.risk_label_colored = bool(rng.random() < 0.5)
        s.risk_time_row = bool(rng.random() < 0.2)
        s.risk_title = _pick(rng, ("Number at risk", "No. at risk", None))
        s.grid = bool(rng.random() < 0.3)
        s.grid_style = _pick(rng, ("solid", "dotted"))
        s.y_percent = bool(rng.random() < 0.25)
        s.height_in += 0.25 * (n_arms + 1 + s.risk_time_row) * s.font_size_pt / 10
        s.title = _pick(rng, TITLES) if rng.random() < 0.2 else None
        return s
    # hard
    hard_palettes = ("near_blues", "near_reds", "black_grey", "mixed_black")
    pal = _pick(rng, hard_palettes if rng.random() < 0.7 else COLOUR_PALETTES)
    s.colors = PALETTES[pal]
    if pal == "black_grey" or rng.random() < 0.2:
        s.line_styles = tuple(_pick(rng, ("solid", "dashed")) for _ in range(4))
    s.line_width_px = float(rng.uniform(0.8, 3.0))
    s.censor_mark = _pick(rng, CENSOR_MARKS)
    s.censor_size_pt = float(rng.uniform(3, 8))
    s.bands = bool(rng.random() < 0.6)
    s.band_alpha = float(rng.uniform(0.12, 0.25))
    if rng.random() < 0.5:
        s.dpi = int(rng.integers(72, 101))
        s.jpeg_quality = int(rng.integers(40, 91)) if rng.random() < 0.4 else None
    else:
        s.dpi = int(rng.integers(100, 301))
        s.jpeg_quality = int(rng.integers(40, 71))
    s.rotation_deg = float(rng.uniform(-1.0, 1.0)) if rng.random() < 0.6 else 0.0
    s.noise_sigma = float(rng.uniform(1.0, 5.0)) if rng.random() < 0.6 else 0.0
    s.legend_loc = _pick(rng, LEGEND_LOCS) if rng.random() < 0.8 else None
    s.legend_frame = bool(rng.random() < 0.5)
    s.risk_table = bool(rng.random() < 0.8)
    s.risk_label_colored = bool(rng.random() < 0.5)
    s.risk_cells_colored = bool(rng.random() < 0.3)
    s.risk_time_row = bool(rng.random() < 0.3)
    s.risk_title = _pick(rng, ("Number at risk", "No. at risk", "Patients at risk", None))
    if s.legend_loc is None and n_arms > 1:
        # every multi-arm figure keeps one way to tell which curve is which arm
        s.risk_table = True
        s.risk_label_colored = True
    if s.risk_table:
        s.height_in += 0.25 * (n_arms + 1 + s.risk_time_row) * s.font_size_pt / 10
    s.grid = bool(rng.random() < 0.5)
    s.grid_style = _pick(rng, ("solid", "dotted", "dashed"))
    s.y_percent = bool(rng.random() < 0.4)
    s.y_percent_sign = s.y_percent and bool(rng.random() < 0.4)
    s.tick_direction = _pick(rng, ("out", "in"))
    s.title = _pick(rng, TITLES) if rng.random() < 0.3 else None
    return s


def truncate_axis(style: FigureStyle, rng: np.random.Generator, min_survival: float) -> None:
    """Raise the y axis bottom (e.g. 0.3-1.0, uneven ticks) when every curve stays above it."""
    for y_min in (0.5, 0.4, 0.3, 0.2):
        if min_survival > y_min + 0.05:
            style.y_min = y_min
            options = {
                0.5: ((0.5, 0.6, 0.7, 0.8, 0.9, 1.0), (0.5, 0.75, 1.0)),
                0.4: ((0.4, 0.6, 0.8, 1.0), (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)),
                0.3: ((0.3, 0.5, 0.7, 0.9, 1.0), (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)),
                0.2: ((0.2, 0.4, 0.6, 0.8, 1.0), (0.2, 0.3, 0.5, 0.7, 0.9, 1.0)),
            }[y_min]
            style.y_ticks = _pick(rng, options)
            return


def random_case(rng: np.random.Generator, tier: str) -> tuple[pd.DataFrame, FigureStyle]:
    """Random IPD (30-500 patients per arm) and a style for a difficulty tier.

    clean: 1-2 colour arms, fraction axis, no bands/grid/marks/table, 150 dpi PNG; a legend
    when there are 2 arms.
    typical: 1-3 arms, censor marks, legend, risk table, grid sometimes, 100-200 dpi.
    hard: 2-4 arms with near colours/black/grey, bands, 72-100 dpi or JPEG 40-70, rotation
    up to 1 degree, noise, truncated/percent axes, crossing curves.
    Every multi-arm figure names its arms (legend, or risk-table row labels in arm colours).
    """
    if tier not in TIERS:
        raise FigureSpecError(f"tier must be one of {TIERS}, not {tier!r}")
    n_arms = {"clean": (1, 2), "typical": (1, 3), "hard": (2, 4)}[tier]
    n_arms = int(rng.integers(n_arms[0], n_arms[1] + 1))
    style = random_style(rng, tier, n_arms)
    crossing = tier == "hard" and rng.random() < 0.4
    ipd = _simulate_ipd(rng, style.arm_names, style.time_unit, crossing)
    if tier == "hard" and rng.random() < 0.35:
        truncate_axis(style, rng, _min_survival(ipd))
    if style.risk_table and style.risk_time_row and rng.random() < 0.5:
        # a table with its own time row whose columns fall between the x ticks too
        x_max, step = x_axis_ticks(float(ipd["time"].max()), style)
        if x_max / step <= 5 and style.width_in >= 5.5:
            style.risk_step_factor = 0.5
    return ipd, style
