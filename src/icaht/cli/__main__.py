"""``python -m icaht.cli``: the ``icaht`` command."""

from icaht.cli.main import main

if __name__ == "__main__":
    main()
