"""The one definition of a job's parameters: names, types, defaults, limits, and what each takes part in.

Which mode uses which per-mode parameter is the modes' own declaration (generation.modes, which also
coerces and validates a parameter set). Everything else derives from this module: the model's defaults
and check constraints, the job form's fields, the
admin's read-only fieldset, the ``generate`` command's options, the PNG
``parameters`` text, the runner's ``JobSpec``, the batch key and the re-run
identity. A test checks each consumer against it. Plain Python (no Django,
no torch), so the pure runner can import it too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sdstudio.words import gettext, gettext_noop

SEED_MAX = 2**32 - 1
PROMPT_MAX = 2000
# The most jobs one request may queue: variants of a form, values of a sweep.
JOBS_PER_REQUEST_MAX = 8


class SchedulerInfo(NamedTuple):
    label: str
    diffusers_class: str  # built with from_config of the model's own scheduler config
    a1111_name: str  # what AUTOMATIC1111-style readers call it in a "parameters" chunk


# The one scheduler table. The brief's "EulerA" is euler_a.
SCHEDULERS: dict[str, SchedulerInfo] = {
    "euler_a": SchedulerInfo("Euler ancestral", "EulerAncestralDiscreteScheduler", "Euler a"),
    "ddim": SchedulerInfo("DDIM", "DDIMScheduler", "DDIM"),
    "dpmpp_2m": SchedulerInfo("DPM++ 2M", "DPMSolverMultistepScheduler", "DPM++ 2M"),
    "euler": SchedulerInfo("Euler", "EulerDiscreteScheduler", "Euler"),
    "pndm": SchedulerInfo("PNDM", "PNDMScheduler", "PLMS"),
    "lms": SchedulerInfo("LMS", "LMSDiscreteScheduler", "LMS"),
    "unipc": SchedulerInfo("UniPC", "UniPCMultistepScheduler", "UniPC"),
}
# Draft: the UNet's deep features reused between steps (generation.inference.deepcache), about twice as fast.
SPEEDS: dict[str, str] = {"full": gettext_noop("Full"), "draft": gettext_noop("Draft (about twice as fast, for exploring)")}


@dataclass(frozen=True)
class Parameter:
    name: str  # as diffusers names its call argument
    label: str
    type: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    multiple_of: int | None = None
    per_mode: bool = False  # used only by the modes that name it (generation.modes); the others store None
    optional: bool = False  # blank is a value (seed: a random one; edge guidance: off)
    choices: tuple[str, ...] = ()
    batch_key: bool = False  # jobs batched into one pipeline call must agree on it
    sweepable: bool = False
    cli: str = ""  # the generate command's option
    a1111: str = ""  # its key in the "parameters" text chunk
    help: str = ""
    hint: str = ""  # appended to range errors: where the sensible values lie

    @property
    def shown_label(self) -> str:
        """The label in the active language (``label`` stays the English one: PNG text, commands, the API schema)."""
        return gettext(self.label)

    def check(self, value: Any) -> str | None:
        """The error a person reads for ``value`` (already of the right type), or None."""
        if self.choices and value not in self.choices:
            return gettext("%(label)s must be one of %(choices)s.") % {"label": self.shown_label, "choices": ", ".join(self.choices)}
        if self.type in (int, float):
            low_ok = self.minimum is None or (value > self.minimum if self.exclusive_minimum else value >= self.minimum)
            high_ok = self.maximum is None or value <= self.maximum
            multiple_ok = self.multiple_of is None or value % self.multiple_of == 0
            if not (low_ok and high_ok and multiple_ok):
                return gettext("%(label)s must be %(range)s") % {"label": self.shown_label, "range": self.range_text()} + self.hint_text()
        return None

    def hint_text(self) -> str:
        """What ends a range error: where the sensible values lie, in brackets, and the full stop."""
        return " (%s)." % gettext(self.hint) if self.hint else "."

    def range_text(self) -> str:
        """The allowed values, to follow "must be" (or "needs ...:"), e.g. "between 1 and 150"."""
        values = {"low": _number(self.minimum), "high": _number(self.maximum), "step": self.multiple_of}
        if self.exclusive_minimum:
            return gettext("above %(low)s and at most %(high)s") % values
        if self.multiple_of:
            return gettext("a multiple of %(step)s between %(low)s and %(high)s") % values
        return gettext("between %(low)s and %(high)s") % values


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("mode", gettext_noop("Mode"), str, "text2img", batch_key=True, cli="--mode"),  # one of generation.modes
    Parameter("prompt", gettext_noop("Prompt"), str, "", help=gettext_noop("What the image should show."), cli="--prompt"),
    Parameter("negative_prompt", gettext_noop("Negative prompt"), str, "", help=gettext_noop("What it should not show."), cli="--negative-prompt",
              a1111="Negative prompt"),
    Parameter("seed", gettext_noop("Seed"), int, None, minimum=0, maximum=SEED_MAX, optional=True, sweepable=True, cli="--seed", a1111="Seed",
              help=gettext_noop("Blank: a random seed, stored with the job."), hint=gettext_noop("or blank for a random one")),
    Parameter("num_inference_steps", gettext_noop("Steps"), int, 30, minimum=1, maximum=150, batch_key=True, sweepable=True,
              cli="--steps", a1111="Steps", hint=gettext_noop("the brief uses 15, 30 and 50"),
              help=gettext_noop("Denoising steps from noise to image: more is slower and finer, up to a point (the brief compares 15, 30 "
                   "and 50).")),
    Parameter("guidance_scale", gettext_noop("Guidance (CFG)"), float, 7.5, minimum=0, maximum=30, batch_key=True, sweepable=True,
              cli="--guidance", a1111="CFG scale", hint=gettext_noop("7.5 is SD v1.5's usual value"),
              help=gettext_noop("Classifier-free guidance: how strictly the image follows the prompt. 4 is freer, 12 literal and harsher; "
                   "7.5 is SD v1.5's usual value.")),
    Parameter("scheduler", gettext_noop("Scheduler"), str, "euler_a", choices=tuple(SCHEDULERS), batch_key=True, sweepable=True,
              cli="--scheduler", a1111="Sampler",
              help=gettext_noop("The sampler that walks from noise to the image. Euler ancestral (the brief's EulerA) adds fresh noise at "
                   "each step: varied results that keep changing with the step count; DDIM and DPM++ 2M settle.")),
    Parameter("width", gettext_noop("Width"), int, 512, minimum=64, maximum=2048, multiple_of=8, batch_key=True, cli="--width",
              hint=gettext_noop("SD v1.5 is trained at 512")),
    Parameter("height", gettext_noop("Height"), int, 512, minimum=64, maximum=2048, multiple_of=8, batch_key=True, cli="--height",
              hint=gettext_noop("SD v1.5 is trained at 512")),
    Parameter("strength", gettext_noop("Strength"), float, 0.6, minimum=0, maximum=1, exclusive_minimum=True, per_mode=True,
              batch_key=True, sweepable=True, cli="--strength", a1111="Denoising strength",
              help=gettext_noop("0.35 keeps the product, 0.85 reinvents it."), hint=gettext_noop("the brief compares 0.35, 0.60 and 0.85")),
    Parameter("fit", gettext_noop("Photo fit"), str, "pad", choices=("pad", "crop", "stretch"), per_mode=True, cli="--fit",
              help=gettext_noop("How the photo fills the canvas: pad (the whole photo, bands of its edge colour around it), crop "
                   "(centre crop: what does not fit is cut off), stretch (its proportions lost).")),
    # Scene: where the product goes on the canvas; everything around it is generated, its pixels are kept.
    Parameter("product_scale", gettext_noop("Product size"), float, 0.6, minimum=0.05, maximum=1, per_mode=True, cli="--product-scale",
              help=gettext_noop("Scene: the product's longer side as a share of the canvas (0.6 suits a packshot)."),
              hint=gettext_noop("0.6 suits a packshot")),
    Parameter("product_x", gettext_noop("Product centre (x)"), float, 0.5, minimum=0, maximum=1, per_mode=True, cli="--product-x",
              help=gettext_noop("Scene: 0 = left edge, 0.5 = centred, 1 = right edge.")),
    Parameter("product_y", gettext_noop("Product position (y)"), float, 0.8, minimum=0, maximum=1, per_mode=True, cli="--product-y",
              help=gettext_noop("Scene: 0 = top, 1 = bottom: where the product stands (its base; 0.8 stands it on the "
                                "surface) or, with the anchor at its centre, where its centre is.")),
    Parameter("product_anchor", gettext_noop("Product anchor"), str, "base", choices=("base", "centre"), per_mode=True,
              cli="--product-anchor",
              help=gettext_noop("Scene: base = the product stands at its y, whatever its shape (as in product photos: a "
                                "flat shoe and a tall bottle on the same surface); centre = its centre is at its y (how "
                                "scenes were placed before, kept for their re-runs).")),
    Parameter("edges", gettext_noop("Product edges"), str, "matte", choices=("matte", "feather"), per_mode=True, cli="--edges", a1111="Product edges",
              help=gettext_noop("Scene: matte = the product's soft edge from its photo, the old background taken out of it; "
                   "feather = a hard mask blended outward (how scenes were made before the matte, kept for their re-runs).")),
    Parameter("shadow", gettext_noop("Shadow"), str, "contact", choices=("contact", "keep", "none"), per_mode=True, cli="--shadow", a1111="Shadow",
              help=gettext_noop("Scene: contact = a soft shadow under the product's base; keep = the photo's own shadow carried "
                   "over (for photos on a plain surface); none = the product as cut out.")),
    Parameter("shadow_opacity", gettext_noop("Shadow opacity"), float, 0.5, minimum=0, maximum=1, per_mode=True, cli="--shadow-opacity", a1111="Shadow opacity",
              help=gettext_noop("Scene, contact shadow: how dark it is where it is darkest (0 = invisible, 1 = black).")),
    Parameter("shadow_softness", gettext_noop("Shadow softness"), float, 0.06, minimum=0.01, maximum=0.5, per_mode=True,
              cli="--shadow-softness", a1111="Shadow softness", help=gettext_noop("Scene, contact shadow: its blur as a share of the product's height.")),
    Parameter("light", gettext_noop("Light from"), float, 0.0, minimum=-1, maximum=1, per_mode=True, cli="--light", a1111="Light",
              help=gettext_noop("Scene, contact shadow: -1 = light from the left (the shadow falls right), 0 = from the front, 1 = from the right.")),
    Parameter("speed", gettext_noop("Speed"), str, "full", choices=tuple(SPEEDS), batch_key=True, cli="--speed",
              help=gettext_noop("Draft reuses the UNet's deep features between steps: about twice as fast, close to the full image "
                   "on the same seed; make the full image once the prompt and setting are right.")),
    # Edge guidance: a ControlNet conditioned on the Canny edges of the photo (the brief's own mitigation).
    Parameter("controlnet_conditioning_scale", gettext_noop("Edge guidance"), float, None, minimum=0, maximum=2, per_mode=True,
              optional=True, batch_key=True, sweepable=True, cli="--edge-guidance", a1111="ControlNet weight",
              help=gettext_noop("ControlNet (Canny edges of the photo): blank = off, 1.0 = follow the edges."),
              hint=gettext_noop("1.0 is ControlNet's usual weight")),
)
BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
BATCH_KEYS: tuple[str, ...] = tuple(p.name for p in PARAMETERS if p.batch_key)
SWEEPABLE: tuple[str, ...] = tuple(p.name for p in PARAMETERS if p.sweepable)
# A re-run repeats every parameter; the model and the source photo come with it (see services.job_rerun).
IDENTITY: tuple[str, ...] = NAMES
# The brief's baseline (exercise 2.b): 512x512, 30 steps, guidance 7.5, Euler ancestral, seed 42.
BASELINE = {**{p.name: p.default for p in PARAMETERS if not p.per_mode and p.name not in ("mode", "prompt", "negative_prompt")},
            "seed": 42}


# AUTOMATIC1111's order in the settings line of a "parameters" chunk.
A1111_ORDER = ("num_inference_steps", "scheduler", "guidance_scale", "seed")


def parameters_text(params: dict[str, Any], *, model: str = "") -> str:
    """The de-facto "parameters" text chunk (prompt, negative prompt, then key: value pairs) of SD tools."""
    lines = [params["prompt"]]
    if params.get("negative_prompt"):
        lines.append(f"{BY_NAME['negative_prompt'].a1111}: {params['negative_prompt']}")
    scheduler = params["scheduler"]
    pairs = [(BY_NAME[name].a1111, SCHEDULERS[scheduler].a1111_name if name == "scheduler" and scheduler in SCHEDULERS else params[name])
             for name in A1111_ORDER]
    pairs += [("Size", f"{params['width']}x{params['height']}"), ("Model", model)]
    pairs += [(p.a1111, params[p.name]) for p in PARAMETERS
              if p.a1111 and p.name not in A1111_ORDER and p.name != "negative_prompt" and params.get(p.name) not in (None, "")]
    if params.get("speed") == "draft":  # a full image says nothing: it is what every SD tool makes
        pairs.append(("Speed", "draft (DeepCache-style, deep features reused between steps)"))
    return "\n".join(lines + [", ".join(f"{key}: {value}" for key, value in pairs)])
