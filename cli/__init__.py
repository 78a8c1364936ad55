"""The igautopost command line (installed as the package igautopost_cli)."""
