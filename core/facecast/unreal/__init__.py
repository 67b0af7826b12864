"""The Unreal bridge: Live Link Face packets over UDP, Live Link Face take folders and presenter textures.

- :mod:`facecast.unreal.packet`: encode (and decode) the Live Link Face UDP packet.
- :mod:`facecast.unreal.sender`: one thread that sends every subject's packets at their time codes.
- :mod:`facecast.unreal.bridge`: subjects (NPCs) fed by the daemon's ``Stream``, each with its own audio.
- :mod:`facecast.unreal.sources`: where a subject's speech comes from (file, folder queue, microphone, API).
- :mod:`facecast.unreal.takes`: Live Link Face take folders (CSV, wav, mov, take.json, ...).
- :mod:`facecast.unreal.presenter`: rendered portrait frames as MJPEG over HTTP or an image sequence + wav.

The bridge talks to the daemon only through :mod:`facecast.client` and the motion contract.
"""
