"""``python -m maplectl``."""

from maplectl.cli import main

if __name__ == "__main__":
    main()
