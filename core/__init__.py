"""The shared kernel: tenant context, errors and their JSON shape, logging, health views.

`core` imports none of the project's other packages.
"""
