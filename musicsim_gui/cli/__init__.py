"""The headless `musicsim` command: a thin argparse layer over the same services the studio uses."""
