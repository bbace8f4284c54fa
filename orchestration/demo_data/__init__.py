"""Demo data for the Customer Success warehouse: a landing folder of connector files.

Use ``generate(GeneratorConfig(...), landing_dir)`` from Python or
``python -m orchestration.demo_data`` from the shell; see ``generator.py``.
"""

from .generator import DEFAULT_AS_OF, GeneratorConfig, generate

__all__ = ["DEFAULT_AS_OF", "GeneratorConfig", "generate"]
