"""Training the embedded model: noisy captions, the command, resuming on the same path, fine-tuning from a saved model."""
from __future__ import annotations

import json
import re

import pytest
import torch
from django.core.management import call_command
from safetensors.torch import load_file

from generation import productshots, vocabulary
from generation.inference import training


def colour_word(shot: productshots.Shot) -> str:
    """The colour the caption names: the word just before the product's name."""
    phrases = "|".join(sorted(map(re.escape, productshots.KINDS[shot.kind]), key=len, reverse=True))
    return re.search(rf"(\w+) (?:{phrases}) on a", shot.caption).group(1)


def surface_named(shot: productshots.Shot) -> str:
    tail = shot.caption.split(" on a ", 1)[1]
    matches = [s for s, (phrases, _) in productshots.SURFACES.items() for p in phrases if tail.startswith(p)]
    # "white marble" starts with neither "white background" nor another surface's phrase, so one surface matches
    # unless a phrase is the prefix of another's (the longest wins).
    return max(matches, key=lambda s: max(len(p) for p in productshots.SURFACES[s][0] if tail.startswith(p)))


def test_caption_noise_names_other_colours_and_surfaces_and_leaves_the_pictures_alone():
    exact = productshots.dataset(range(300), seed=5, size=32)
    noisy = productshots.dataset(range(300), seed=5, size=32, caption_noise=0.3)
    again = productshots.dataset(range(300), seed=5, size=32, caption_noise=0.3)
    assert [s.caption for s in noisy] == [s.caption for s in again]
    assert all(a.image.tobytes() == b.image.tobytes() and (a.kind, a.colour, a.surface) == (b.kind, b.colour, b.surface)
               for a, b in zip(exact, noisy))
    assert all(colour_word(s) == s.colour and surface_named(s) == s.surface for s in exact)
    wrong_colour = [colour_word(s) != s.colour for s in noisy]
    wrong_surface = [surface_named(s) != s.surface for s in noisy]
    # 300 draws at p = 0.3: 90 expected, 66-114 holds with probability > 0.999
    assert 66 <= sum(wrong_colour) <= 114 and 66 <= sum(wrong_surface) <= 114
    assert all(colour_word(s) in productshots.COLOURS for s in noisy)
    # drawn independently: both wrong about p * p of the time, not always together
    both = sum(c and s for c, s in zip(wrong_colour, wrong_surface))
    assert 10 <= both <= 50


def test_focus_draws_a_colour_more_often_on_the_surfaces_of_other_names():
    # 6 kinds x 8 colours x 6 surfaces = 288 combinations; white on the 5 surfaces not called white, 3 times each
    plain, focused = productshots.combinations(), productshots.combinations(("white",), 3)
    assert len(plain) == 288 and len(focused) == 288 + 6 * 5 * 2
    assert focused.count(("mug", "white", "gray")) == 3 and focused.count(("mug", "white", "white")) == 1
    assert focused.count(("mug", "red", "gray")) == 1
    # a surface that names no colour: every shot on it, whatever its colour
    wood = productshots.combinations(("wood",), 2)
    assert len(wood) == 288 + 6 * 8 and wood.count(("mug", "red", "wood")) == 2 and wood.count(("mug", "red", "gray")) == 1
    shots = productshots.dataset(range(348), seed=5, size=16, focus=("white",), focus_weight=3)
    # one pass over the focused cycle: a quarter of its shots are white products away from white (90 of 348)
    assert sum(s.colour == "white" and s.surface != "white" for s in shots) == 90
    assert [s.caption for s in shots[:20]] == [s.caption for s in productshots.dataset(range(20), seed=5, size=16, focus=("white",), focus_weight=3)]
    with pytest.raises(ValueError, match="Unknown colour 'teal'"):
        productshots.combinations(("teal",), 2)


TINY = ["--shots", "8", "--batch-size", "2", "--warmup-steps", "1", "--checkpoint-every", "2", "--threads", "2"]


def train_tiny(folder, name, *options):
    """The training command on TINY's few shots, into ``folder``/``name`` (its workdir beside): the saved model's folder."""
    call_command("train_embedded_model", *TINY, *options, "--workdir", str(folder / f"w-{name}"),
                 "--out", str(folder / name), "--loss-plot", str(folder / "loss.png"))
    return folder / name


