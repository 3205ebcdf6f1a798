"""The demo: seeded data (data.py), a receiver (receiver.py), `make demo` (runner.py)."""

from .data import ENTITY, PROJECT, seed
from .receiver import Delivery, Faults, Receiver

__all__ = ["ENTITY", "PROJECT", "Delivery", "Faults", "Receiver", "seed"]
