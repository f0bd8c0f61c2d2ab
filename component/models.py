"""Open-platform mode: the component's ticket and tokens, authorizers: in the control database."""
