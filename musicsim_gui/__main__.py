"""`python -m musicsim_gui`: the same entry point as the `musicsim` command (the studio by default)."""

from musicsim_gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
