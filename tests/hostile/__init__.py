"""The hostile-input corpus used by tests/test_hostile_input.py."""
