"""Pure inventory maths (no Django imports): availability, channel buffers, replenishment."""
