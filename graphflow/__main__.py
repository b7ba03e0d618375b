"""``python -m graphflow`` runs the command line."""

from graphflow.cli import main

if __name__ == "__main__":
    main()
