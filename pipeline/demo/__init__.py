"""The main job's demo: a deterministic traffic generator (traffic.py), the report over the
warehouse it fills (report.py, html.py), driven by `refract demo` (refract/demo_command.py).

Everything a run produces is a function of the seed except wall-clock timings, so two runs
with the same seed print the same business figures and the report can compare what the
warehouse measured with what the generator injected (docs/demo.md)."""
