"""The registry of generation modes, the way diffusers keeps its pipeline mappings: one name -> one Mode.

Everything mode-specific asks here: parameters and validation, the form and the API, the runner and the
loaded model, execution, PNG metadata and signing. A mode is one module (``text2img``, ``img2img``,
``scene``); another one registers itself with ``register`` (SDSTUDIO_EXTRA_MODES names such modules, imported
by every process at start). Plain Python: no Django, no torch.
"""
from __future__ import annotations

import importlib
from typing import Any

from generation import parameters as P
from generation.modes.base import COMPOSITE, TRAINED, Action, Mode, Prepared
from generation.modes.img2img import Img2Img
from generation.modes.scene import Scene
from generation.modes.text2img import Text2Img
from sdstudio.words import gettext

__all__ = ["Action", "COMPOSITE", "Mode", "Prepared", "TRAINED", "get", "register", "unregister", "names", "choices", "all_modes",
           "using", "defaults", "coerce", "validate"]

_REGISTRY: dict[str, Mode] = {}


def register(mode: Mode | type[Mode]) -> Mode:
    """Add a mode (an instance or a Mode subclass); registering the same name again replaces it."""
    instance = mode() if isinstance(mode, type) else mode
    unknown = set(instance.parameters) - {p.name for p in P.PARAMETERS if p.per_mode}
    if unknown:
        raise ValueError(f"Mode {instance.name!r} names parameters that are not per-mode parameters: {', '.join(sorted(unknown))}.")
    _REGISTRY[instance.name] = instance
    return instance


def unregister(name: str) -> None:
    """Remove a mode added with ``register`` (tests that add one take it away again)."""
    _REGISTRY.pop(name, None)


for _mode in (Text2Img, Img2Img, Scene):
    register(_mode)


def load_extra(module_paths) -> None:
    """Import modules that register more modes (SDSTUDIO_EXTRA_MODES)."""
    for path in module_paths:
        importlib.import_module(path)


def get(name: str | Mode) -> Mode:
    """The registered mode of that name (a Mode is returned as it is)."""
    if isinstance(name, Mode):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown mode {name!r}; choose one of {', '.join(_REGISTRY)}.") from None


def all_modes() -> list[Mode]:
    return list(_REGISTRY.values())


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def choices() -> list[tuple[str, str]]:
    """(name, label) of every mode, for model fields, forms and the API (a callable: modes added later appear)."""
    return [(mode.name, gettext(mode.label)) for mode in _REGISTRY.values()]


def using(parameter: str) -> frozenset[str]:
    """The modes that use a parameter."""
    p = P.BY_NAME[parameter]
    return frozenset(mode.name for mode in _REGISTRY.values() if mode.uses(p.name, per_mode=p.per_mode))


def uses(mode: str, parameter: str) -> bool:
    return mode in _REGISTRY and _REGISTRY[mode].uses(parameter, per_mode=P.BY_NAME[parameter].per_mode)


def with_photo() -> frozenset[str]:
    return frozenset(mode.name for mode in _REGISTRY.values() if mode.uses_photo)


def defaults(mode: str = "text2img") -> dict[str, Any]:
    return {p.name: (p.default if uses(mode, p.name) else None) for p in P.PARAMETERS}


def coerce(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Every parameter with its default filled in and converted to its type; (values, errors)."""
    unknown = set(params) - set(P.NAMES)
    if unknown:
        raise TypeError(f"Unknown job parameter(s): {', '.join(sorted(unknown))}.")
    mode = params.get("mode") or P.BY_NAME["mode"].default
    values, errors = {}, {}
    for p in P.PARAMETERS:
        value = params.get(p.name, p.default if uses(mode, p.name) else None)
        if value == "" and p.choices:  # a choice left blank (a form's empty option) is its default
            value = p.default if uses(mode, p.name) else None
        if value is not None and value != "":
            try:
                value = p.type(value)
            except (TypeError, ValueError):
                errors[p.name] = (gettext("%(label)s must be a number.") if p.type is not str else
                                  gettext("%(label)s must be a text.")) % {"label": p.shown_label}
                value = None
        elif p.type is str:
            value = ""
        else:
            value = None
        values[p.name] = value.strip() if isinstance(value, str) else value
    return values, errors


def validate(values: dict[str, Any], *, has_source: bool) -> dict[str, str]:
    """The checks diffusers' check_inputs makes, as field errors a person can act on (``values`` from coerce)."""
    errors: dict[str, str] = {}
    mode = values["mode"]
    if mode not in _REGISTRY:
        return {"mode": gettext("Mode must be one of %(modes)s.") % {"modes": ", ".join(_REGISTRY)}}
    info = _REGISTRY[mode]
    for p in P.PARAMETERS:
        value = values[p.name]
        if p.name == "prompt":
            if not value:
                errors["prompt"] = gettext("Write a prompt: it says what the image should show.")
            elif len(value) > P.PROMPT_MAX:
                errors["prompt"] = gettext("The prompt is %(length)s characters; the limit is %(limit)s (CLIP reads the first 77 "
                                           "tokens).") % {"length": len(value), "limit": P.PROMPT_MAX}
            continue
        if p.name == "mode":
            continue
        if not info.uses(p.name, per_mode=p.per_mode):
            if value not in (None, ""):
                errors[p.name] = gettext("%(label)s applies to %(modes)s only; leave it blank.") % {
                    "label": p.shown_label, "modes": gettext(" and ").join(sorted(gettext(_REGISTRY[m].label).lower() for m in using(p.name)))}
            continue
        if value is None or value == "":
            if not p.optional and p.type is not str:
                errors[p.name] = required_message(mode, p.name)
            continue
        message = p.check(value)
        if message:
            errors[p.name] = message
    if info.uses_photo and not has_source:
        errors["source_photo"] = gettext("%(mode)s needs a source photo: pick one of the product's photos or upload one.") % {
            "mode": gettext(info.label)}
    if info.uses("strength", per_mode=True):
        steps, strength = values["num_inference_steps"], values["strength"]
        if "strength" not in errors and "num_inference_steps" not in errors and steps and strength and int(steps * strength) < 1:
            errors["strength"] = gettext("Steps x strength = %(product).2f: fewer than one denoising step would run. Raise one of "
                                         "them.") % {"product": steps * strength}
    return errors


def required_message(mode: str, parameter: str) -> str:
    """The sentence for a parameter a mode needs and did not get (the form, the API and the services say the same)."""
    p = P.BY_NAME[parameter]
    return gettext("%(mode)s needs %(parameter)s: %(range)s") % {
        "mode": gettext(get(mode).label), "parameter": p.shown_label.lower(), "range": p.range_text()} + p.hint_text()
