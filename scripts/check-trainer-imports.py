"""Lint: in the trainer, commands sit on top of libraries. The commands are the
modules in trainer/commands/ (one per `python3 -m trainer COMMAND`); the
libraries are the modules in trainer/. No command imports another command and
no library imports a command, so each command can be read, changed or removed
alone.
   /usr/bin/python3 scripts/check-trainer-imports.py [TRAINER_DIR]"""
import ast
import os
import sys


def imported_commands(path, is_command):
    """The command modules a file imports, at any depth (imports inside functions count too)."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0:
                if not module.startswith("trainer.commands"):
                    continue
                rest = module.removeprefix("trainer.commands").lstrip(".")
            elif is_command and node.level == 1:  # from .x / from . import x: the commands package
                rest = module
            elif node.level == (2 if is_command else 1) and module.split(".")[0] == "commands":
                rest = module.removeprefix("commands").lstrip(".")
            else:
                continue
            if rest:
                found.add(rest.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names
                         if a.name.startswith("trainer.commands.") and a.name.count(".") >= 2)
    return found


def violations(trainer_dir):
    out = []
    commands_dir = os.path.join(trainer_dir, "commands")
    for folder, is_command in ((trainer_dir, False), (commands_dir, True)):
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py") or name in ("__main__.py", "__init__.py"):
                continue
            module = name[:-3]
            for target in sorted(imported_commands(os.path.join(folder, name), is_command) - {module}):
                where = f"trainer/commands/{name} (command)" if is_command else f"trainer/{name} (library)"
                out.append(f"{where} imports the command module {target}: move what it needs into a library")
    return out


if __name__ == "__main__":
    trainer = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "trainer")
    problems = violations(trainer)
    for line in problems:
        print(line)
    if problems:
        sys.exit(1)
    print("check-trainer-imports: no trainer module imports a command")
