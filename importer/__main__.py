"""``python -m importer`` runs the command line."""

from importer.cli import main

if __name__ == "__main__":
    main()