def weights(folder):
    return load_file(folder / "unet" / "diffusion_pytorch_model.safetensors")


@pytest.mark.django_db
def test_the_command_trains_resumes_on_the_same_path_and_fine_tunes(tmp_path, capsys):
    straight, resumed, tuned = tmp_path / "straight", tmp_path / "resumed", tmp_path / "tuned"
    call_command("train_embedded_model", *TINY, "--steps", "4", "--workdir", str(tmp_path / "w1"), "--out", str(straight),
                 "--loss-plot", str(tmp_path / "loss.png"))
    assert "render shots" in capsys.readouterr().err
    # Stopped after 2 steps, then run again asking for 4: it resumes from the checkpoint and ends where the straight run did.
    call_command("train_embedded_model", *TINY, "--steps", "2", "--workdir", str(tmp_path / "w2"), "--out", str(resumed),
                 "--loss-plot", str(tmp_path / "loss.png"))
    call_command("train_embedded_model", *TINY, "--steps", "4", "--workdir", str(tmp_path / "w2"), "--out", str(resumed),
                 "--loss-plot", str(tmp_path / "loss.png"))
    a, b = json.loads((straight / "training.json").read_text()), json.loads((resumed / "training.json").read_text())
    assert a["steps"] == b["steps"] == 4 and len(a["losses"]) == 4
    assert a["losses"] == b["losses"]
    wa, wb = weights(straight), weights(resumed)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Fine-tuning starts from the saved weights (at learning rate 0 it gives them back unchanged, where a fresh model
    # would be far from them), counts its own steps and keeps the parent's history.
    call_command("train_embedded_model", *TINY, "--steps", "2", "--caption-noise", "0.3", "--init-from", str(straight),
                 "--learning-rate", "0", "--workdir", str(tmp_path / "w3"), "--out", str(tuned), "--loss-plot", str(tmp_path / "loss.png"))
    c = json.loads((tuned / "training.json").read_text())
    assert c["steps"] == 6 and c["losses"][:4] == a["losses"] and len(c["losses"]) == 6
    assert c["parents"][0]["steps"] == 4 and c["parents"][0]["config"]["caption_noise"] == 0.0
    assert c["runs"][-1][0] == 4 and "fine-tuning from step 4" in c["runs"][-1][1] and "caption noise 0.3" in c["runs"][-1][1]
    wc = weights(tuned)
    assert all(torch.equal(wa[k], wc[k]) for k in wa)
    fresh = training.embedded.build_components("demo")["unet"].state_dict()
    assert sum(not torch.equal(fresh[k].to(wa[k].dtype), wa[k]) for k in wa) > len(wa) // 2  # training moved them

    from diffusers import StableDiffusionPipeline

    loaded = StableDiffusionPipeline.from_pretrained(tuned).unet.state_dict()
    assert all(torch.equal(loaded[k].to(wc[k].dtype), wc[k]) for k in wc)


def test_fine_tuning_from_a_folder_without_a_model_is_a_clear_error(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="share of the captions, from 0 to 1"):
        call_command("train_embedded_model", *TINY, "--steps", "1", "--caption-noise", "30", "--workdir",
                     str(tmp_path / "w"), "--out", str(tmp_path / "out"))
    with pytest.raises(CommandError, match="Unknown colour 'teal'"):
        call_command("train_embedded_model", *TINY, "--steps", "1", "--focus", "white,teal", "--focus-weight", "2",
                     "--workdir", str(tmp_path / "w"), "--out", str(tmp_path / "out"))
    with pytest.raises(CommandError, match="not a diffusers folder"):
        call_command("train_embedded_model", *TINY, "--steps", "1", "--init-from", str(tmp_path), "--workdir",
                     str(tmp_path / "w"), "--out", str(tmp_path / "out"))


def test_repaint_masks_keep_the_products_interior_or_repaint_a_rectangle_or_everything():
    products = torch.zeros(400, 1, 32, 32)
    products[:, :, 8:24, 10:22] = 1
    masks = training.repaint_masks(products, torch.Generator().manual_seed(0))
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    kinds = []
    for mask in masks[:, 0]:
        kept = mask == 0
        if not kept.any():
            kinds.append("everything")
        elif (kept <= (products[0, 0] == 1)).all():
            # the product shrunk by 1 to 3 cells on every side, as a scene's repaint mask shrinks it
            rows, cols = kept.any(1).nonzero().flatten(), kept.any(0).nonzero().flatten()
            r = int(rows[0]) - 8
            assert r in (1, 2, 3) and int(rows[-1]) == 23 - r and (int(cols[0]), int(cols[-1])) == (10 + r, 21 - r)
            assert kept.sum() == (16 - 2 * r) * (12 - 2 * r)
            kinds.append("product")
        else:
            rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
            assert mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all() and mask.sum() == len(rows) * len(cols)
            kinds.append("rectangle")
    # 400 draws at 0.7 / 0.15 / 0.15: 280 / 60 / 60 expected; these bounds hold with probability > 0.999
    assert 250 <= kinds.count("product") <= 310 and 35 <= kinds.count("rectangle") <= 85
    assert 35 <= kinds.count("everything") <= 85
    again = training.repaint_masks(products, torch.Generator().manual_seed(0))
    assert torch.equal(masks, again)


def test_around_a_kept_product_the_surface_alone_is_the_target():
    import numpy as np
    from PIL import ImageFilter

    shot = productshots.render("bottle", "red", "wood", seed=5)
    image, background = np.asarray(shot.image, dtype=np.int16), np.asarray(shot.background, dtype=np.int16)
    product = np.asarray(shot.mask) >= 128
    # the render without its product: the same surface and shadow far from the product, not the product on it
    far = ~np.asarray(shot.mask.filter(ImageFilter.MaxFilter(5))).astype(bool)
    assert np.abs(image - background)[far].max() <= 2
    assert np.abs(image - background)[product].mean() > 40

    products = torch.zeros(400, 1, 32, 32)
    products[:, :, 8:24, 10:22] = 1
    repaint = training.repaint_masks(products, torch.Generator().manual_seed(0))
    x0, surface = torch.full((400, 4, 32, 32), 0.7), torch.full((400, 4, 32, 32), -0.3)
    out = training.surround_with_surface(x0, surface, products, repaint)
    for i in range(400):
        kept = repaint[i, 0] == 0
        if kept.any() and bool(products[i, 0][kept].all()):  # a kept product: the surface all around it
            assert torch.all(out[i][:, kept] == 0.7) and torch.all(out[i][:, ~kept] == -0.3)
        else:  # a rectangle, or everything, repainted: the shot as it is
            assert torch.equal(out[i], x0[i])
    around = [bool((repaint[i, 0] == 0).any()) and bool(products[i, 0][repaint[i, 0] == 0].all()) for i in range(400)]
    assert 250 <= sum(around) <= 310  # 70% of the masks keep the product


@pytest.mark.django_db
def test_the_inpainting_unet_starts_as_the_model_with_five_zero_channels_and_resumes_on_the_same_path(tmp_path):
    from diffusers import UNet2DConditionModel

    from generation.inference import embedded

    def run(name, *options):
        return train_tiny(tmp_path, name, "--inpainting", *options)

    parent = load_file(embedded.TRAINED_DIR / "unet" / "diffusion_pytorch_model.safetensors")
    history = json.loads((embedded.TRAINED_DIR / "training.json").read_text())
    # at learning rate 0 it is the shipped model, with zeros for the mask and the masked image
    start = run("start", "--steps", "1", "--learning-rate", "0")
    unet = UNet2DConditionModel.from_pretrained(start, subfolder="unet")
    assert unet.config.in_channels == 9 and unet.config.out_channels == 4
    started = unet.state_dict()
    assert torch.equal(started["conv_in.weight"][:, :4].half(), parent["conv_in.weight"])
    assert not started["conv_in.weight"][:, 4:].any()
    assert all(torch.equal(started[k].half(), parent[k]) for k in parent if k != "conv_in.weight")
    assert sorted(p.name for p in start.iterdir()) == ["training.json", "unet"]  # the text encoder is the model's own
    record = json.loads((start / "training.json").read_text())
    assert record["steps"] == history["steps"] + 1 and "inpainting (9 channels)" in record["runs"][-1][1]
    assert record["parents"][-1]["steps"] == history["steps"]

    straight = run("straight", "--steps", "2")
    run("resumed", "--steps", "1")
    resumed = run("resumed", "--steps", "2")
    a, b = json.loads((straight / "training.json").read_text()), json.loads((resumed / "training.json").read_text())
    assert a["losses"] == b["losses"] and len(a["losses"]) == history["steps"] + 2
    wa, wb = weights(straight), weights(resumed)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert wa["conv_in.weight"][:, 4:].abs().sum() > 0  # it learns to read the mask and the kept pixels
    # taught the surface around the kept product: the same batches, another target, another loss
    surface = json.loads((run("surface", "--steps", "2", "--surround", "surface") / "training.json").read_text())
    assert "surface around the kept product" in surface["runs"][-1][1]
    assert surface["losses"][:history["steps"]] == a["losses"][:history["steps"]]
    assert surface["losses"][history["steps"]:] != a["losses"][history["steps"]:]
    with pytest.raises(Exception, match="shot or surface"):
        run("other", "--steps", "1", "--surround", "pixels")
    # Fine-tuned from a saved inpainting UNet (9 channels), it trains on from that UNet and carries its history on.
    again = run("again", "--steps", "1", "--learning-rate", "0", "--init-from", str(straight))
    assert all(torch.equal(weights(again)[k], wa[k]) for k in wa)
    again_record = json.loads((again / "training.json").read_text())
    assert again_record["losses"][:len(a["losses"])] == a["losses"] and again_record["steps"] == history["steps"] + 3


def test_placement_moves_and_scales_each_shot_with_its_mask_and_repeats_the_edges():
    from diffusers import DDPMScheduler

    from generation.inference import embedded

    x0 = torch.full((64, 4, 32, 32), -0.5)
    x0[:, :, 18:30, 12:20] = 1.0  # a product standing low in the frame, on a flat surface
    products = (x0[:, :1] > 0).float()
    noise = torch.zeros_like(x0)
    scheduler = DDPMScheduler.from_config(embedded.SD15_SCHEDULER_CONFIG)
    t = torch.zeros(64, dtype=torch.long)
    moved, masks, noisy = training._moved(x0, products, noise, scheduler, t, 0.25, torch.Generator().manual_seed(0))
    centres = []
    for image, mask in zip(moved[:, 0], masks[:, 0]):
        product = image > 0.25
        overlap = (product & (mask > 0)).sum() / (product | (mask > 0)).sum()
        assert overlap > 0.8  # the mask is still the product's
        # the frame's top row and sides are still the surface: edges repeated where the shot moved away (not zeros)
        assert torch.allclose(torch.cat([image[0], image[:, 0], image[:, -1]]), torch.tensor(-0.5))
        rows = mask.any(1).nonzero().flatten()
        centres.append(float(rows.float().mean()))
    # moved up and down by up to a quarter of the frame, and scaled
    assert min(centres) < 20 and max(centres) > 26 and len({int(m.sum()) for m in masks}) > 10
    assert torch.allclose(noisy, scheduler.add_noise(moved, noise, t))


def test_everyday_captions_say_the_shot_in_many_shapes_with_words_the_tokenizer_holds_whole(tmp_path):
    from transformers import CLIPTokenizer

    from generation import phrasing
    from generation.wordpieces import write_tokenizer_files

    write_tokenizer_files(tmp_path, vocabulary.vocabulary_text())
    tokenizer = CLIPTokenizer.from_pretrained(tmp_path, model_max_length=77)
    rng, shapes = __import__("random").Random(3), {"surface first": 0, "upper case": 0, "plural": 0, "unsaid": 0}
    for i in range(600):
        kind, colour = list(productshots.KINDS)[i % 6], list(productshots.COLOURS)[i % 8]
        surface = None if i % 10 == 0 else list(productshots.SURFACES)[i % 6]
        text = phrasing.caption(kind, colour, surface, rng)
        lower = text.lower()
        # it names the kind, the colour and (when asked) the surface with one of their phrases
        assert any(re.search(rf"\b{re.escape(p)}", lower) for p in phrasing.KINDS[kind]), text
        assert any(re.search(rf"\b{re.escape(c)}\b", lower) for c in phrasing.COLOURS[colour]), text
        if surface:
            on, against = phrasing.SURFACES[surface]
            assert any(re.search(rf"\b{re.escape(p)}\b", lower) for p in on + against), text
        # every word is one token: the text encoder reads words, not bytes
        pieces = tokenizer.convert_ids_to_tokens(tokenizer(text).input_ids)[1:-1]
        assert all(p.endswith("</w>") for p in pieces), (text, pieces)
        assert not vocabulary.unknown_words(text)
        shapes["surface first"] += lower.startswith("on ") or " on it" in lower  # "wooden table with a mug on it"
        shapes["upper case"] += text.isupper()
        shapes["plural"] += any(phrasing.plural(p) in lower for p in phrasing.KINDS[kind] if phrasing.plural(p) != p)
        shapes["unsaid"] += surface is None
    assert all(n >= 20 for n in shapes.values()), shapes


def test_a_prompt_without_a_surface_is_taught_as_the_studio_backdrop():
    from generation import phrasing

    config = training.TrainingConfig(phrasing=True, caption_noise=0.3)
    shots = [(kind, colour, surface) for kind in productshots.KINDS for colour in productshots.COLOURS
             for surface in productshots.SURFACES]
    colours = {p for phrases in phrasing.COLOURS.values() for p in phrases}
    places = [p for on, against in phrasing.SURFACES.values() for p in on + against if p not in colours]
    names_a_surface = re.compile(rf"\b(?:{'|'.join(map(re.escape, places))})\b|\bon it\b"
                                 rf"|(?:\b(?:on|against|over|of)(?: top of)?(?: an?| the)?|[,;|:-]) (?:{'|'.join(colours)})\b")
    unsaid = everyday_captions = 0
    for step in range(4):
        said, taught = training.phrasing_captions(shots, config, step)
        for (kind, colour, surface), grammar, everyday in zip(shots, said, taught):
            everyday_captions += grammar != everyday
            if names_a_surface.search(everyday.lower()):
                continue
            unsaid += 1
            # the teacher reads the shot's own backdrop: white, and gray behind a white product
            product, place = grammar.split(" on a ")
            named = "white" if "white" in place else "gray"
            assert named == ("gray" if " white " in f" {product} " else "white"), (grammar, everyday)
            assert surface == named, (surface, grammar, everyday)
    assert 0.05 * everyday_captions < unsaid < 0.15 * everyday_captions, (unsaid, everyday_captions)


def test_new_words_start_from_how_the_old_vocabulary_spelled_them(tmp_path):
    from transformers import CLIPTokenizer

    from generation import phrasing
    from generation.wordpieces import write_tokenizer_files

    grammar = productshots.grammar_words()  # the vocabulary before the everyday words
    write_tokenizer_files(tmp_path / "old", grammar)
    write_tokenizer_files(tmp_path / "new", vocabulary.vocabulary_text())
    old = CLIPTokenizer.from_pretrained(tmp_path / "old")
    new = CLIPTokenizer.from_pretrained(tmp_path / "new")
    weights = torch.randn(len(old), 8)
    table = training.carry_vocabulary(weights, old, new)
    assert table.shape == (len(new), 8) and len(new) > len(old)
    for word in ("headphones</w>", "wooden</w>", "<|endoftext|>", "a"):
        assert torch.equal(table[new.convert_tokens_to_ids(word)], weights[old.convert_tokens_to_ids(word)])
    spelled = old("trainers", add_special_tokens=False).input_ids
    assert len(spelled) > 1  # the old vocabulary had no such word
    assert torch.allclose(table[new.convert_tokens_to_ids("trainers</w>")], weights[spelled].mean(dim=0))


@pytest.mark.django_db
def test_phrasing_trains_the_text_encoder_alone_against_the_models_own_reading_of_the_grammar(tmp_path):
    from transformers import CLIPTextModel, CLIPTokenizer

    from generation.inference import embedded

    def run(name, *options):
        return train_tiny(tmp_path, name, "--phrasing", *options)

    # Told only the grammar's captions, the student is the teacher: nothing to learn, the loss is exactly 0.
    same = json.loads((run("same", "--steps", "2", "--phrasing-share", "0") / "training.json").read_text())
    history = json.loads((embedded.TRAINED_DIR / "training.json").read_text())
    assert same["losses"][history["steps"]:] == [0.0, 0.0]
    # Told everyday phrasings it learns: the UNet is the shipped one bit for bit, the text encoder moved.
    straight = run("straight", "--steps", "2", "--phrasing-share", "1", "--caption-noise", "0.3")
    record = json.loads((straight / "training.json").read_text())
    assert all(loss > 0 for loss in record["losses"][history["steps"]:])
    assert "phrasing (text encoder only)" in record["runs"][-1][1]
    parent = load_file(embedded.TRAINED_DIR / "unet" / "diffusion_pytorch_model.safetensors")
    assert all(torch.equal(weights(straight)[k], parent[k]) for k in parent)
    taught = CLIPTextModel.from_pretrained(straight / "text_encoder")
    before = CLIPTextModel.from_pretrained(embedded.TRAINED_DIR / "text_encoder")
    tokenizer = CLIPTokenizer.from_pretrained(straight / "tokenizer")
    ids = tokenizer(["green trainers on a concrete floor"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    assert not vocabulary.unknown_words("green trainers on a concrete floor")
    assert ids[0, 2] == tokenizer.convert_tokens_to_ids("trainers</w>")
    positions = before.state_dict()["embeddings.position_embedding.weight"]
    assert not torch.equal(taught.state_dict()["embeddings.position_embedding.weight"], positions)
    # stopped and resumed, it takes the same path
    run("resumed", "--steps", "1", "--phrasing-share", "1", "--caption-noise", "0.3")
    resumed = run("resumed", "--steps", "2", "--phrasing-share", "1", "--caption-noise", "0.3")
    assert json.loads((resumed / "training.json").read_text())["losses"] == record["losses"]
    # Learning from the shots instead, the same grammar captions give a loss: the shots' own noise, not the teacher's
    # reading, is the target, so the text encoder can learn what the teacher never drew well.
    shots = json.loads((run("shots", "--steps", "1", "--phrasing-share", "0", "--phrasing-target", "shots")
                        / "training.json").read_text())
    assert shots["losses"][-1] > 0
    with pytest.raises(Exception, match="one at a time"):
        run("both", "--steps", "1", "--inpainting")
    with pytest.raises(Exception, match="teacher or shots"):
        run("other", "--steps", "1", "--phrasing-target", "pixels")


@pytest.mark.django_db
def test_phrasing_can_train_the_unet_from_the_shots_with_the_text_encoder_frozen(tmp_path):
    from generation.inference import embedded

    def run(name, *options):
        return train_tiny(tmp_path, name, "--phrasing", *options)

    unet = run("unet", "--steps", "2", "--phrasing-share", "1", "--caption-noise", "0.3", "--phrasing-target", "shots",
               "--phrasing-trains", "unet")
    record = json.loads((unet / "training.json").read_text())
    assert "phrasing (UNet only)" in record["runs"][-1][1]
    # The text encoder, which the inpainting UNet reads too, is the shipped one bit for bit; the UNet moved.
    parent_text = load_file(embedded.TRAINED_DIR / "text_encoder" / "model.safetensors")
    text = load_file(unet / "text_encoder" / "model.safetensors")
    assert all(torch.equal(text[k], parent_text[k]) for k in parent_text)
    parent = load_file(embedded.TRAINED_DIR / "unet" / "diffusion_pytorch_model.safetensors")
    assert any(not torch.equal(weights(unet)[k], parent[k]) for k in parent)
    # A UNet cannot be distilled from itself: it learns from the shots, and says so when asked otherwise.
    with pytest.raises(Exception, match="--phrasing-target shots"):
        run("teacher", "--steps", "1", "--phrasing-trains", "unet")
    with pytest.raises(Exception, match="text or unet"):
        run("other", "--steps", "1", "--phrasing-target", "shots", "--phrasing-trains", "vae")
