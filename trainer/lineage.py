"""Recipes: the stages that rebuild a shipped model (trainer/recipes/<id>.json),
and the lineage a manifest records of the recipe it was built by.

A stage is a trainer command with its arguments (`args`, `--key value`, `true`
for a bare flag; `positional` for arguments without a name; `{data}` in a value
stands for the data folder), or `from-git`: a file as it was shipped at an
earlier commit (a model's .onnx and its .json, the init or the teacher of a
later stage). A test checks that every shipped manifest records its recipe's
lineage and that the recipe's last training stage carries the settings the
manifest's `training` block says the network was trained with.
"""
import json
import os
import shlex

RECIPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipes")
DEFAULT_DATA = os.path.join("..", "shared", "data")


def known():
    return sorted(n[:-5] for n in os.listdir(RECIPES) if n.endswith(".json"))


def load(model_id):
    path = os.path.join(RECIPES, f"{model_id}.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no recipe for {model_id!r}: recipes exist for {', '.join(known())}")
    with open(path) as f:
        recipe = json.load(f)
    if recipe.get("id") != model_id or not recipe.get("stages"):
        raise ValueError(f"{path}: a recipe needs its own id and at least one stage")
    return recipe


def _value(value, data):
    return str(value).replace("{data}", data)


def commands(recipe, data=None):
    """Each stage as the argv list of one command: `python3 -m trainer ...`, or for a
    `from-git` stage `git show COMMIT:PATH`, whose output goes to the stage's `to`
    (see shell_lines)."""
    data = data or DEFAULT_DATA
    out = []
    for stage in recipe["stages"]:
        if stage["command"] == "from-git":
            out.append(["git", "show", f"{stage['commit']}:{stage['path']}"])
            continue
        argv = ["/usr/bin/python3", "-m", "trainer", stage["command"]]
        argv += [_value(v, data) for v in stage.get("positional", [])]
        if "run" in stage:
            argv += ["--run", stage["run"]]
        for key, value in stage.get("args", {}).items():
            argv += [f"--{key}"] + ([] if value is True else [_value(value, data)])
        if stage["command"] in ("adain-train", "adain") and data != DEFAULT_DATA:
            argv += ["--data", data]
        out.append(argv)
    return out


def shell_lines(recipe, data=None):
    """The commands as lines for a shell, in order."""
    lines = []
    for stage, argv in zip(recipe["stages"], commands(recipe, data)):
        line = " ".join(shlex.quote(a) for a in argv)
        if stage["command"] == "from-git":
            folder = os.path.dirname(stage["to"])
            line = (f"mkdir -p {shlex.quote(folder)} && " if folder else "") + f"{line} > {shlex.quote(stage['to'])}"
        lines.append(line)
    return lines


def lineage(recipe):
    """What a manifest records of the recipe it was built by."""
    def step(s):
        if s["command"] == "from-git":
            return {key: s[key] for key in ("command", "commit", "path", "to")}
        return {key: s[key] for key in ("command", "run", "positional", "args") if key in s}
    return {"recipe": recipe["id"], "stages": [step(s) for s in recipe["stages"]]}


# Settings a run records that say where or how fast it ran, not what it learned.
_NOT_COMPARED = {"steps", "steps_done", "init", "teacher", "style", "content", "width", "blocks", "threads",
                 "device", "keep_checkpoints", "averaged_from", "averaged_steps", "no_temporal", "random_vgg",
                 "checkpoint_every", "log_every", "pruned"}


def _same(a, b):
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def disagreements(recipe, manifest):
    """Where the recipe's exported network and the manifest's `training` block differ
    (an empty list when they agree): the export's checkpoint is traced to the training
    stage that wrote it (through `average`), whose arguments must carry every recorded
    setting, and whose steps must reach the recorded step."""
    stages = recipe["stages"]
    export = next((s for s in reversed(stages) if s["command"] == "export"), None)
    if export is None:
        return ["the recipe has no export stage"]
    problems = []
    checkpoint = export["args"]["checkpoint"]
    averaged = next((s for s in stages if s["command"] == "average" and s["args"].get("out") == checkpoint), None)
    sources = averaged["positional"] if averaged else [checkpoint]
    run = os.path.dirname(sources[0])
    train = next((s for s in stages if s.get("run") == run), None)
    if train is None:
        return [f"no stage trains the run {run} that the export reads"]
    training = manifest.get("training", {})
    args = {k.replace("-", "_"): v for k, v in train["args"].items()}
    for key, recorded in training.items():
        if key in _NOT_COMPARED or recorded in ("", None, False):
            continue
        if key not in args:
            problems.append(f"{key}: the manifest records {recorded!r}, the recipe does not set it")
        elif not _same(args[key], recorded):
            problems.append(f"{key}: the manifest records {recorded!r}, the recipe sets {args[key]!r}")
    for key in ("style", "content"):
        if key in training and os.path.basename(str(args.get(key, "")).rstrip("/")) != training[key]:
            problems.append(f"{key}: the manifest records {training[key]!r}, the recipe reads {args.get(key)!r}")
    steps_at = [int(os.path.basename(p)[4:-3]) if os.path.basename(p).startswith("step") else int(args["steps"])
                for p in sources]
    if "steps_done" in training and max(steps_at) != training["steps_done"]:
        problems.append(f"steps: the manifest's network is at step {training['steps_done']}, the recipe's at {max(steps_at)}")
    if "averaged_steps" in training and sorted(steps_at) != sorted(training["averaged_steps"]):
        problems.append(f"averaged steps: the manifest records {training['averaged_steps']}, the recipe averages {steps_at}")
    runtime = manifest.get("runtime", {})
    for flag, key in (("model-scale", "modelScale"), ("native-short-side", "nativeShortSide")):
        if key in runtime and not _same(export["args"].get(flag, "missing"), runtime[key]):
            problems.append(f"runtime.{key}: the manifest has {runtime[key]}, the export sets {export['args'].get(flag)}")
    return problems


def style_settings(recipe):
    """What a new variant of a recipe's style reuses: the painting's file name and its
    credits (the export's), and the style loss of the training stage it was exported from."""
    export = next(s for s in reversed(recipe["stages"]) if s["command"] == "export")["args"]
    train = [s for s in recipe["stages"] if s["command"] == "train"][-1]["args"]
    settings = {"image": os.path.basename(str(train["style"]))}
    settings.update({k: export.get(k, "") for k in ("title", "painting", "artist", "year", "licence", "source")})
    settings.update({"style_weight": train.get("style-weight", ""), "style_norm": train.get("style-norm", ""),
                     "style_size": train.get("style-size", "")})
    return settings
