import glob
import json
import os

import pytest

from trainer import manifest

BASE = {"id": "candy", "title": "Candy", "contract": 1, "file": "candy.onnx"}


def test_every_shipped_manifest_and_fixture_follows_the_schema():
    paths = glob.glob(os.path.join(manifest.ROOT, "models", "*.json")) + \
        glob.glob(os.path.join(manifest.ROOT, "test", "fixtures", "models", "*.json"))
    assert len(paths) >= 6
    for path in paths:
        with open(path) as f:
            manifest.validate(json.load(f), path)


def test_contract_forms_come_from_the_schema():
    assert manifest.contract_versions() == [manifest.SINGLE_NETWORK, manifest.ARBITRARY_STYLE] == [1, 2]


@pytest.mark.parametrize("change, message", [
    ({"contract": 3}, "contract"),
    ({"contract": 2}, "arbitrary"),  # the arbitrary form needs its encoder named
    ({"arbitrary": {"encoder": "candy.style.onnx", "styleLength": 256, "paintingSize": 512}}, "contract"),
    ({"contract": 2, "arbitrary": {"encoder": "x.style.onnx", "styleLength": 256, "paintingSize": 512}}, "candy.style.onnx"),
    ({"title": ""}, "title"),
    ({"sha256": "xyz"}, "sha256"),
    ({"runtime": {"modelScale": 0}}, "runtime.modelScale"),
    ({"variant": "turbo"}, "variant"),
    ({"file": "other.onnx"}, "file must be candy.onnx"),
])
def test_refuses_what_the_runtime_refuses(change, message):
    with pytest.raises(ValueError, match=message):
        manifest.validate({**BASE, **change}, "models/candy.json")


def test_update_validates_before_writing(tmp_path):
    path = tmp_path / "candy.json"
    manifest.write(dict(BASE), str(path))
    manifest.update(str(path), preview="previews/candy.jpg", extra_figure=3)
    assert json.loads(path.read_text())["preview"] == "previews/candy.jpg"
    with pytest.raises(ValueError):
        manifest.update(str(path), contract=7)
    assert json.loads(path.read_text())["contract"] == 1  # the bad change was never written


# The runtime's size rules: one table for both languages (test/fixtures/sizing.json).
with open(os.path.join(manifest.ROOT, "test", "fixtures", "sizing.json")) as _f:
    SIZING = json.load(_f)
MODEL_SIZE_TABLE = [tuple(row) for row in SIZING["modelSize"]]


@pytest.mark.parametrize("dim, scale, expected", MODEL_SIZE_TABLE)
def test_model_size_rule_matches_the_runtime(dim, scale, expected):
    from trainer.sizing import model_size
    assert model_size(dim, scale) == expected


# (output width, height, manifest model scale, native short side, stroke scale) -> model size.
WORKING_SIZE_TABLE = [(tuple(args), tuple(size)) for args, size in SIZING["workingSize"]]


@pytest.mark.parametrize("args, expected", WORKING_SIZE_TABLE)
def test_working_size_rule_matches_the_runtime(args, expected):
    from trainer.sizing import model_size, working_scale
    width, height, model_scale, native, stroke = args
    scale = working_scale(height, width, model_scale, native, stroke)
    assert (model_size(width, scale) if scale < 1 else width, model_size(height, scale) if scale < 1 else height) == expected


def test_a_stroke_scale_out_of_range_is_refused():
    from trainer.sizing import working_scale
    with pytest.raises(ValueError, match="stroke scale"):
        working_scale(720, 1280, 1.0, 512, 8.0)


def test_every_shipped_manifest_with_a_lineage_matches_its_recipe_and_the_recipe_prints_its_commands():
    from trainer import lineage as recipe
    lineages = 0
    for path in glob.glob(os.path.join(manifest.ROOT, "models", "*.json")):
        with open(path) as f:
            shipped = json.load(f)
        if "lineage" not in shipped:
            continue
        lineages += 1
        built_by = recipe.load(shipped["lineage"]["recipe"])
        assert shipped["lineage"] == recipe.lineage(built_by), f"{path}: its lineage differs from trainer/recipes/{built_by['id']}.json"
        last = recipe.commands(built_by)[-1]
        assert shipped.get("variantOf", shipped["id"]) in last, "the recipe's last command must make this model (or the model it is a variant of)"
    assert lineages >= 1


def test_a_recipe_starting_from_a_shipped_model_prints_where_it_comes_from():
    from trainer import lineage as recipe
    built_by = {"id": "x", "stages": [
        {"command": "from-git", "commit": "abc123", "path": "models/x.onnx", "to": "runs/init/x.onnx"},
        {"command": "train", "run": "runs/x", "args": {"init": "runs/init/x.onnx", "steps": 4}},
        {"command": "export", "args": {"checkpoint": "runs/x/checkpoint.pt", "id": "x", "fp16": True}},
    ]}
    lines = recipe.shell_lines(built_by, data="/data")
    assert lines[0] == "mkdir -p runs/init && git show abc123:models/x.onnx > runs/init/x.onnx"
    assert lines[1] == "/usr/bin/python3 -m trainer train --run runs/x --init runs/init/x.onnx --steps 4"
    assert lines[2].endswith("export --checkpoint runs/x/checkpoint.pt --id x --fp16")
    assert recipe.lineage(built_by)["stages"][0] == {"command": "from-git", "commit": "abc123", "path": "models/x.onnx", "to": "runs/init/x.onnx"}


def test_recipe_refuses_an_unknown_model_with_the_known_ones():
    from trainer import lineage as recipe
    with pytest.raises(FileNotFoundError, match="recipes exist for .*magenta-steady"):
        recipe.load("no-such-model")
