"""The trainer's commands (`python3 -m trainer COMMAND`): each one module on top of the
libraries in trainer/, none importing another (scripts/check-trainer-imports.py)."""
