"""Lint: in the trainer, commands sit on top of libraries and nothing imports a
command module (the modules trainer/__main__.py's COMMANDS names), so no
command depends on another and no library on a command.
   /usr/bin/python3 scripts/check-trainer-imports.py [TRAINER_DIR]"""
import ast
import os
import sys


def command_modules(trainer_dir):
    tree = ast.parse(open(os.path.join(trainer_dir, "__main__.py")).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "COMMANDS" for t in node.targets):
            return {value.elts[0].value for value in node.value.values}
    raise SystemExit("check-trainer-imports: no COMMANDS table in trainer/__main__.py")


def imported_modules(path):
    """Trainer modules a file imports, at any depth (imports inside functions count too)."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            local = node.level == 1 or (node.module or "").split(".")[0] == "trainer"
            if not local:
                continue
            module = (node.module or "").removeprefix("trainer").lstrip(".")
            if module:
                found.add(module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("trainer."))
    return found


def violations(trainer_dir):
    commands = command_modules(trainer_dir)
    out = []
    for name in sorted(os.listdir(trainer_dir)):
        if not name.endswith(".py") or name == "__main__.py":
            continue
        module = name[:-3]
        for target in sorted(imported_modules(os.path.join(trainer_dir, name)) & commands - {module}):
            kind = "command" if module in commands else "library"
            out.append(f"trainer/{name} ({kind}) imports the command module {target}: move what it needs into a library")
    return out


if __name__ == "__main__":
    trainer = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "trainer")
    problems = violations(trainer)
    for line in problems:
        print(line)
    if problems:
        sys.exit(1)
    print("check-trainer-imports: no trainer module imports a command")
