"""The baseline job of bench_dispatch, alone in a module so importing it costs RQ nothing."""


def noop() -> None:
    """Nothing at all."""
