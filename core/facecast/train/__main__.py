"""``python -m facecast.train``: train the learned animator (see :mod:`facecast.train.fit`)."""

from facecast.train.fit import main

if __name__ == "__main__":
    main()
