"""The embedded model reads everyday prompts into the caption grammar it was trained on (generation.reading)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from generation import reading
from generation.experiments import STUDY_PROMPT

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"


@pytest.mark.parametrize("prompt, caption", [
    ("Green trainers on a concrete floor", "product shot of green sneaker on a gray background, studio lighting"),
    ("RED MUG ON WHITE", "product shot of red ceramic mug on a white background, studio lighting"),
    ("wooden table with a green bottle on it", "product shot of green water bottle on a wooden table, studio lighting"),
    ("white desk lamp on black", "product shot of white desk lamp on a black background, studio lighting"),
    ("red smart watch on a white marble table", "product shot of red wristwatch on a marble surface, studio lighting"),
    ("an orange mug, marble", "product shot of orange ceramic mug on a marble surface, studio lighting"),
    ("YELLOW WATER BOTTLE ON A GREY TABLE", "product shot of yellow water bottle on a gray background, studio lighting"),
    # no surface named: the backdrop the model was taught for the colour (white; gray behind a white product)
    ("sleek black wireless headphones", "product shot of black wireless headphones on a white background, studio lighting"),
    ("white sneakers", "product shot of white sneaker on a gray background, studio lighting"),
])
def test_everyday_prompts_are_read_into_the_caption_grammar(prompt, caption):
    assert reading.model_prompt(prompt) == caption


@pytest.mark.parametrize("prompt", [
    STUDY_PROMPT,  # in the grammar already: the brief's study is drawn from the prompt as typed
    "product shot of red mug on a wooden table, studio lighting",
    "a red and white mug",  # two colours: not guessed at
    "a mug next to a bottle",  # two kinds
    "red mug on a wooden table against a blue wall",  # two surfaces
    "sunset over the mountains",  # no product the model knows
    "red water bottle on a granite shelf by the sea",  # a shelf of a material it never read: not a wooden one
    "",
])
def test_prompts_it_cannot_read_for_sure_are_given_as_typed(prompt):
    assert reading.model_prompt(prompt) == prompt


@pytest.mark.parametrize("name", ["natural_prompts.csv", "natural_prompts_heldout.csv", "readme_prompts.csv"])
def test_the_benchs_hand_written_prompts_are_read_as_a_person_means_them(name):
    # given the prompts a shop would type, each labelled by hand with what a person expects to see
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    misread, typed = [], []
    for row in rows:
        found = reading.read(row["prompt"])
        if found is None:  # not guessed at: given as typed
            typed.append(row["prompt"])
        elif (found.kind, found.colour) != (row["kind"], row["colour"]) or (
                row["surface"] and found.surface != row["surface"]) or (not row["surface"] and found.surface_said):
            misread.append((row["prompt"], found))
    # then none is read as something else, and all but one in twenty are read
    assert len(rows) >= 5 and not misread and len(typed) <= len(rows) // 20, (misread, typed)


@pytest.mark.parametrize("model, reads", [("", True), ("embedded", True), ("embedded-random", False),
                                          ("stable-diffusion-v1-5/stable-diffusion-v1-5", False)])
def test_only_the_trained_embedded_model_is_given_its_reading(model, reads):
    import torch

    from generation.inference.config import InferenceConfig
    from generation.inference.pipelines import LoadedModel

    loaded = LoadedModel(text2img=None, img2img=None, scheduler_config={}, model_label="", model_id="", device="cpu",
                         dtype=torch.float32, load_seconds=0.0, config=InferenceConfig(model=model))
    prompt = "Green trainers on a concrete floor"
    assert loaded.model_prompt(prompt, "text2img") == (reading.model_prompt(prompt) if reads else prompt)
    assert loaded.model_prompt(prompt, "scene") == prompt  # a scene is given its prompt as typed
    assert reading.model_prompt(prompt) != prompt
