"""One Wyoming endpoint serving several programs (tts, asr, intent, handle, wake, pipeline).

Home Assistant builds its STT, TTS, conversation and wake word entities from one endpoint's
`info`, and a satellite runs its whole pipeline over one connection, so every capability of the
hub shares this endpoint. The endpoint only moves events: it reads them with size limits, answers
`describe` and `ping` at once, checks the fields that programs rely on, and hands every other
event to the program that declares it, with that program's session for the client.

One concern a file:

- `connection.py` — one client: writing to it, its limits (`Limits`, `Refused`), its ordered and
  concurrent work, its sessions and the endpoint's typed facts about it;
- `program.py` — what a capability is to the endpoint: `Program` and its per-connection `Session`;
- `reading.py` — reading one client's events within limits, pausing it, draining a refused one;
- `routing.py` — which program answers an event (the audio stream's owner), and the events the
  endpoint answers itself (`describe`, `ping`, `auth`);
- `info.py` — the answer to `describe`, cached per connection;
- `serving.py` — the listening socket, the connection limits and each client's reading loop.

Programs and the composition root import from `hub.endpoint` itself, the one import path.
"""

from hub.endpoint.connection import Connection, Limits, Refused, settle
from hub.endpoint.program import ATTRIBUTION, Program, Session, program_version
from hub.endpoint.serving import Endpoint

__all__ = ["ATTRIBUTION", "Connection", "Endpoint", "Limits", "Program", "Refused", "Session",
           "program_version", "settle"]
