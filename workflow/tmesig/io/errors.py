"""The one error type that means "the user's input is wrong" (runner prints it in one line)."""

__all__ = ["InputError"]


class InputError(ValueError):
    """Input tmesig cannot use (dataset, sheet, config); the message says why and the fix."""
