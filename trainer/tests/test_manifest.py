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


def test_every_shipped_model_records_the_lineage_of_its_recipe_and_the_recipe_carries_its_training_settings():
    from trainer import lineage as recipe
    paths = glob.glob(os.path.join(manifest.ROOT, "models", "*.json")) + \
        glob.glob(os.path.join(manifest.ROOT, "models", "baselines", "*.json"))
    assert len(paths) >= 19
    for path in paths:
        with open(path) as f:
            shipped = json.load(f)
        assert "lineage" in shipped, f"{path}: no lineage (a shipped model needs a recipe in trainer/recipes)"
        built_by = recipe.load(shipped["lineage"]["recipe"])
        assert shipped["lineage"] == recipe.lineage(built_by), f"{path}: its lineage differs from trainer/recipes/{built_by['id']}.json"
        last = recipe.commands(built_by)[-1]
        assert shipped.get("variantOf", shipped["id"]) in last, "the recipe's last command must make this model (or the model it is a variant of)"
        if shipped["contract"] == 1:
            assert recipe.disagreements(built_by, shipped) == [], path


def _planted():
    return {"id": "x", "stages": [
        {"command": "train", "run": "runs/x", "args": {"style": "{data}/styles/x.jpg", "steps": 30, "style-weight": 8e4,
                                                        "keep-checkpoints": True}},
        {"command": "average", "positional": ["runs/x/step20.pt", "runs/x/step30.pt"], "args": {"out": "runs/x/mean.pt"}},
        {"command": "export", "args": {"checkpoint": "runs/x/mean.pt", "id": "x", "model-scale": 0.5}},
    ]}


def test_a_recipe_that_drifts_from_what_the_manifest_records_is_named_setting_by_setting():
    from trainer import lineage as recipe
    shipped = {"runtime": {"modelScale": 0.5}, "training": {
        "style": "x.jpg", "style_weight": 80000.0, "steps": 30, "steps_done": 30, "averaged_steps": [20, 30]}}
    assert recipe.disagreements(_planted(), shipped) == []
    drifted = dict(shipped, training=dict(shipped["training"], style_weight=1.2e5, blob_weight=1e9, style="y.jpg",
                                          averaged_steps=[10, 30]), runtime={"modelScale": 1.0})
    problems = recipe.disagreements(_planted(), drifted)
    assert any(p.startswith("style_weight: the manifest records 120000.0") for p in problems)
    assert any(p.startswith("blob_weight: the manifest records 1000000000.0, the recipe does not set it") for p in problems)
    assert any(p.startswith("style: ") for p in problems)
    assert any(p.startswith("averaged steps: ") for p in problems)
    assert any(p.startswith("runtime.modelScale: ") for p in problems)
    late = dict(shipped, training=dict(shipped["training"], steps_done=40))
    assert recipe.disagreements(_planted(), late) == ["steps: the manifest's network is at step 40, the recipe's at 30"]


def test_a_recipe_names_the_data_folder_and_positional_arguments_where_they_go():
    from trainer import lineage as recipe
    lines = recipe.shell_lines(_planted(), data="/d")
    assert lines[0].split(" -m trainer ")[1] == "train --run runs/x --style /d/styles/x.jpg --steps 30 --style-weight 80000.0 --keep-checkpoints"
    assert lines[1].split(" -m trainer ")[1] == "average runs/x/step20.pt runs/x/step30.pt --out runs/x/mean.pt"


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
