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


# The model-size rule, one table for both languages (test/unit/pipeline-core.test.ts has the same).
MODEL_SIZE_TABLE = [(90, 0.5, 46), (641, 0.5, 320), (20, 0.25, 16), (1080, 0.5, 540), (250, 0.5, 126), (374, 0.5, 188)]


@pytest.mark.parametrize("dim, scale, expected", MODEL_SIZE_TABLE)
def test_model_size_rule_matches_the_runtime(dim, scale, expected):
    from trainer.train import model_size
    assert model_size(dim, scale) == expected


def test_every_shipped_manifest_with_a_lineage_matches_its_recipe_and_the_recipe_prints_its_commands():
    from trainer import recipe
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
        assert shipped["id"] in last, "the recipe's last command must make this model"
    assert lineages >= 1


def test_recipe_refuses_an_unknown_model_with_the_known_ones():
    from trainer import recipe
    with pytest.raises(FileNotFoundError, match="recipes exist for .*magenta-steady"):
        recipe.load("no-such-model")
