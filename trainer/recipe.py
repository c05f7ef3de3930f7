"""`recipe`: print the commands that rebuild a shipped model from its recipe
(trainer/recipes/<id>.json; see lineage.py)."""
import os

from .lineage import load, shell_lines


def add_arguments(p):
    p.add_argument("id", help="a model id with a recipe in trainer/recipes (e.g. magenta-steady)")
    p.add_argument("--data", default=os.path.join("..", "shared", "data"), help="the data folder the commands read")


def run(args):
    for line in shell_lines(load(args.id), args.data if args.data != os.path.join("..", "shared", "data") else None):
        print(line)
    return 0
