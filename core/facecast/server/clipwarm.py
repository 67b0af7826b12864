"""Imported once by the clip workers' fork server (:mod:`.clipwork`), never by the daemon itself: it loads
every animator and the recogniser's models, so each clip worker forked from the server starts warm instead of
spending a second loading them. A model that fails to load here fails again, with its message, in the clip
that needs it."""

import contextlib

from facecast.animators import animator_names, get_animator

for _name in animator_names():
    with contextlib.suppress(Exception):
        get_animator(_name)
with contextlib.suppress(Exception):
    from facecast.phonemes.pocketsphinx_model import alignment_decoder, mean_decoder, phone_decoder

    alignment_decoder()
    phone_decoder()
    mean_decoder()
