"""Recipes: the stages that rebuild a shipped model (trainer/recipes/<id>.json,
each a trainer command with its arguments, or a model shipped at an earlier
commit), and the lineage a manifest records of the recipe it was built by.
A test checks that every manifest naming a recipe matches it.
"""
import json
import os
import shlex

RECIPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipes")


def load(model_id):
    path = os.path.join(RECIPES, f"{model_id}.json")
    if not os.path.isfile(path):
        known = sorted(n[:-5] for n in os.listdir(RECIPES) if n.endswith(".json"))
        raise FileNotFoundError(f"no recipe for {model_id!r}: recipes exist for {', '.join(known)}")
    with open(path) as f:
        recipe = json.load(f)
    if recipe.get("id") != model_id or not recipe.get("stages"):
        raise ValueError(f"{path}: a recipe needs its own id and at least one stage")
    return recipe


def commands(recipe, data=None):
    """Each stage as the argv list of one command: `python3 -m trainer ...`, or for a
    `from-git` stage (a model shipped at an earlier commit, the init of the next stage)
    `git show COMMIT:PATH`, whose output goes to the stage's `to` (see shell_lines)."""
    out = []
    for stage in recipe["stages"]:
        if stage["command"] == "from-git":
            out.append(["git", "show", f"{stage['commit']}:{stage['path']}"])
            continue
        argv = ["/usr/bin/python3", "-m", "trainer", stage["command"]]
        if "run" in stage:
            argv += ["--run", stage["run"]]
        for key, value in stage["args"].items():
            argv += [f"--{key}"] + ([] if value is True else [str(value)])
        if data and stage["command"] in ("adain-train", "adain"):
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
        return {"command": s["command"], **({"run": s["run"]} if "run" in s else {}), "args": s["args"]}
    return {"recipe": recipe["id"], "stages": [step(s) for s in recipe["stages"]]}
