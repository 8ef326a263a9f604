"""`python -m refract` runs the CLI (the same as the `refract` console script)."""

from refract.cli import main

main()
